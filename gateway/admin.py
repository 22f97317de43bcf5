"""The admin API: inspect conversations, audit endings, lift one on appeal.

Off without an admin token. Every call carries the token as a bearer and names one tenant
(`X-Lastword-Tenant`: its hash, or `X-Api-Key`: its own key); it sees no other tenant.
"""

from __future__ import annotations

import hmac
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import metrics
from gateway.conversation import tenant_of
from gateway.detect import RuleError
from gateway.errors import BadRequest, HTTPError, StoreUnavailable
from gateway.logs import get_logger
from gateway.store import (
    WHOLE_CONVERSATION,
    ConversationRecord,
    Ending,
    Store,
    StoreError,
    Unlock,
)

if TYPE_CHECKING:
    from gateway.app import Runtime
    from gateway.config import Settings

log = get_logger("lastword.audit")

ADMIN_PATHS = "/admin{tail:(?:/.*)?}"
TENANT_HEADER = "X-Lastword-Tenant"
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MAX_NOTE, MAX_ACTOR = 1000, 200
_LIMIT = re.compile(r"[0-9]{1,4}")

Json = dict[str, Any]
AdminHandler = Callable[[web.Request, str, Store], Awaitable[Json]]


class Unauthorized(HTTPError):
    """The admin token is missing or wrong (401)."""

    status = 401
    error_type = "unauthorized"


class NotFound(HTTPError):
    """No such admin route, or no such conversation for this tenant (404)."""

    status = 404
    error_type = "not_found"


def _json(body: Json, status: int = 200) -> web.Response:
    # Admin answers name tenants and conversations: no cache may keep them.
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def error_response(status: int, error_type: str, message: str) -> web.Response:
    """The admin API's one error shape: `{"error": {"type", "message"}}`."""
    return _json({"error": {"type": error_type, "message": message}}, status)


def iso(at: float | None) -> str | None:
    """An epoch time as an RFC 3339 UTC string with milliseconds (None stays None)."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ending_json(ending: Ending) -> Json:
    """An ending as the admin API shows it."""
    return {
        "reason": ending.reason,
        "categories": list(ending.categories),
        "at": iso(ending.at),
        "lifted_at": iso(ending.lifted_at),
    }


def unlock_json(u: Unlock) -> Json:
    """An unlock as the admin API shows it."""
    return {"actor": u.actor, "note": u.note, "at": iso(u.at), "lifted": u.lifted}


def conversation_json(record: ConversationRecord) -> Json:
    """Everything retained for a conversation, without message text or fingerprints."""
    # An unlock forgives every strike recorded up to it (the stores' own rule).
    forgiven_until = max((u.at for u in record.unlocks), default=-math.inf)
    ended = any(e.lifted_at is None for e in record.endings)
    return {
        "id": record.conversation_id,
        "alias": record.alias,
        "status": "ended" if ended else "active",
        "strikes": [
            {"category": s.category, "source": s.source, "at": iso(s.at),
             "forgiven": s.at <= forgiven_until}
            for s in record.strikes
        ],
        "endings": [ending_json(e) for e in record.endings],
        "unlocks": [unlock_json(u) for u in record.unlocks],
        "crisis": [
            {"category": c.category, "level": c.level, "at": iso(c.at)} for c in record.crisis
        ],
    }  # fmt: skip


def _cursor(text: str) -> tuple[float, int]:
    """Parse `at:skip` (counting ties shown at `at`; every store orders ties stably)."""
    at, _, skip = text.partition(":")
    try:
        cursor = float(at), int(skip)
    except ValueError:
        cursor = math.nan, -1
    if not math.isfinite(cursor[0]) or cursor[1] < 0:
        raise BadRequest("before: not a cursor given by this API", param="before")
    return cursor


def _page(found: list[Ending], at: float, skip: int, limit: int) -> tuple[list[Ending], str | None]:
    """This page and the cursor after it; `skip` counts the ties at `at` already shown."""
    shown = next((i for i, e in enumerate(found[:skip]) if e.at != at), min(skip, len(found)))
    page = found[shown : shown + limit]
    if len(found) - shown <= limit:
        return page, None
    last = page[-1].at
    ties = sum(e.at == last for e in page) + (skip if at == last else 0)
    return page, f"{last!r}:{ties}"


def _tenant(request: web.Request) -> str:
    """The one tenant the call names, by hash or by the tenant's own API key."""
    named = request.headers.get(TENANT_HEADER, "").strip()
    key = request.headers.get("X-Api-Key", "").strip()
    by_key = tenant_of({"x-api-key": key}) if key else ""
    if named and by_key and named != by_key:
        raise BadRequest(f"{TENANT_HEADER} and X-Api-Key name different tenants")
    if not (named or by_key):
        raise BadRequest(f"name the tenant with {TENANT_HEADER} or X-Api-Key")
    return named or by_key


def _limit(text: str | None) -> int:
    """The page size asked for, 1 to MAX_LIMIT."""
    if text is not None and (not _LIMIT.fullmatch(text) or not 1 <= int(text) <= MAX_LIMIT):
        raise BadRequest(f"limit: a whole number from 1 to {MAX_LIMIT}", param="limit")
    return DEFAULT_LIMIT if text is None else int(text)


async def _note_body(request: web.Request) -> tuple[str, str]:
    """The note and actor of an unlock or end request."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    note, actor = body.get("note"), body.get("actor", "admin")
    if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE:
        raise BadRequest(f"note: a non-empty string of at most {MAX_NOTE} characters", param="note")
    if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR:
        raise BadRequest(f"actor: a non-empty string of at most {MAX_ACTOR} characters")
    return note, actor.strip()


async def _record(request: web.Request, tenant: str, store: Store) -> ConversationRecord:
    """The tenant's conversation named in the path by `conv_` id or alias; 404 otherwise."""
    conversation_id = await store.resolve(tenant, request.match_info["id"])
    record = await store.conversation(tenant, conversation_id) if conversation_id else None
    if record is None:
        raise NotFound("no such conversation for this tenant")
    return record


