"""Outgoing webhooks: definitions, payloads, signing, DingTalk/WeCom formats, delivery.

A delivery row is queued by the dispatcher (one per event and matching webhook, in the
transaction that marks the event dispatched). :func:`send_due` claims due deliveries with a
lease, POSTs them and records every attempt in ``jimu_webhook_attempt``; a failure
schedules the next attempt at ``backoff * 2**(attempts-1)`` seconds in the database (no
sleeping), up to ``max_attempts``, then the delivery is ``failed``. A process killed
mid-delivery leaves the lease to expire and the delivery is sent again: delivery is at
least once, and receivers dedupe on the event id (``X-Jimu-Event-Id``, body ``id``).

Payloads are rendered with the webhook's role (:class:`AccessPolicy`), so a webhook sees
exactly what a user with that role would. Formats: ``json`` (signed ``X-Jimu-Signature:
sha256=<hex HMAC of the body>``), ``dingtalk`` and ``wecom`` robot markdown messages
(DingTalk's "加签" signature goes in the URL when a secret is set).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets as pysecrets
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import NotFound
from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.events import webhook_spec
from jimu.runtime.events.outbox import EVENT_KINDS
from jimu.runtime.events.tables import attempts, deliveries, webhooks
from jimu.runtime.events.visibility import render_event

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = ["FORMATS", "sign", "webhook_actor", "build_body", "markdown_text", "queue_deliveries", "any_hook_for", "send_due",
           "send_one", "resend", "webhook_dict", "delivery_dict", "SIGNATURE_HEADER"]

log = logging.getLogger("jimu.events.webhooks")
FORMATS = ("json", "dingtalk", "wecom")
SIGNATURE_HEADER = "X-Jimu-Signature"
LEASE = timedelta(seconds=60)
_VERBS = {"record.created": ("新建", "created"), "record.updated": ("修改", "updated"),
          "record.deleted": ("删除", "deleted"), "record.transitioned": ("流转", "transitioned"),
          "ledger.moved": ("库存变动", "stock moved")}


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the webhook's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_actor(hook: Mapping[str, Any]) -> Actor:
    """The actor a webhook reads (out) or writes (in) as: its name and role."""
    return Actor(f"webhook:{hook['name']}", (str(hook["role"]),), {}, f"webhook:{hook['name']}")


def markdown_text(event: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[str, str]:
    """(title, markdown) for a group-robot message: what happened, by whom, which fields."""
    zh, _en = _VERBS.get(str(event["kind"]), (event["kind"], event["kind"]))
    title = f"{data.get('entity')} #{data.get('id')} {zh}"
    lines = [f"### {title}", f"- 操作人: {event.get('actor') or '系统'}"]
    for c in list(data.get("changes") or [])[:20]:
        if "field" in c:
            lines.append(f"- **{c['field']}**: {c.get('old') if c.get('old') is not None else '—'} → {c.get('new')}")
        else:
            deltas = ", ".join(f"{k} {v}" for k, v in (c.get("deltas") or {}).items())
            lines.append(f"- {c.get('kind')} {json.dumps(c.get('dims'), ensure_ascii=False)}: {deltas}")
    return title, "\n".join(lines)


def build_body(hook: Mapping[str, Any], event: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """The request body for ``hook`` (already filtered by its role)."""
    if hook["format"] == "dingtalk":
        title, text = markdown_text(event, data)
        return json.dumps({"msgtype": "markdown", "markdown": {"title": title, "text": text}}, ensure_ascii=False)
    if hook["format"] == "wecom":
        _title, text = markdown_text(event, data)
        return json.dumps({"msgtype": "markdown", "markdown": {"content": text}}, ensure_ascii=False)
    return json.dumps({"id": event["id"], "event": event["kind"], "app": event["app"],
                       "at": event["at"].isoformat() if isinstance(event["at"], datetime) else event["at"],
                       "actor": event.get("actor"), "data": dict(data)}, ensure_ascii=False, default=str)


def _matches(hook: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    kinds = hook["kinds"] or list(EVENT_KINDS)
    if event["kind"] not in kinds or event["at"] < hook["created_at"]:
        return False
    ents = hook["entities"]
    return not ents or event["entity"] in ents


def _out_hooks(conn: Connection, app: str) -> list[Any]:
    """The app's active outgoing webhooks, read once per transaction (the dispatcher
    handles up to 50 events in one; each used to read them again)."""
    tx = conn.get_transaction()
    memo = conn.info.get("jimu_out_hooks")
    if memo is None or memo[0] is not tx:  # the memo holds tx: its identity cannot be reused
        memo = conn.info["jimu_out_hooks"] = (tx, {})
    hooks: list[Any] | None = memo[1].get(app)
    if hooks is None:
        hooks = memo[1][app] = list(conn.execute(sa.select(webhooks).where(
            webhooks.c.app == app, webhooks.c.direction == "out", webhooks.c.active.is_(True))).mappings().all())
    return hooks


def any_hook_for(conn: Connection, event: Mapping[str, Any]) -> bool:
    """Whether an active outgoing webhook of the event's app matches ``event`` (the
    dispatcher's pre-check: without one, :func:`queue_deliveries` writes nothing)."""
    return any(_matches(hook, event) for hook in _out_hooks(conn, str(event["app"])))


