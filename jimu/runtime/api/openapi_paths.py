"""The non-record operations of the per-caller OpenAPI document: auth, workflow
transitions and approvals, ledger balances and stock routes, inbox, events (SSE), export,
audit, and the admin-only API keys, webhooks and health. Each one appears only when the
caller may use it (the same checks the routes make), with an ASCII ``operationId`` built
from entity, transition and ledger names, so generated clients get stable identifiers."""

from __future__ import annotations

from typing import Any

from jimu.platform.specs import Label, WorkflowSpec
from jimu.runtime.access import AccessPolicy

__all__ = ["Components", "Doc", "add_auth", "add_workflow", "add_ledgers", "add_trace", "add_stock_reports", "add_caller_routes", "add_admin",
           "describe", "camel"]

ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
DECIMAL: dict[str, Any] = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["12.5000"]}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
PAGE_PARAMS = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
               {"name": "cursor", "in": "query", "schema": {"type": "string"},
                "description": "next_cursor of the previous page"}]


def camel(*names: str) -> str:
    """``("sales_order", "ship")`` -> ``SalesOrderShip``: a schema name from identifiers."""
    return "".join(p.capitalize() for n in names for p in n.split("_"))


def describe(label: Label | None, fallback: str = "") -> str:
    """``中文 / English`` of a label (the document's human text; names stay ASCII)."""
    if label is None:
        return fallback
    parts = [x for x in (label.zh, label.en) if x]
    return " / ".join(dict.fromkeys(parts)) or fallback


def problems(*codes: int) -> dict[str, Any]:
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {str(c): {"description": "problem (application/problem+json with a stable code)", "content": ref}
            for c in codes}


def ok(description: str, schema: dict[str, Any], status: int = 200, etag: bool = False) -> dict[str, Any]:
    resp: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if etag:
        resp["headers"] = {"ETag": {"schema": {"type": "string"}, "description": "the record version, quoted"}}
    return {str(status): resp}


