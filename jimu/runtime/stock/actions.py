"""Stock operations as automation actions (hook ``jimu_automation_actions``).

The automation engine calls ``run(ctx, spec)`` (ctx: its ActionContext, spec: the action's
JSON); code such as a template's workflow step may call ``run(jimu, app, record, params,
actor)`` directly. Both run in the caller's transaction when one is given (``ctx.conn`` or
``params["conn"]``). Parameters are literals or, when a string names a field of the
triggering record, that field's value (``"qty": "received_qty"``). The caller (the
automation's or transition's actor, or the given one) performs the operation: it is named
on the movements and carried by their ``ledger.moved`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jimu.platform.ledger import Doc
from jimu.platform.values import parse_duration
from jimu.runtime.stock.common import User

__all__ = ["STOCK_ACTIONS", "StockAction"]

Impl = Callable[[Any, Any, str, Mapping[str, Any] | None, Mapping[str, Any], Any], Any]


@dataclass(frozen=True)
class StockAction:
    """An automation action kind: ``name``, ``description``, ``params`` (name -> help) and
    ``run`` (see the module doc for its two call forms)."""

    name: str
    description: str
    params: dict[str, str]
    impl: Impl = field(repr=False)

    def run(self, *args: Any) -> Any:
        if len(args) == 2:  # the automation engine: (ActionContext, spec)
            ctx, spec = args
            params = {k: v for k, v in spec.items() if k not in ("type", "as")}
            return self._call(ctx.jimu, ctx.conn, ctx.app, ctx.record, params, getattr(ctx, "actor", None))
        if len(args) == 5:  # direct: (jimu, app, record, params, actor)
            jimu, app, record, params, actor = args
            params = dict(params)
            conn = params.pop("conn", None)
            return self._call(jimu, conn, app, record, params, actor)
        raise TypeError("run(ctx, spec) or run(jimu, app, record, params, actor)")

    def _call(self, jimu: Any, conn: Any, app: str, record: Mapping[str, Any] | None, params: Mapping[str, Any],
              user: User) -> Any:
        values = {k: _resolve(v, record) for k, v in params.items()}
        if conn is not None:
            return self.impl(jimu, conn, app, record, values, user)
        with jimu.db.write() as c:
            return self.impl(jimu, c, app, record, values, user)


def _resolve(value: Any, record: Mapping[str, Any] | None) -> Any:
    if isinstance(value, str) and record is not None and value in record:
        return record[value]
    if isinstance(value, Mapping):
        return {k: _resolve(v, record) for k, v in value.items()}
    return value


def _lg(jimu: Any, conn: Any, app: str, p: Mapping[str, Any]) -> Any:
    from jimu.runtime.stock.common import resolve_ledger

    return resolve_ledger(jimu, app, p.get("ledger"), conn)


def _doc_id(p: Mapping[str, Any], record: Mapping[str, Any] | None) -> Any:
    return p.get("transfer", (record or {}).get("id"))


def _reserve(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> int:
    from jimu.runtime.stock.channels import reserve_via_channel

    ttl = timedelta(seconds=parse_duration(str(p["ttl"]))) if p.get("ttl") else None
    doc = Doc(p.get("entity"), p.get("document", (record or {}).get("id"))) if p.get("entity") else None
    return reserve_via_channel(conn, app, _lg(jimu, conn, app, p), str(p["channel"]),
                               {"item": p["item"], "warehouse": p["warehouse"]}, p["qty"], ttl=ttl, doc=doc, user=user)


def _rebalance(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.channels import rebalance

    return rebalance(jimu, app, ledger=p.get("ledger"), conn=conn)


def _configure(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.channels import configure_channels

    return configure_channels(conn, app, _lg(jimu, conn, app, p), p["item"], p["warehouse"], p["channels"])


def _send(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> int:
    from jimu.runtime.stock.transfers import TRANSFER_ENTITY, transfer_send

    return transfer_send(conn, app, _lg(jimu, conn, app, p), _doc_id(p, record),
                         {"item": p["item"], "warehouse": p["from_warehouse"]}, p["qty"], line=p.get("line"),
                         user=user, entity=p.get("entity", TRANSFER_ENTITY))


def _receive(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.transfers import TRANSFER_ENTITY, transfer_receive

    received = p["qty"] if p.get("received_qty") is None else p["received_qty"]  # not given: all arrived
    return transfer_receive(conn, app, _lg(jimu, conn, app, p), _doc_id(p, record),
                            {"item": p["item"], "warehouse": p["from_warehouse"]},
                            {"item": p["item"], "warehouse": p["to_warehouse"]}, p["qty"], received,
                            line=p.get("line"), user=user, entity=p.get("entity", TRANSFER_ENTITY))


def _ship_doc(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.transfers import TRANSFER_ENTITY, ship_transfer

    entity = str(p.get("entity") or TRANSFER_ENTITY)
    return ship_transfer(conn, app, _lg(jimu, conn, app, p), _doc(jimu, conn, app, record, entity), user=user,
                         entity=entity, rt=jimu.apps.get(app, conn))


def _receive_doc(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.transfers import TRANSFER_ENTITY, receive_transfer

    entity = str(p.get("entity") or TRANSFER_ENTITY)
    return receive_transfer(jimu, conn, app, _lg(jimu, conn, app, p), _doc(jimu, conn, app, record, entity),
                            user=user, entity=entity)


def _resolve_disc(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.transfers import resolve_discrepancy

    return resolve_discrepancy(conn, app, _lg(jimu, conn, app, p), int(p["discrepancy"]), reason=str(p["reason"]),
                               book=p.get("book"), user=user)


def _quarantine(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    """Move the available on_hand of every balance row whose ``dimension`` (default
    ``batch``) is the triggering record to the quarantine bucket; returns the rows moved."""
    from jimu.platform.ledger import balances, quarantine
    from jimu.runtime.stock.common import emit_moved, username

    if not record or record.get("id") is None:
        raise ValueError("ledger_quarantine needs a triggering record")
    lg = _lg(jimu, conn, app, p)
    dim = str(p.get("dimension") or "batch")
    if dim not in lg.dimensions:
        raise ValueError(f"ledger {lg.name} has no dimension {dim!r}")
    moved = []
    for row in balances(conn, app, lg, **{dim: record["id"]}):
        if row["available"] > 0:
            dims = {d: row[d] for d in lg.dimensions}
            mid = quarantine(conn, app, lg, dims, row["available"],
                             reason=str(p.get("reason") or "automation quarantine"), user=username(user))
            emit_moved(conn, app, lg, [mid], user)
            moved.append({**dims, "qty": row["available"]})
    return moved


def _doc(jimu: Any, conn: Any, app: str, record: Any, entity: str) -> dict[str, Any]:
    """The triggering document as stored now (with its lines)."""
    if not record or record.get("id") is None:
        raise ValueError("a return action needs a triggering record")
    return dict(jimu.records.get(app, entity, record["id"], conn=conn))


def _return_check(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> None:
    from jimu.runtime.stock.returns import check_returnable

    entity = str(p.get("entity") or ("purchase_return" if p.get("direction") == "received" else "sales_return"))
    check_returnable(jimu, conn, app, _lg(jimu, conn, app, p), entity, _doc(jimu, conn, app, record, entity))


def _sales_return_receive(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.returns import check_returnable, receive_sales_return

    entity = str(p.get("entity") or "sales_return")
    lg, doc = _lg(jimu, conn, app, p), _doc(jimu, conn, app, record, entity)
    check_returnable(jimu, conn, app, lg, entity, doc)
    return receive_sales_return(conn, app, lg, doc, entity=entity, user=user)


def _purchase_return_ship(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.returns import check_returnable, ship_purchase_return

    entity = str(p.get("entity") or "purchase_return")
    lg, doc = _lg(jimu, conn, app, p), _doc(jimu, conn, app, record, entity)
    check_returnable(jimu, conn, app, lg, entity, doc)
    return ship_purchase_return(conn, app, lg, doc, entity=entity, user=user)


def _cycle_counts(jimu: Any, conn: Any, app: str, record: Any, p: Mapping[str, Any], user: User) -> Any:
    from jimu.runtime.stock.cycle import create_cycle_counts

    return create_cycle_counts(jimu, conn, app, p.get("days"), ledger=p.get("ledger"), user=user)


STOCK_ACTIONS: list[StockAction] = [
    StockAction("stock_channel_reserve", "Reserve stock through a sales channel's pool (refused when paused).",
                {"channel": "channel name", "item": "item id", "warehouse": "warehouse id", "qty": "quantity",
                 "ttl": "optional ISO duration (PT30M)", "entity": "optional document entity", "ledger": "default stock"},
                _reserve),
    StockAction("stock_channel_rebalance", "Re-split available stock between channel pools now.",
                {"ledger": "default stock"}, _rebalance),
    StockAction("stock_channel_configure", "Set the channel pools (weights, thresholds) of an item in a warehouse.",
                {"item": "item id", "warehouse": "warehouse id",
                 "channels": "{channel: {weight, threshold}}", "ledger": "default stock"}, _configure),
    StockAction("stock_transfer_send", "Source scans a transfer out: -on_hand +in_transit.",
                {"item": "item id", "from_warehouse": "source", "qty": "quantity sent",
                 "transfer": "document id (default: the record)", "line": "optional line id"}, _send),
    StockAction("stock_transfer_receive", "Target scans a transfer in; a difference opens a discrepancy.",
                {"item": "item id", "from_warehouse": "source", "to_warehouse": "target", "qty": "quantity sent",
                 "received_qty": "quantity received (default: qty)", "transfer": "document id (default: the record)"},
                _receive),
    StockAction("stock_transfer_ship", "Ship every line of the triggering transfer (or its single item).",
                {"entity": "default stock_transfer", "ledger": "default stock"}, _ship_doc),
    StockAction("stock_transfer_receive_lines", "Receive every line of the triggering transfer with its received "
                "quantity (a discrepancy per differing line).", {"entity": "default stock_transfer",
                                                                "ledger": "default stock"}, _receive_doc),
    StockAction("stock_discrepancy_resolve", "Close a transfer discrepancy with a reason (adjust when booking goods).",
                {"discrepancy": "discrepancy id", "reason": "why", "book": "optional signed quantity to book"},
                _resolve_disc),
    StockAction("ledger_quarantine", "Move the triggering record's available stock (e.g. a batch) to quarantine.",
                {"ledger": "default stock", "dimension": "the ledger dimension holding the record (default batch)",
                 "reason": "optional reason"}, _quarantine),
    StockAction("stock_return_check", "Refuse a return above what its order shipped/received less earlier returns "
                "(422 return.exceeds).", {"entity": "sales_return | purchase_return (default from direction)",
                                          "direction": "shipped | received"}, _return_check),
    StockAction("stock_sales_return_receive", "A sales return arrives: quality lines to quarantine, others to on_hand.",
                {"entity": "default sales_return", "ledger": "default stock"}, _sales_return_receive),
    StockAction("stock_purchase_return_ship", "A purchase return leaves: -on_hand (quality lines from quarantine first).",
                {"entity": "default purchase_return", "ledger": "default stock"}, _purchase_return_ship),
    StockAction("stocktake_cycle_counts", "Create the due cycle counts (a draft stocktake per warehouse and ABC class).",
                {"days": "{A: 30, B: 90, C: 365}: days between counts of each class", "ledger": "default stock"},
                _cycle_counts),
]