def queue_deliveries(jimu: Jimu, conn: Connection, event: Mapping[str, Any]) -> int:
    """Queue one delivery per active outgoing webhook that matches ``event`` and whose
    role may see it; returns how many (called in the dispatcher's transaction)."""
    hooks = _out_hooks(conn, str(event["app"]))
    n = 0
    for hook in hooks:
        if not _matches(hook, event):
            continue
        try:
            policy = AccessPolicy(jimu, jimu.apps.get(event["app"]), webhook_actor(hook))
            data = render_event(policy, event)
        except Exception:  # noqa: BLE001 - an unrenderable event is not sent (logged)
            log.exception("webhook %s: cannot render event %s", hook["name"], event["id"])
            data = None
        if data is None:
            continue
        at = clock.now()
        conn.execute(deliveries.insert().values(
            webhook_id=hook["id"], event_id=event["id"], app=event["app"], body=build_body(hook, event, data),
            status="pending", attempts=0, next_at=at, created_at=at))
        n += 1
    return n


def _claim(jimu: Jimu, now: datetime, token: str, limit: int, lease: timedelta = LEASE) -> list[int]:
    stmt = (sa.select(deliveries.c.id).where(deliveries.c.status == "pending", deliveries.c.next_at <= now,
                                             sa.or_(deliveries.c.lease_until.is_(None),
                                                    deliveries.c.lease_until < now))
            .order_by(deliveries.c.next_at, deliveries.c.id).limit(limit))
    # Most passes (one per burst of commits) find nothing due: a read answers that without
    # the write transaction (on SQLite the database's write lock, which creates wait on).
    # A delivery that becomes due right after this read is the same as one committed right
    # after the claim: the next pass (or next_wake's timer) takes it.
    with jimu.db.read() as c:
        if c.execute(stmt.with_only_columns(deliveries.c.id).limit(1)).first() is None:
            return []
    with jimu.db.write() as c:
        if not jimu.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        ids = [int(x) for x in c.execute(stmt).scalars()]
        if ids:
            c.execute(sa.update(deliveries).where(deliveries.c.id.in_(ids)).values(
                lease_owner=token, lease_until=now + lease))
    return ids


def send_due(jimu: Jimu, now: datetime | None = None, *, limit: int = 100, client: httpx.Client | None = None,
             lease: timedelta = LEASE) -> int:
    """Send every due delivery (one attempt each); returns how many were delivered."""
    at = now or clock.now()
    token = uuid.uuid4().hex
    ids = _claim(jimu, at, token, limit, lease)
    if not ids:
        return 0  # no client built: an HTTP client (its TLS context) costs milliseconds of CPU
    ok = 0
    own = client is None
    http = client or httpx.Client()
    try:
        for did in ids:
            ok += send_one(jimu, did, token, http)
    finally:
        if own:
            http.close()
    return ok