async def inspect_conversation(request: web.Request, tenant: str, store: Store) -> Json:
    """`GET /admin/conversations/{id}`: strikes, endings, unlocks and crisis marks."""
    return {"conversation": conversation_json(await _record(request, tenant, store))}


async def list_endings(request: web.Request, tenant: str, store: Store) -> Json:
    """`GET /admin/endings?limit=N&before=CURSOR`: the tenant's endings, newest first."""
    limit = _limit(request.query.get("limit"))
    at, skip = _cursor(request.query["before"]) if "before" in request.query else (math.inf, 0)
    # `before` is strict in the stores: ask from just above `at` to see its ties again.
    ceiling = None if math.isinf(at) else math.nextafter(at, math.inf)
    found = await store.endings(tenant, skip + limit + 1, ceiling)
    page, after = _page(found, at, skip, limit)
    listed = [{"conversation_id": e.conversation_id, **ending_json(e)} for e in page]
    return {"endings": listed, "next": after}


async def unlock_conversation(request: web.Request, tenant: str, store: Store) -> Json:
    """`POST /admin/conversations/{id}/unlock`: lift its endings, forgive its strikes."""
    record = await _record(request, tenant, store)
    note, actor = await _note_body(request)
    done = await store.unlock(Unlock(tenant, record.conversation_id, actor, note, time.time()))
    log.info(
        "conversation_unlocked",
        tenant=tenant,
        conversation_id=done.conversation_id,
        actor=actor,
        lifted=done.lifted,
        note_chars=len(note),
    )
    after = await store.conversation(tenant, record.conversation_id) or record
    return {"unlock": unlock_json(done), "conversation": conversation_json(after)}


async def end_conversation(request: web.Request, tenant: str, store: Store) -> Json:
    """`POST /admin/conversations/{id}/end`: end every branch of it now, crisis or not."""
    name = request.match_info["id"]
    conversation_id = await store.resolve(tenant, name)
    if conversation_id is None and name.startswith("conv_"):
        conversation_id = name  # a conversation nothing was recorded for yet
    if conversation_id is None:
        raise NotFound("no such conversation for this tenant")
    note, actor = await _note_body(request)
    wide = Ending(tenant, conversation_id, WHOLE_CONVERSATION, "admin", (), time.time())
    ending = await store.end(wide)
    metrics.ENDINGS.labels("admin").inc()
    log.warning(
        "conversation_ended",
        reason="admin",
        tenant=tenant,
        conversation_id=conversation_id,
        actor=actor,
        note_chars=len(note),
    )
    record = await store.conversation(tenant, conversation_id)
    body: Json = {"ending": ending_json(ending)}
    if record is not None:
        body["conversation"] = conversation_json(record)
    return body


async def unknown_route(request: web.Request, _tenant: str, _store: Store) -> Json:
    """Any other `/admin/...` path or method."""
    raise NotFound(f"no admin route {request.method} {request.path}")


async def _off(_request: web.Request) -> web.StreamResponse:
    return error_response(404, NotFound.error_type, "the admin API is off")


def add_admin_routes(router: web.UrlDispatcher, settings: Settings, runtime: Runtime) -> None:
    """Claim every `/admin` path; call before the passthrough catch-all is added."""
    # Imported here: the page and the stats build on this module's helpers.
    from gateway.admin_page import add_page_routes  # noqa: PLC0415
    from gateway.admin_stats import stats_handler  # noqa: PLC0415

    secret = settings.admin_token.get_secret_value() if settings.admin_token else ""
    add_page_routes(router, api_on=bool(secret))
    if not secret:
        router.add_route("*", ADMIN_PATHS, _off)
        return
    expected = b"Bearer " + secret.encode()

    def guarded(handler: AdminHandler, *, scoped: bool = True) -> Handler:
        """Authorize, scope the call to one tenant, answer every failure as a JSON error."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            try:
                if not hmac.compare_digest(given, expected):
                    log.warning("admin_unauthorized", path=request.path, remote=request.remote)
                    raise Unauthorized("a valid admin bearer token is required")
                tenant = _tenant(request) if scoped else ""
                if runtime.store is None:
                    raise StoreError("the store is not open")
                return _json(await handler(request, tenant, runtime.store))
            except HTTPError as exc:
                return error_response(exc.status, exc.error_type, exc.message)
            except StoreError as exc:
                log.error("admin_store_error", path=request.path, error=str(exc))
                return error_response(503, StoreUnavailable.error_type, "the store is unavailable")

        return wrapped

    router.add_get("/admin/conversations/{id}", guarded(inspect_conversation))
    router.add_post("/admin/conversations/{id}/unlock", guarded(unlock_conversation))
    router.add_post("/admin/conversations/{id}/end", guarded(end_conversation))
    router.add_get("/admin/endings", guarded(list_endings))
    router.add_get("/admin/stats", guarded(stats_handler(settings.retention)))

    async def reload_rules(_request: web.Request, _tenant: str, _store: Store) -> Json:
        try:
            rules = runtime.reload_everywhere()
        except RuleError as exc:
            raise BadRequest(f"rules not reloaded, the old ones stay: {exc}") from None
        return {"rules": {"version": rules.version, "count": len(rules.rules)}}

    router.add_post("/admin/rules/reload", guarded(reload_rules, scoped=False))
    router.add_route("*", ADMIN_PATHS, guarded(unknown_route))
