"""Request parsing and response helpers shared by the API route modules.

One place decides what a well-formed request is: JSON bodies only (415 otherwise), at most
``max_body_bytes`` (413; setting, default 1 MiB), parseable (400), an object (422) with
only known keys (422 listing the unknown ones). Bodies are decoded once, here, by
:func:`decode_json`: lone surrogates and nesting deeper than ``MAX_DEPTH`` are a 400, never
a 500 from the database driver or the recursion limit. Ids in paths and query strings are
read by :func:`path_id` / :func:`query_id` (one parser, :func:`jimu.core.ids.parse_id`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jimu.core.errors import (
    FieldError,
    JimuError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
)
from jimu.core.ids import MAX_ID, parse_id

__all__ = [
    "DEFAULT_MAX_BODY", "BadRequest", "json_bytes", "read_json", "read_body", "parse_json", "check_keys", "json_response", "page", "query_int",
    "query_flag", "path_param", "max_body_bytes", "decode_json", "MAX_DEPTH", "path_id", "query_id",
]

DEFAULT_MAX_BODY = 1024 * 1024
MAX_DEPTH = 32
"""Deepest nesting of arrays/objects a body may have (a record with child rows needs 4)."""


class BadRequest(JimuError):
    status = 400
    code = "bad_request"
    title = "Bad request"


def max_body_bytes(request: Request) -> int:
    """The body size limit: app setting ``max_body_bytes``, else the Jimu setting, else 1 MiB."""
    settings = getattr(request.app.state, "settings", {}) or {}
    value = settings.get("max_body_bytes") or request.app.state.jimu.settings.get("max_body_bytes")
    return int(value or DEFAULT_MAX_BODY)


async def read_json(request: Request, *, allowed: Iterable[str] | None = None, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, checked (see module doc). ``allowed`` lists the
    accepted keys; ``optional`` accepts an empty body as ``{}``."""
    return parse_json(request, await read_body(request), allowed=allowed, optional=optional)


async def read_body(request: Request) -> bytes:
    """The raw body, refused (413) past the app's size limit while it streams in."""
    limit = max_body_bytes(request)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", extra={"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes", extra={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(request: Request, raw: bytes, *, allowed: Iterable[str] | None = None,
               optional: bool = False) -> dict[str, Any]:
    """:func:`read_json` on a body already read with :func:`read_body`."""
    if not raw.strip():
        if optional:
            return {}
        raise ValidationError("a JSON object body is required", code="body.missing",
                              errors=[FieldError("body", "required", "send a JSON object")])
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not (ctype.startswith("application/") and ctype.endswith("+json")):
        raise UnsupportedMediaType(f"send application/json, not {ctype or 'no content type'}")
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code="body.not_object",
                              errors=[FieldError("body", "type", "expected an object")])
    if allowed is not None:
        check_keys(body, allowed)
    return body


def decode_json(raw: bytes | str) -> Any:
    """JSON text to Python, decimals kept exact (a number with a fraction or exponent, or
    an integer past 64 bits, becomes its text), or :class:`BadRequest` (400
    ``json.malformed``). orjson checks the text first: it refuses invalid UTF-8, lone
    surrogates (``"\\ud800"``, which no database can store) and NaN, and stops at depth
    1024 instead of recursing; then the decoded value's depth is held to ``MAX_DEPTH``
    (iteratively). Only a body holding such numbers is decoded a second time, by the
    standard library with ``parse_float=str``, which is safe once the depth is known."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _malformed(str(exc)) from None
    if not _shallow_and_exact(value):
        return json.loads(raw, parse_float=str, parse_constant=_no_constant)
    return value


def _malformed(message: str) -> BadRequest:
    return BadRequest(f"malformed JSON: {message}"[:300], code="json.malformed",
                      errors=[FieldError("body", "json.malformed", message[:200])])


def _shallow_and_exact(value: Any) -> bool:
    """False when ``value`` holds a float (orjson's reading of a decimal or a huge
    integer); :class:`BadRequest` when it nests deeper than ``MAX_DEPTH``."""
    exact = True
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            exact = exact and not isinstance(item, float)
            continue
        if depth > MAX_DEPTH:
            raise _malformed(f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)
    return exact


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_keys(body: dict[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    """422 listing every key of ``body`` not in ``allowed``."""
    known = set(allowed)
    unknown = [k for k in body if k not in known]
    if unknown:
        raise ValidationError("unknown fields: " + ", ".join(unknown), code="field.unknown",
                              errors=[FieldError(prefix + k, "field.unknown", "not an accepted field") for k in unknown])


def json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON (Chinese stays readable): orjson, with the standard library's
    answer for what orjson refuses (integers beyond 64 bits); anything else not JSON
    (Decimal, sets) becomes its ``str()``, datetimes ISO 8601 as ``isoformat()`` writes them."""
    try:
        return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (see :func:`json_bytes`)."""
    return Response(json_bytes(data), status_code=status, media_type="application/json", headers=headers)


def page(data: list[Any], next_cursor: str | None = None) -> Response:
    """The list envelope every list endpoint answers."""
    return json_response({"data": data, "next_cursor": next_cursor})


def query_int(request: Request, name: str, default: int, *, low: int = 1, high: int = 500) -> int:
    """An integer query parameter within ``[low, high]`` (422 otherwise)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError(f"{name} must be an integer from {low} to {high}",
                              errors=[FieldError(name, "range", f"{low}..{high}")])
    return value


def query_flag(request: Request, name: str) -> bool:
    """A boolean query flag (1/true/yes)."""
    return request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


def path_id(request: Request, not_found: str, code: str, name: str = "id", *, high: int = MAX_ID) -> int:
    """The row id in path parameter ``name``; 404 ``code`` ("``not_found`` <raw>") when it
    is not one (no row can have it)."""
    raw = str(request.path_params[name])
    value = parse_id(raw, high=high)
    if value is None:
        raise NotFound(f"{not_found} {raw[:40]}", code=code)
    return value


def query_id(request: Request, name: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """An id (or an id cursor) in query parameter ``name``: None when absent or empty
    (an empty cursor is the first page), 422 when it is not an id."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = parse_id(raw, low=low, high=high)
    if value is None:
        code = "cursor.invalid" if name == "cursor" else "id.invalid"
        raise ValidationError(f"invalid {name}", errors=[FieldError(name, code, "pass an id from this API")])
    return value


def path_param(request: Request, name: str) -> str:
    """A path parameter as text."""
    return str(request.path_params[name])


