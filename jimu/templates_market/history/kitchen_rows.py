"""Storing the stores' requisitions (:mod:`.kitchen`) as the ``store_requisition``
workflow leaves them: the requisition with its requested ``lines`` (``received_qty`` once
received), the ``issued`` rows ``requisition_issue`` fills (item, kitchen batch, qty;
``received_qty`` once received), one ``req_issue`` ``transfer_out`` per issued row
(kitchen on hand -> in transit, transition and reason ``issue``) and, on ``receive``, the
``transfer_in`` pair ``receive_transfer`` posts per issued row (in transit out at the
kitchen, on hand in at the store, the same batch, transition ``receive``, no reason,
valued at the kitchen's average). The kitchen's work orders are written by
:func:`.production_rows.write_work_orders`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from jimu.templates_market.history.kitchen import Requisition
from jimu.templates_market.history.moves import LedgerRows, Move
from jimu.templates_market.history.rows import NewDoc, insert_children, insert_docs

__all__ = ["write_requisitions"]

_ENTITY = "store_requisition"


def _doc(rq: Requisition) -> NewDoc:
    got: dict[int, Decimal] = {}
    if rq.received_at is not None:
        for _n, lot, q in rq.issued:
            got[lot.item] = got.get(lot.item, Decimal(0)) + q
    lines, seen = [], set()
    for item, qty in rq.lines:  # receive shows an item's sum on its first line
        received = (Decimal(0) if item in seen else got.get(item, Decimal(0))) if rq.received_at else None
        lines.append({"item": item, "qty": qty, "received_qty": received})
        seen.add(item)
    values = {"store": rq.store, "kitchen": rq.kitchen, "request_date": rq.day, "receipts": None,
              "note": "每日备货 / daily requisition", "state": rq.state}
    last = rq.received_at or rq.issued_at or rq.submitted
    return NewDoc(values, rq.created, last, "warehouse", "warehouse", lines)


def write_requisitions(jimu: Any, conn: Connection, rt: Any, reqs: Sequence[Requisition], ledger: LedgerRows) -> int:
    """Insert ``reqs`` with their lines and issued rows, and add their movements to
    ``ledger`` (the kitchen batches' ids known by now); returns the number written."""
    docs = [_doc(rq) for rq in reqs]
    insert_docs(jimu, conn, rt, _ENTITY, docs, "lines")
    received = [rq.received_at is not None for rq in reqs]
    owned = [(d, [{"item": lot.item, "batch": lot.id, "qty": q, "received_qty": q if got else None}
                  for _n, lot, q in rq.issued]) for rq, d, got in zip(reqs, docs, received, strict=True)]
    ids = insert_children(conn, rt, "store_requisition_issue", owned)
    for rq, d, issue_ids in zip(reqs, docs, ids, strict=True):
        rq.id, rq.line_ids, rq.issue_ids = d.id, d.line_ids, issue_ids
        for k, ((_n, lot, q), iid) in enumerate(zip(rq.issued, issue_ids, strict=True)):
            doc = (_ENTITY, rq.id, iid)
            assert rq.issued_at is not None
            ledger.add(Move(rq.issued_at, lot.item, rq.kitchen, "transfer_out", {"on_hand": -q, "in_transit": q},
                            doc, "issue", "issue", "warehouse", batch=lot))
            if rq.received_at is not None:
                ledger.add(Move(rq.received_at, lot.item, rq.kitchen, "transfer_in", {"in_transit": -q}, doc,
                                "receive", None, "warehouse", batch=lot))
                ledger.add(Move(rq.received_at, lot.item, rq.store, "transfer_in", {"on_hand": q}, doc, "receive",
                                None, "warehouse", batch=rq.landed[k],
                                cost={"item": lot.item, "warehouse": rq.kitchen}))
    return len(docs)