def envelope(items: dict[str, Any]) -> dict[str, Any]:
    """A page: ``{"data": [...], "next_cursor": "..." | null}``."""
    return {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": items}, "next_cursor": {"type": ["string", "null"]}}}


def json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


class Components(dict[str, Any]):
    """The component schemas. The entities' names (``Item``, ``ItemInput``, ``ItemPatch``)
    are reserved for them up front; any other schema (a route's, a choice's enum) asking for
    a name that is reserved or already holds a different schema gets the first free one of
    ``<name>Value``, ``<name>Value2``, ... so an app's entity named ``recall`` or
    ``item_kind`` never has its schema replaced by the recall answer or the ``Item.kind`` enum."""

    def __init__(self) -> None:
        super().__init__()
        self.reserved: set[str] = set()

    def claim(self, name: str, schema: dict[str, Any]) -> str:
        candidate, n = name, 1
        while candidate in self.reserved or self.setdefault(candidate, schema) != schema:
            candidate, n = f"{name}Value{n if n > 1 else ''}", n + 1
        return candidate


class Doc:
    """The paths and component schemas being built for one caller."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy
        self.app = policy.app
        self.paths: dict[str, Any] = {}
        self.schemas = Components()
        # the record operations' ids (list_/get_/create_/update_/delete_<entity>), reserved
        # up front like the entity schemas: another operation asking for one gets a suffix
        self.reserved_ops: set[str] = set()
        self.op_ids: set[str] = set()

    def op(self, path: str, method: str, op_id: str, tag: str, summary: str, responses: dict[str, Any], *,
           params: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
           public: bool = False, description: str | None = None) -> None:
        """Add one operation; ``public`` ones need no credentials (``security: []``). An
        ``op_id`` already taken (an app's entity named ``webhook`` has its own
        ``create_webhook``) becomes ``<op_id>_2``, ``_3``, ...: ids stay unique."""
        base, n = op_id, 2
        while op_id in self.op_ids or op_id in self.reserved_ops:
            op_id, n = f"{base}_{n}", n + 1
        self.op_ids.add(op_id)
        entry: dict[str, Any] = {"operationId": op_id, "tags": [tag], "summary": summary,
                                 "responses": {**responses, **problems(400, 401, 403, 404, 422, 429)}}
        if public:
            entry["security"] = []
            for code in ("401", "403"):
                entry["responses"].pop(code)
        if params:
            entry["parameters"] = params
        if body is not None:
            entry["requestBody"] = body
        if description:
            entry["description"] = description
        self.paths.setdefault(path, {})[method] = entry

    def ref(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """A reference to ``schema`` as component ``name`` (or the free name
        :meth:`Components.claim` gives when ``name`` is taken)."""
        return {"$ref": f"#/components/schemas/{self.schemas.claim(name, schema)}"}


def add_auth(doc: Doc) -> None:
    """``POST /api/auth/token`` (no credentials) and ``GET /api/auth/me``."""
    creds = doc.ref("TokenRequest", {"type": "object", "required": ["username", "password"],
                                     "additionalProperties": False, "properties": {
                                         "username": {"type": "string", "examples": ["sales"]},
                                         "password": {"type": "string", "format": "password"}}})
    token = doc.ref("Token", {"type": "object", "required": ["access_token", "token_type", "expires_in"],
                              "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"},
                                             "expires_in": {"type": "integer"}}})
    me = doc.ref("Me", {"type": "object", "required": ["username", "roles"], "properties": {
        "username": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
        "user_id": {"type": ["integer", "null"]}, "manager": {"type": ["string", "null"]}}})
    doc.op("/api/auth/token", "post", "create_token", "auth", "log in: a bearer token for username/password",
           ok("the token", token), body=json_body(creds), public=True,
           description="Send the token as `Authorization: Bearer ...`. Too many failures answer 429 with "
                       "Retry-After. Integrations may use an API key (created by an admin) the same way.")
    doc.op("/api/auth/me", "get", "get_me", "auth", "who the caller is", ok("the caller", me))


def _may_fire(policy: AccessPolicy, wf: WorkflowSpec, name: str) -> bool:
    """The engine's static role check, plus approve/reject for callers an approval step may
    name (a manager, a user field, an expression: decided per record, so documented)."""
    from jimu.runtime.workflow.engine import WorkflowEngine, vote_kind

    t = wf.transition(name)
    if t is None:
        return False
    if WorkflowEngine._may(t, policy.actor, policy.rt, wf.entity):
        return True
    return vote_kind(t) is not None and _may_vote(policy, wf)


def _may_vote(policy: AccessPolicy, wf: WorkflowSpec) -> bool:
    for t in wf.transitions:
        for step in (t.approval.steps if t.approval else []):
            for rule in step.approvers:
                if rule.kind != "role" or policy.actor.has_role(rule.value):
                    return True
            if step.fallback_role and policy.actor.has_role(step.fallback_role):
                return True
    return False


def add_workflow(doc: Doc, entity: str, record_ref: dict[str, Any]) -> None:
    """The transitions list of ``entity`` and one operation per transition the caller may
    fire, with its input schema; the approval decisions when the caller may vote."""
    policy = doc.policy
    wf = policy.rt.workflow_for(entity)
    if wf is None:
        return
    base = f"/api/apps/{doc.app}/data/{entity}/{{id}}"
    tag = entity
    allowed = doc.ref("AllowedTransitions", {"type": "object", "required": ["state", "version", "data"], "properties": {
        "state": {"type": ["string", "null"]}, "version": {"type": "integer"},
        "data": {"type": "array", "items": {"type": "object", "required": ["name", "to"], "properties": {
            "name": {"type": "string"}, "label": ANY_OBJECT, "to": {"type": "string"},
            "inputs": {"type": "array", "items": ANY_OBJECT}, "approval": {"type": "boolean"}}}},
        "approval": {"anyOf": [ANY_OBJECT, {"type": "null"}]}, "next_cursor": {"type": "null"}}})
    doc.op(base + "/transitions", "get", f"list_{entity}_transitions", tag,
           f"the transitions the caller may fire on a {entity} now", ok("allowed transitions", allowed),
           params=[ID_PARAM])
    from jimu.runtime.api.openapi import field_schema

    for t in wf.transitions:
        if not _may_fire(policy, wf, t.name):
            continue
        inputs = {f.name: field_schema(f, enums=doc.schemas, enum_name=camel(entity, t.name, f.name))
                  for f in t.inputs}
        req = [f.name for f in t.inputs if f.required]
        in_schema: dict[str, Any] = {"type": "object", "properties": inputs, "additionalProperties": False}
        if req:
            in_schema["required"] = req
        name = camel(entity, t.name)
        inputs_ref = doc.ref(name + "Inputs", in_schema)
        body_schema: dict[str, Any] = {"type": "object", "additionalProperties": False,
                                       "properties": {"inputs": inputs_ref, "comment": {"type": "string"}}}
        if req:
            body_schema["required"] = ["inputs"]
        body = json_body(doc.ref(name + "Request", body_schema), required=bool(req))
        states = ", ".join(t.from_) or "any state"
        doc.op(f"{base}/transitions/{t.name}", "post", f"fire_{entity}_{t.name}", tag,
               f"{t.name}: {states} -> {t.to}", {**ok("the record after the transition", record_ref, etag=True),
                                                  **problems(409)},
               params=[ID_PARAM], body=body,
               description=f"{describe(t.label, t.name)}. 409 lists the transitions allowed from the record's "
                           "state (`allowed`); 403 when the caller may not fire it on this record; 422 names "
                           "each bad input.")
    if _may_vote(policy, wf) or policy.is_admin:
        steps = {s.name for t in wf.transitions for s in (t.approval.steps if t.approval else [])}
        comment = json_body({"type": "object", "additionalProperties": False,
                             "properties": {"comment": {"type": "string"}}}, required=False)
        for step in sorted(steps):
            for decision in ("approve", "reject"):
                doc.op(f"{base}/approvals/{step}/{decision}", "post", f"{decision}_{entity}_{step}", tag,
                       f"{decision} approval step {step}", {**ok("the record after the decision", record_ref,
                                                                  etag=True), **problems(409)},
                       params=[ID_PARAM], body=comment)


def add_ledgers(doc: Doc) -> None:
    """Balances of each ledger the caller may read (read right on its first dimension's
    entity), transfer discrepancies and the stocktake trace where those entities are readable."""
    policy = doc.policy
    spec = policy.rt.spec
    for lg in spec.ledgers:
        first = next((d.entity for d in lg.dimensions if d.entity), None)
        if first is not None and not policy.can(first, "read"):
            continue
        base = f"/api/apps/{doc.app}/ledgers/{lg.name}"
        props: dict[str, Any] = {}
        params = []
        for d in lg.dimensions:
            kind: dict[str, Any] = {"type": "integer", "minimum": 1} if d.entity else {"type": "string"}
            props[d.name] = {**kind, "type": [kind["type"], "null"]} if not d.required else kind
            params.append({"name": d.name, "in": "query", "schema": {"type": "integer", "minimum": 1},
                           "description": f"only rows of this {d.entity or d.name} (a record id)"})
        buckets = ["on_hand", "reserved", "in_transit", "on_order", "quarantine", "available"]
        props.update({b: DECIMAL for b in buckets})
        row = doc.ref(camel(lg.name, "balance"), {"type": "object", "properties": props,
                                                  "required": [*(d.name for d in lg.dimensions), *buckets],
                                                  "description": describe(lg.label, lg.name)})
        doc.op(base + "/balances", "get", f"list_{lg.name}_balances", "ledgers",
               f"balances of ledger {lg.name}", ok("balance rows (available = on_hand - reserved)", envelope(row)),
               params=params)
        _add_movements(doc, lg, base, props, params)
        if spec.entity("stock_transfer") is not None and policy.can("stock_transfer", "read"):
            disc = doc.ref("Discrepancy", ANY_OBJECT)
            doc.op(base + "/discrepancies", "get", f"list_{lg.name}_discrepancies", "ledgers",
                   "transfer discrepancies", ok("a page of discrepancies", envelope(disc)),
                   params=[{"name": "transfer", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "state", "in": "query", "schema": {"type": "string",
                                                                       "enum": ["open", "resolved"]}},
                           {"name": "entity", "in": "query", "schema": {"type": "string"}}, *PAGE_PARAMS])
            if policy.can("stock_transfer", "update"):
                body = {"type": "object", "required": ["reason"], "additionalProperties": False,
                        "properties": {"reason": {"type": "string", "minLength": 1}, "book": DECIMAL}}
                doc.op(base + "/discrepancies/{id}/resolve", "post", f"resolve_{lg.name}_discrepancy", "ledgers",
                       "close a discrepancy with a reason", {**ok("the resolved discrepancy", disc), **problems(409)},
                       params=[ID_PARAM], body=json_body(body))
    if spec.entity("stocktake_line") is not None and policy.can("stocktake_line", "read"):
        doc.op(f"/api/apps/{doc.app}/data/stocktake_line/{{id}}/trace", "get", "trace_stocktake_line", "ledgers",
               "the movements a count line's variance comes from", ok("movements", envelope(ANY_OBJECT)),
               params=[ID_PARAM])


def _add_movements(doc: Doc, lg: Any, base: str, dims: dict[str, Any], params: list[dict[str, Any]]) -> None:
    """The movement log of a ledger (same gate as its balances; rows of documents the
    caller cannot read are left out)."""
    bucket = {"type": ["string", "null"],
              "enum": ["on_hand", "reserved", "in_transit", "on_order", "quarantine", "available", None]}
    docref = {"type": "object", "required": ["entity", "id", "number", "line"], "properties": {
        "entity": {"type": ["string", "null"]}, "id": {"type": ["integer", "string", "null"]},
        "number": {}, "line": {"type": ["integer", "string", "null"]}}}
    props = {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
             "user": {"type": ["string", "null"]}, "kind": {"type": "string"},
             **{k: {"type": ["integer", "string", "null"]} for k in dims}, "batch": {"type": ["integer", "null"]},
             "qty": DECIMAL, "from_bucket": bucket, "to_bucket": bucket, "document": docref}
    row = doc.ref(camel(lg.name, "movement"), {"type": "object", "properties": props,
                                               "required": ["id", "at", "kind", "qty", "from_bucket", "to_bucket",
                                                            "document"]})
    extra = [{"name": "entity", "in": "query", "schema": {"type": "string"},
              "description": "only movements of documents of this entity"},
             {"name": "record", "in": "query", "schema": {"type": "integer", "minimum": 1},
              "description": "only movements of this document (needs entity)"}]
    doc.op(base + "/movements", "get", f"list_{lg.name}_movements", "ledgers",
           f"movements of ledger {lg.name}, oldest first", ok("a page of movements", envelope(row)),
           params=[*params, *extra, *PAGE_PARAMS])


def add_chat_orders(doc: Doc) -> None:
    """Chat orders (DESIGN 16): parse for callers who read items, create for callers who
    may create sales orders."""
    policy = doc.policy
    spec = policy.rt.spec
    if spec.entity("item") is None or not policy.can("item", "read"):
        return
    base = f"/api/apps/{doc.app}/chat-orders"
    nid = {"type": ["integer", "null"], "minimum": 1}
    alt = {"type": "object", "required": ["item", "item_name", "score"], "properties": {
        "item": {"type": "integer"}, "sku": {"type": ["string", "null"]}, "item_name": {"type": ["string", "null"]},
        "score": {"type": "number"}}}
    line = doc.ref("ChatOrderLine", {"type": "object", "required": ["item", "item_name", "qty", "unit", "confidence",
                                                                     "alternatives"], "properties": {
        "item": nid, "sku": {"type": ["string", "null"]}, "item_name": {"type": ["string", "null"]}, "qty": DECIMAL,
        "unit": {"type": ["string", "null"]}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "flagged": {"type": "boolean", "description": "below the 0.8 threshold: no item is picked"},
        "text": {"type": "string"}, "alternatives": {"type": "array", "items": alt}}})
    parsed = doc.ref("ChatOrderParse", {"type": "object", "required": ["customer", "lines", "unparsed"], "properties": {
        "customer": nid, "customer_name": {"type": ["string", "null"]}, "lines": {"type": "array", "items": line},
        "unparsed": {"type": "array", "items": {"type": "string"}}}})
    text = {"type": "string", "minLength": 1, "maxLength": 4000, "examples": ["李姐：要2盒蓝莓+1袋山药"]}
    body = {"type": "object", "required": ["text"], "additionalProperties": False,
            "properties": {"text": text, "customer": nid}}
    doc.op(base + "/parse", "post", "parse_chat_order", "chat_orders",
           "parse a chat message into order lines (items, quantities, confidence, alternatives)",
           ok("the parsed lines", parsed), body=json_body(body),
           description="Items match by name, `item.aliases`, pinyin and initials; every line has a confidence "
                       "and alternatives; below 0.8 a line is flagged (`item: null`), never guessed.")
    if spec.entity("sales_order") is None or not policy.can("sales_order", "create"):
        return
    created = doc.ref("ChatOrderCreated", {"type": "object", "required": ["order", "lines", "flagged", "unparsed"],
                                           "properties": {"order": ANY_OBJECT, "customer": nid,
                                                          "lines": {"type": "array", "items": line},
                                                          "flagged": {"type": "array", "items": line},
                                                          "unparsed": {"type": "array", "items": {"type": "string"}}}})
    doc.op(base, "post", "create_chat_order", "chat_orders", "create the draft sales order from a chat message",
           ok("the draft order and the lines left out", created, 201),
           body=json_body({**body, "properties": {**body["properties"], "warehouse": nid}}),
           description="Only confident lines go on the order; flagged lines are returned and named in the order's "
                       "note. 422 `chat_order.no_lines` when none is confident, `chat_order.customer_required` "
                       "when the message names no customer and none is given.")


def add_stock_reports(doc: Doc) -> None:
    """The inventory-accuracy report (账实差异率), when the caller may read stocktakes and
    their quantities (:func:`jimu.runtime.stock.accuracy.may_see_accuracy`)."""
    from jimu.runtime.stock.accuracy import may_see_accuracy

    _add_prep(doc)
    if not may_see_accuracy(doc.policy):
        return
    row = doc.ref("InventoryAccuracyRow", {"type": "object", "required": [
        "warehouse", "stocktakes", "lines", "absolute_variance", "system", "rate"], "properties": {
        "warehouse": {"type": ["integer", "null"]}, "warehouse_name": {"type": ["string", "null"]},
        "stocktakes": {"type": "integer", "description": "posted counts in the window"},
        "lines": {"type": "integer"},
        "absolute_variance": {**DECIMAL, "description": "Σ|counted - book at posting|"},
        "system": {**DECIMAL, "description": "Σ book at posting"},
        "rate": {**DECIMAL, "description": "账实差异率 = absolute_variance / system (0.0200 = 2 %)"}}})
    report = doc.ref("InventoryAccuracyReport", {"type": "object", "required": ["from", "to", "days", "data"],
                                                 "properties": {
                                                     "from": {"type": "string", "format": "date"},
                                                     "to": {"type": "string", "format": "date"},
                                                     "days": {"type": "integer"},
                                                     "data": {"type": "array", "items": row},
                                                     "next_cursor": {"type": "null"}}})
    doc.op(f"/api/apps/{doc.app}/reports/inventory-accuracy", "get", "get_inventory_accuracy_report", "reports",
           "inventory accuracy (账实差异率) per warehouse over the counts posted in the last 90 days",
           ok("one row per warehouse", report),
           params=[{"name": "warehouse", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                   {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 3660,
                                                               "default": 90}}],
           description="Stocktakes posted with a count_date in (to - days, to], to = the app clock's date. "
                       "Needs read on stocktake (its row filter applies) with the line quantities visible.")


def _add_prep(doc: Doc) -> None:
    """The catering prep suggestion, where the app has dish sales and the caller reads them
    and their lines (elsewhere the route answers 404 ``entity.not_found`` or 403)."""
    policy = doc.policy
    spec = policy.rt.spec
    if any(spec.entity(e) is None or not policy.can(e, "read") for e in ("dish_sale", "dish_sale_line")):
        return
    dish = doc.ref("PrepSuggestionDish", {"type": "object", "required": [
        "dish", "portions", "peak_hour", "peak_portions", "history"], "properties": {
        "dish": {"type": "integer"}, "portions": {"type": "integer", "description": "average of the four days, rounded up"},
        "peak_hour": {"type": "integer", "description": "hour (UTC) with the most portions over the four days"},
        "peak_portions": {"type": "integer"},
        "history": {"type": "array", "items": DECIMAL, "description": "portions of each day, oldest first"}}})
    report = doc.ref("PrepSuggestion", {"type": "object", "required": ["store", "date", "days", "dishes"], "properties": {
        "store": {"type": "integer"}, "date": {"type": "string", "format": "date"},
        "days": {"type": "array", "items": {"type": "string", "format": "date"}},
        "dishes": {"type": "array", "items": dish}}})
    doc.op(f"/api/apps/{doc.app}/reports/prep-suggestion", "get", "get_prep_suggestion_report", "reports",
           "peak-hour prep suggestion per dish (备餐建议) from the last four same weekdays",
           ok("the dishes to prepare at the store", report),
           params=[{"name": "store", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}},
                   {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}}],
           description="Posted dish sales of the store on date - 7, - 14, - 21, - 28 (date defaults to today); "
                       "needs read on dish_sale and its lines (row filter applies).")


def add_caller_routes(doc: Doc) -> None:
    """Inbox, delegations, the event stream, export, the app list and this document."""
    from jimu.runtime.events.outbox import EVENT_KINDS

    app = doc.app
    entry = doc.ref("InboxEntry", {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "entity": {"type": ["string", "null"]},
        "record": {"type": ["string", "integer", "null"]}, "read": {"type": ["boolean", "null"]}},
        "additionalProperties": True})
    doc.op(f"/api/apps/{app}/inbox", "get", "list_inbox", "inbox", "the caller's approvals and notifications",
           ok("a page, newest first", envelope(entry)),
           params=[*PAGE_PARAMS, {"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["1", "0"]}}])
    doc.op(f"/api/apps/{app}/inbox/{{id}}/read", "post", "mark_inbox_read", "inbox", "mark an entry read",
           ok("the entry", entry), params=[ID_PARAM])
    deleg = {"type": "object", "required": ["delegate"], "additionalProperties": False, "properties": {
        "delegate": {"type": "string"}, "from": {"type": "string", "format": "date-time"},
        "until": {"type": "string", "format": "date-time"}}}
    doc.op(f"/api/apps/{app}/delegations", "post", "create_delegation", "inbox",
           "let another user decide the caller's approvals for a while", ok("the delegation", ANY_OBJECT, 201),
           body=json_body(deleg))
    doc.op(f"/api/apps/{app}/events", "get", "stream_events", "events", "server-sent events of visible changes",
           {"200": {"description": "an endless text/event-stream: `id:` (resume with Last-Event-ID), `event:` "
                                   "(the kind) and `data:` (JSON) per event, comment heartbeats",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
           params=[{"name": "kinds", "in": "query", "schema": {"type": "string"},
                    "description": "comma-separated: " + ", ".join(EVENT_KINDS)},
                   {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string", "pattern": r"^\d+$"}},
                   {"name": "last_event_id", "in": "query", "schema": {"type": "string", "pattern": r"^\d+$"}},
                   {"name": "access_token", "in": "query", "schema": {"type": "string"},
                    "description": "for EventSource, which cannot send headers"}],
           description="Only changes the caller may see, rendered by its field rights. The stream ends when "
                       "the credential expires or loses rights; reconnect with Last-Event-ID.")
    exportable = [e.name for e in doc.policy.rt.spec.entities if doc.policy.can(e.name, "export")]
    if exportable:
        doc.op(f"/api/apps/{app}/export", "get", "export_records", "export", "records as CSV or XLSX",
               {"200": {"description": "the file", "content": {
                   "text/csv": {"schema": {"type": "string"}},
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                       {"schema": {"type": "string", "contentEncoding": "base64"}}}}},
               params=[{"name": "entity", "in": "query", "required": True,
                        "schema": {"type": "string", "enum": exportable}},
                       {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "xlsx"]}},
                       {"name": "filter", "in": "query", "schema": {"type": "string"}}])
    doc.op("/api/apps", "get", "list_apps", "apps", "the apps (an API key sees its own)",
           ok("apps", envelope(ANY_OBJECT)))
    doc.op(f"/api/apps/{app}/openapi.json", "get", "get_openapi", "apps", "this document, for the caller",
           ok("OpenAPI 3.1", ANY_OBJECT))
    doc.op("/api/health", "get", "health", "apps", "liveness and database check",
           ok("ok", ANY_OBJECT), public=True)


def add_admin(doc: Doc) -> None:
    """API keys, webhooks and the app health report, for the app's admins."""
    if not doc.policy.is_admin:
        return
    app = doc.app
    key_in = {"type": "object", "required": ["name", "role"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "maxLength": 150}, "role": {"type": "string"}}}
    doc.op(f"/api/apps/{app}/api-keys", "post", "create_api_key", "admin", "an API key for an integration",
           ok("the key (its secret is shown only now)", ANY_OBJECT, 201), body=json_body(key_in))
    doc.op(f"/api/apps/{app}/api-keys", "get", "list_api_keys", "admin", "the app's API keys",
           ok("keys without secrets", envelope(ANY_OBJECT)))
    doc.op(f"/api/apps/{app}/api-keys/{{id}}", "delete", "revoke_api_key", "admin", "revoke a key at once",
           ok("the revoked key", ANY_OBJECT), params=[ID_PARAM])
    hooks = f"/api/apps/{app}/webhooks"
    hook = doc.ref("Webhook", ANY_OBJECT)
    did = {"name": "did", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    doc.op(hooks, "get", "list_webhooks", "webhooks", "the app's webhooks", ok("webhooks", envelope(hook)))
    doc.op(hooks, "post", "create_webhook", "webhooks", "an outgoing or incoming webhook",
           ok("the webhook (an incoming one with its token, shown once)", hook, 201), body=json_body(ANY_OBJECT))
    doc.op(hooks + "/{id}", "get", "get_webhook", "webhooks", "one webhook", ok("the webhook", hook),
           params=[ID_PARAM])
    doc.op(hooks + "/{id}", "patch", "update_webhook", "webhooks", "change a webhook", ok("the webhook", hook),
           params=[ID_PARAM], body=json_body(ANY_OBJECT))
    doc.op(hooks + "/{id}", "delete", "delete_webhook", "webhooks", "deactivate a webhook",
           {"204": {"description": "deactivated"}}, params=[ID_PARAM])
    doc.op(hooks + "/{id}/deliveries", "get", "list_webhook_deliveries", "webhooks", "delivery attempts",
           ok("deliveries", envelope(ANY_OBJECT)), params=[ID_PARAM, *PAGE_PARAMS])
    doc.op(hooks + "/{id}/deliveries/{did}", "get", "get_webhook_delivery", "webhooks", "one delivery",
           ok("the delivery", ANY_OBJECT), params=[ID_PARAM, did])
    doc.op(hooks + "/{id}/deliveries/{did}/resend", "post", "resend_webhook_delivery", "webhooks",
           "send a delivery again", ok("the new delivery", ANY_OBJECT), params=[ID_PARAM, did])
    doc.op("/api/hooks/{token}", "post", "incoming_webhook", "webhooks",
           "an incoming webhook (the token in the path is the credential)", ok("the written record", ANY_OBJECT),
           params=[{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
           body=json_body(ANY_OBJECT), public=True)
    doc.op(f"/api/apps/{app}/health", "get", "get_app_health", "admin", "the app's health report",
           ok("findings", ANY_OBJECT),
           params=[{"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "sarif"]}}])
    finding = {"type": "object", "additionalProperties": False, "properties": {
        "state": {"type": "string"}, "reason": {"type": "string"},
        "snoozed_until": {"type": ["string", "null"], "format": "date-time"}}}
    doc.op(f"/api/apps/{app}/health/findings/{{id}}", "patch", "update_health_finding", "admin",
           "acknowledge or snooze a finding", ok("the finding", ANY_OBJECT),
           params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
           body=json_body(finding))


def add_trace(doc: Doc) -> None:
    """The batch trace and recall (DESIGN 16) where the stock ledger keeps batches and the
    caller reads the batch entity (elsewhere the route answers 404 ``trace.no_batches`` or
    404 for the batch); the recall for managers and administrators of an app with the
    recall unit (elsewhere 403 ``recall.forbidden`` or 422 ``recall.not_installed``)."""
    from jimu.runtime.stock.recall import RECALL_ENTITY, RECALL_ROLES
    from jimu.runtime.workflow.batches import batch_dimension

    policy = doc.policy
    spec = policy.rt.spec
    lg = spec.ledger("stock")
    dim = batch_dimension(lg) if lg is not None else None
    if dim is None or spec.entity(dim[1]) is None or not policy.can(dim[1], "read"):
        return
    base = f"/api/apps/{doc.app}/trace/batch/{{id}}"
    node = doc.ref("BatchTrace", {"type": "object", "additionalProperties": True,
                                  "required": ["batch", "item", "received", "produced_from", "shipped", "consumed",
                                               "stock"],
                                  "properties": {k: {"type": "array", "items": ANY_OBJECT} for k in (
                                      "received", "produced_from", "shipped", "consumed", "stock", "children",
                                      "parents")} | {"batch": ANY_OBJECT, "item": ANY_OBJECT,
                                                     "truncated": {"type": "boolean"}}})
    doc.op(base, "get", "trace_batch", "trace", "a batch's genealogy: down through consumption or up to components",
           {**ok("the trace, nested by generation", node), **problems(404, 422)},
           params=[ID_PARAM, {"name": "direction", "in": "query", "schema": {"type": "string", "enum": ["down", "up"]}},
                   {"name": "depth", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 100}}])
    if RECALL_ROLES & set(policy.actor.roles) and spec.entity(RECALL_ENTITY) is not None:
        body = {"type": "object", "required": ["reason"], "additionalProperties": False,
                "properties": {"reason": {"type": "string", "minLength": 1}}}
        # the recall entity's own schema (the answer is that record, rendered for the caller)
        name = camel(RECALL_ENTITY)
        record = {"$ref": f"#/components/schemas/{name}"} if name in doc.schemas else doc.ref(name + "Record", ANY_OBJECT)
        doc.op(base + "/recall", "post", "recall_batch", "trace",
               "recall a batch: record, quarantine what is left, notify sales and finance",
               {**ok("the recall record", record, status=201), **problems(403, 404, 422)},
               params=[ID_PARAM], body=json_body(body))