def send_one(jimu: Jimu, delivery_id: int, token: str, http: httpx.Client, *, manual: bool = False) -> int:
    """One attempt of a delivery leased to ``token``; 1 when the receiver answered 2xx."""
    with jimu.db.read() as c:
        d = c.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).mappings().first()
        hook = c.execute(sa.select(webhooks).where(webhooks.c.id == d["webhook_id"])).mappings().first() if d else None
    if d is None or hook is None or d["lease_owner"] != token:
        return 0
    body = d["body"].encode()
    url = str(hook["url"])
    headers = {"Content-Type": "application/json", "X-Jimu-Event-Id": d["event_id"],
               "X-Jimu-Delivery-Id": str(d["id"]), "User-Agent": "jimu-webhooks/1"}
    if hook["secret"] and hook["format"] == "dingtalk":
        ts = str(int(time.time() * 1000))
        sig = base64.b64encode(hmac.new(hook["secret"].encode(), f"{ts}\n{hook['secret']}".encode(),
                                        hashlib.sha256).digest()).decode()
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"timestamp": ts, "sign": sig})
    elif hook["secret"]:
        headers[SIGNATURE_HEADER] = sign(hook["secret"], body)
    started = time.perf_counter()
    code: int | None = None
    error: str | None = None
    text = ""
    try:
        resp = http.post(url, content=body, headers=headers, timeout=float(hook["timeout"] or 5.0))
        code, text = resp.status_code, resp.text[:1000]
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    ms = (time.perf_counter() - started) * 1000
    now = clock.now()
    n = int(d["attempts"]) + 1
    with jimu.db.write() as c:
        c.execute(attempts.insert().values(delivery_id=d["id"], attempt=n, at=now, status_code=code, error=error,
                                           response=text, duration_ms=ms, manual=manual))
        values: dict[str, Any] = {"attempts": n, "last_status": code, "last_error": error, "lease_owner": None,
                                  "lease_until": None}
        if error is None:
            values.update(status="delivered", delivered_at=now)
        elif n >= int(hook["max_attempts"] or 8):
            values.update(status="failed")
        else:
            values.update(next_at=now + timedelta(seconds=float(hook["backoff"]) * 2 ** (n - 1)))
        c.execute(sa.update(deliveries).where(deliveries.c.id == d["id"], deliveries.c.lease_owner == token)
                  .values(**values))
    return 1 if error is None else 0


def resend(jimu: Jimu, app: str, webhook_id: int, delivery_id: int) -> dict[str, Any]:
    """Manual re-send: one attempt now whatever the delivery's state; returns it."""
    token = uuid.uuid4().hex
    with jimu.db.write() as c:
        res = c.execute(sa.update(deliveries).where(
            deliveries.c.id == delivery_id, deliveries.c.webhook_id == webhook_id, deliveries.c.app == app)
            .values(status="pending", lease_owner=token, lease_until=clock.now() + LEASE))
        if res.rowcount != 1:
            raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}", code="webhook.delivery_not_found")
    with httpx.Client() as http:
        send_one(jimu, delivery_id, token, http, manual=True)
    with jimu.db.read() as c:
        return delivery_dict(c, c.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id))
                             .mappings().one(), with_attempts=True)


def webhook_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """The API shape of a webhook (the secret and token are never shown again)."""
    out = {k: row[k] for k in ("id", "name", "direction", "url", "format", "role", "kinds", "entities", "entity",
                               "mode", "key_field", "max_attempts", "backoff", "timeout", "active", "created_by")}
    out["has_secret"] = bool(row["secret"])
    out["created_at"] = row["created_at"].isoformat()
    return out


def delivery_dict(conn: Connection, row: Mapping[str, Any], *, with_attempts: bool = False) -> dict[str, Any]:
    """The API shape of a delivery (with its attempt log when asked)."""
    out: dict[str, Any] = {"id": int(row["id"]), "webhook": int(row["webhook_id"]), "event": row["event_id"],
                           "status": row["status"], "attempts": row["attempts"], "last_status": row["last_status"],
                           "last_error": row["last_error"], "next_at": row["next_at"].isoformat(),
                           "delivered_at": row["delivered_at"].isoformat() if row["delivered_at"] else None}
    if with_attempts:
        out["log"] = [{"attempt": a["attempt"], "at": a["at"].isoformat(), "status_code": a["status_code"],
                       "error": a["error"], "duration_ms": round(float(a["duration_ms"] or 0), 2),
                       "manual": bool(a["manual"])}
                      for a in conn.execute(sa.select(attempts).where(attempts.c.delivery_id == row["id"])
                                            .order_by(attempts.c.id)).mappings()]
    return out


def new_token() -> tuple[str, str]:
    """(token, sha256 hex) for an incoming hook URL."""
    token = pysecrets.token_urlsafe(24)
    return token, hashlib.sha256(token.encode()).hexdigest()


def check_spec(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` checked and normalised (:func:`jimu.runtime.events.webhook_spec.check_spec`)."""
    return webhook_spec.check_spec(body, FORMATS, tuple(EVENT_KINDS))


__all__ += ["new_token", "check_spec"]
