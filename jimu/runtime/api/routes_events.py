"""Event routes: the SSE stream, webhook administration and incoming webhooks.

``GET /api/apps/{app}/events`` streams what the caller may see (token as Bearer header or
``?access_token=``; ``Last-Event-ID`` header or ``?last_event_id=`` resumes from the
outbox; ``?kinds=record.updated,ledger.moved`` narrows). The stream ends when the
credential it was opened with expires, is withdrawn (user deactivated, API key revoked)
or changes rights (roles): the client reconnects and gets 401 or the new rights. Webhooks are managed by the app's
admins under ``/api/apps/{app}/webhooks``; ``POST /api/hooks/{token}`` is an incoming hook.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.core.ids import parse_id
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.events.credentials import StreamCredential
from jimu.runtime.events.outbox import EVENT_KINDS
from jimu.runtime.events.sse import EventStreamResponse

__all__ = ["routes"]


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    value = parse_id(raw.strip(), low=0)
    if value is None:
        raise ValidationError("Last-Event-ID must be an event id from this stream",
                              errors=[FieldError("last_event_id", "invalid", "expected an integer id")])
    return value


async def stream_events(request: Request) -> Response:
    """GET /api/apps/{app}/events: server-sent events of the changes the caller may see."""
    jimu = jimu_of(request)
    actor = current_actor(request)
    policy = AccessPolicy.for_actor(jimu, str(request.path_params["app"]), actor)
    last = _last_event_id(request)
    kinds = None
    if request.query_params.get("kinds"):
        kinds = {k.strip() for k in request.query_params["kinds"].split(",") if k.strip()}
        unknown = kinds - set(EVENT_KINDS)
        if unknown:
            raise ValidationError("unknown event kinds: " + ", ".join(sorted(unknown)),
                                  errors=[FieldError("kinds", "invalid", f"one of {', '.join(EVENT_KINDS)}")])
    heartbeat = float(jimu.settings.get("sse_heartbeat", 15.0))
    return EventStreamResponse(policy, last, heartbeat=heartbeat, kinds=kinds,
                               credential=StreamCredential(request, actor))


def routes() -> list[BaseRoute]:
    """The event routes."""
    from jimu.runtime.events.webhook_routes import webhook_routes

    return [Route("/api/apps/{app}/events", stream_events, methods=["GET"]), *webhook_routes()]
