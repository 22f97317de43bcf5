"""The request handler: read → identify → decide → forward → watch the stream → record.

Guarantee: every request gets exactly one answer — the upstream's, or an error in the
caller's own dialect — and no traceback ever reaches a client.
"""

from __future__ import annotations

import asyncio
import random

import aiohttp
import orjson
import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from multidict import CIMultiDict

from gateway import metrics
from gateway.config import Settings
from gateway.detect.offloop import SCANS
from gateway.dialects import (
    OFF_LOOP_BODY_BYTES,
    OPENAI_RESPONSES,
    ChatRequest,
    Dialect,
    parse_named,
)
from gateway.dialects.base import Family
from gateway.dialects.rewrite import END_TOOL, tools_allowed
from gateway.editor import ResponseEditor
from gateway.errors import (
    HTTPError,
    InternalError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from gateway.exchange import Exchange, outcome_of
from gateway.inspection import Guard, Inspection
from gateway.logs import get_logger
from gateway.redirect import Redirector
from gateway.replies import (
    CLIENT_GONE,
    CONVERSATION_ID,
    CONVERSATION_STATUS,
    NAMED_EVENTS,
    answer_and_close,
    error_response,
    terminal_response,
)
from gateway.request_body import ClientDisconnected, RequestTimeout, failure_reason, read_body
from gateway.routing import ERROR_DIALECTS, family_of, upstream_target
from gateway.sse import SseSplitter
from gateway.upstream import (
    Upstreams,
    body_payload,
    request_headers,
    response_headers,
    skipped_auto_headers,
)

log = get_logger("lastword.proxy")

REQUEST_ID_HEADER = "X-Lastword-Request-Id"
_UPSTREAM_FAULTS = (aiohttp.ClientError, asyncio.TimeoutError)
# A stream is read in pieces of at most this size, which bounds the work and memory one
# read of a fast upstream can cost; a token-paced stream arrives in far smaller pieces.
_STREAM_CHUNK = 32 * 1024


def _upstream_error(exc: BaseException, family: Family) -> HTTPError:
    if isinstance(exc, asyncio.TimeoutError):
        metrics.UPSTREAM_ERRORS.labels(family, "timeout").inc()
        return UpstreamTimeout("The upstream API did not answer in time.")
    metrics.UPSTREAM_ERRORS.labels(family, "unreachable").inc()
    return UpstreamUnreachable("The upstream API could not be reached.")


class Proxy:
    """Forwards requests; inspects the three chat APIs on the way."""

    def __init__(
        self, settings: Settings, upstreams: Upstreams, guard: Guard, redirector: Redirector
    ) -> None:
        self.settings = settings
        self.upstreams = upstreams
        self.guard = guard
        self.redirector = redirector
        # Inspected requests under way on this worker: with others about, a turn waits for
        # the loop's next turn to be scored beside theirs (`detect.batching`).
        self._in_flight = 0

    async def inspected(self, request: web.Request, dialect: Dialect) -> web.StreamResponse:
        """Handle one request to an inspected route."""
        exchange = Exchange(dialect)
        # Request ids name log lines; they need to be unique, not unguessable.
        request_id = f"{random.getrandbits(64):016x}"
        # Bound and reset by token: `bound_contextvars` first copies the whole context.
        context = structlog.contextvars.bind_contextvars(request_id=request_id)
        self._in_flight += 1
        try:
            try:
                response = await self._inspect(request, dialect, exchange)
                outcome = exchange.outcome
                if outcome == "forwarded" and response.status >= 400:
                    outcome = f"upstream_{response.status // 100}xx"
            except RequestTimeout as exc:
                response = error_response(dialect, exc)
                response.headers[REQUEST_ID_HEADER] = request_id
                response = await answer_and_close(request, response)
                outcome = outcome_of(exc.status)
            except HTTPError as exc:
                response = error_response(dialect, exc)
                outcome = outcome_of(exc.status)
            except ClientDisconnected:
                # Nobody is left to answer; the request line below is the only trace.
                response = web.Response(status=400)
                outcome = "client_disconnected"
            except Exception:
                log.exception("internal_error", dialect=dialect.name)
                response = error_response(dialect, InternalError("The gateway failed."))
                outcome = "error"
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            total = exchange.finish(outcome)
            log.info(
                "request",
                dialect=dialect.name,
                status=response.status,
                outcome=outcome,
                duration_ms=round(total * 1000, 3),
            )
            return response
        finally:
            self._in_flight -= 1
            structlog.contextvars.reset_contextvars(**context)

    async def _read_body(self, request: web.Request, dialect: Dialect) -> bytes:
        """The decoded body, read within the body timeout and size limit (counted if not)."""
        try:
            return await read_body(
                request, limit=self.settings.max_body_bytes, within=self.settings.body_timeout
            )
        except (HTTPError, ClientDisconnected) as exc:
            metrics.REQUEST_BODY_FAILURES.labels(dialect.name, failure_reason(exc)).inc()
            raise

    async def _inspect(
        self, request: web.Request, dialect: Dialect, exchange: Exchange
    ) -> web.StreamResponse:
        body = await self._read_body(request, dialect)
        large = len(body) > OFF_LOOP_BODY_BYTES
        if large:
            chat = await SCANS.run(parse_named, dialect.name, body)
        else:
            chat = dialect.parse_request(body)
        crowded = self._in_flight > 1
        inspection = await self.guard.begin(
            request.headers, chat, dialect.family, large=large, crowded=crowded
        )
        # A Responses answer may be continued by its id alone (unless the client opted out
        # of OpenAI storing it): remember where it leaves the conversation.
        inspection.links_responses = (
            dialect is OPENAI_RESPONSES and chat.body.get("store") is not False
        )
        inspection.server_conversation = chat.server_conversation
        inspection.turn_text = chat.turns[-1].text if chat.turns else ""
        try:
            return await self._forward(
                request, dialect, exchange, chat=chat, body=body, inspection=inspection
            )
        finally:
            inspection.discard()

    async def _forward(
        self,
        request: web.Request,
        dialect: Dialect,
        exchange: Exchange,
        *,
        chat: ChatRequest,
        body: bytes,
        inspection: Inspection,
    ) -> web.StreamResponse:
        structlog.contextvars.bind_contextvars(
            conversation_id=inspection.identity.conversation_id,
            tenant=inspection.identity.tenant,
        )
        if inspection.ended is not None:
            log.info("refused_as_ended", reason=inspection.ended.reason)
            metrics.REFUSED_AS_ENDED.labels(dialect.name).inc()
            exchange.outcome = "refused_ended"
            redirect = self.redirector.plan(inspection, request.headers)
            resources = redirect.resources if redirect is not None else None
            return terminal_response(dialect, inspection, resources)
        if inspection.state.ending is not None:
            log.info("shadow_refusal", reason=inspection.state.ending.reason)
        redirect = self.redirector.plan(inspection, request.headers)
        # Shadow mode changes nothing the model or the client sees: no tool is offered.
        own_end_tool = (
            self.settings.policy.model_can_end
            and not self.settings.shadow
            and END_TOOL not in chat.tool_names
            and tools_allowed(chat.body)
            and not inspection.endings_held
        )
        if own_end_tool:
            dialect.add_end_tool(chat.body)
        if redirect is not None and redirect.guidance:
            dialect.add_guidance(chat.body, redirect.guidance)
        if own_end_tool or (redirect is not None and redirect.guidance):
            body = orjson.dumps(chat.body)
        url = self.upstreams.url(dialect.family, upstream_target(request))
        headers = request_headers(request, decode=True)
        exchange.upstream_begins()
        try:
            upstream = await self.upstreams.session.post(
                url,
                data=body_payload(body),
                headers=headers,
                skip_auto_headers=skipped_auto_headers(headers),
            )
        except _UPSTREAM_FAULTS as exc:
            raise _upstream_error(exc, dialect.family) from None
        exchange.upstream_answers()
        editor = ResponseEditor(
            dialect,
            inspection,
            own_end_tool=own_end_tool,
            resources=redirect.resources if redirect is not None else None,
            named_events=request.headers.get(NAMED_EVENTS, "").strip().lower() == "true",
            notice_language=(
                self.redirector.language(request.headers) if self.settings.visible_notice else None
            ),
            helplines=self.redirector.witness(inspection, request.headers),
        )
        return await self._relay(request, dialect, upstream, editor, exchange)

    async def _relay(
        self,
        request: web.Request,
        dialect: Dialect,
        upstream: aiohttp.ClientResponse,
        editor: ResponseEditor,
        exchange: Exchange,
    ) -> web.StreamResponse:
        try:
            if upstream.content_type == "text/event-stream":
                gauge = metrics.for_dialect(dialect.name).active_streams
                gauge.inc()
                try:
                    return await self._relay_stream(request, dialect, upstream, editor, exchange)
                finally:
                    gauge.dec()
            return await self._relay_body(upstream, editor, exchange)
        finally:
            exchange.upstream_ends()
            upstream.release()

    def _headers(
        self, upstream: aiohttp.ClientResponse, inspection: Inspection
    ) -> CIMultiDict[str]:
        headers = response_headers(upstream.headers, decoded=True)
        headers[CONVERSATION_ID] = inspection.identity.conversation_id
        headers[CONVERSATION_STATUS] = "active"
        return headers

    async def _relay_body(
        self, upstream: aiohttp.ClientResponse, editor: ResponseEditor, exchange: Exchange
    ) -> web.Response:
        try:
            body = await upstream.read()
        except _UPSTREAM_FAULTS as exc:
            raise _upstream_error(exc, editor.dialect.family) from None
        exchange.upstream_ends()
        headers = self._headers(upstream, editor.inspection)
        if upstream.status == 200 and upstream.content_type == "application/json":
            body = await editor.body(body)
            if editor.ended:
                headers[CONVERSATION_STATUS] = "ended"
        return web.Response(status=upstream.status, body=body, headers=headers)

    async def _relay_stream(
        self,
        request: web.Request,
        dialect: Dialect,
        upstream: aiohttp.ClientResponse,
        editor: ResponseEditor,
        exchange: Exchange,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=upstream.status, headers=self._headers(upstream, editor.inspection)
        )
        await response.prepare(request)
        splitter = SseSplitter(self.settings.max_event_bytes)
        inspect = upstream.status == 200
        try:
            try:
                async for chunk in upstream.content.iter_chunked(_STREAM_CHUNK):
                    block, events = splitter.feed(chunk)
                    if events:
                        await response.write(
                            await editor.block(block, events) if inspect else block
                        )
                    if splitter.overflowed:
                        break
                exchange.upstream_ends()
                end = self._stream_end(dialect, splitter, editor, inspect)
            except CLIENT_GONE:
                raise
            except _UPSTREAM_FAULTS as exc:
                log.warning("upstream_stream_fault", error=type(exc).__name__)
                metrics.UPSTREAM_ERRORS.labels(dialect.family, "midstream").inc()
                timeout = isinstance(exc, asyncio.TimeoutError)
                kind = "upstream_timeout" if timeout else "upstream_unreachable"
                end = dialect.stream_error_event(kind, "The upstream stream failed.")
            except Exception:
                # The answer has begun: whatever failed, it ends as a well-formed stream.
                log.exception("stream_failed")
                end = dialect.stream_error_event("api_error", "The gateway failed.")
            await response.write(end)
            await response.write_eof()
        except CLIENT_GONE:
            log.info("client_disconnected", events=editor.events)
        if inspect:
            await self._finish(editor)
        return response

    def _stream_end(
        self, dialect: Dialect, splitter: SseSplitter, editor: ResponseEditor, inspect: bool
    ) -> bytes:
        """What follows the last complete event: the unterminated tail, or an error event.

        Before an error the tail is left out: a client drops an unfinished event at the end
        of a stream anyway, and written first it would run into the error's own lines.
        """
        if splitter.overflowed:
            # The upstream connection is dropped, not drained: the rest of the event is
            # never read (the caller releases it unfinished, which closes it).
            limit = self.settings.max_event_bytes
            log.warning("upstream_event_too_large", events=editor.events, limit=limit)
            metrics.UPSTREAM_ERRORS.labels(dialect.family, "event_too_large").inc()
            return dialect.stream_error_event(
                "upstream_event_too_large",
                f"The upstream sent an event larger than {limit} bytes; the stream was ended.",
            )
        tail = splitter.rest()
        if inspect and not editor.finished:
            log.warning("upstream_stream_incomplete", events=editor.events)
            metrics.UPSTREAM_ERRORS.labels(dialect.family, "incomplete").inc()
            return dialect.stream_error_event(
                "upstream_incomplete", "The upstream stream ended before it finished."
            )
        return tail

    async def _finish(self, editor: ResponseEditor) -> None:
        """Record an answer no event finished: what it showed still counts."""
        try:
            await editor.finish()
        except Exception:
            # The client has its answer; a failure to record it is the gateway's to log.
            log.exception("record_failed")

    async def _passthrough_body(self, request: web.Request) -> bytes | object | None:
        """Small bodies of known length are sent whole; others stream through chunked."""
        if not request.body_exists:
            return None
        length = request.content_length
        if length is not None and length <= self.settings.max_body_bytes:
            # Forwarded as sent, coding included; only the wait for it is bounded here.
            timeout = self.settings.body_timeout
            try:
                async with asyncio.timeout(timeout):
                    return body_payload(await request.read())
            except TimeoutError:
                metrics.REQUEST_BODY_FAILURES.labels("passthrough", "timeout").inc()
                raise RequestTimeout(
                    f"The request body did not arrive within {timeout:g} seconds."
                ) from None
        return request.content.iter_any()

    async def passthrough(self, request: web.Request) -> web.StreamResponse:
        """Forward any other path untouched to the upstream of its family."""
        family = family_of(request)
        url = self.upstreams.url(family, upstream_target(request))
        headers = request_headers(request, decode=False)
        try:
            data = await self._passthrough_body(request)
        except RequestTimeout as exc:
            return await answer_and_close(request, error_response(ERROR_DIALECTS[family], exc))
        except (ConnectionResetError, RequestPayloadError):
            # The client left, or cut its body short: nobody is waiting for an answer.
            metrics.REQUEST_BODY_FAILURES.labels("passthrough", "client_disconnected").inc()
            log.info("client_disconnected", phase="request_body")
            return web.Response(status=400)
        try:
            upstream = await self.upstreams.session.request(
                request.method,
                url,
                data=data,
                headers=headers,
                auto_decompress=False,
                skip_auto_headers=skipped_auto_headers(headers),
            )
        except _UPSTREAM_FAULTS as exc:
            dialect = ERROR_DIALECTS[family]
            return error_response(dialect, _upstream_error(exc, family))
        try:
            response = web.StreamResponse(
                status=upstream.status, headers=response_headers(upstream.headers, decoded=False)
            )
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except _UPSTREAM_FAULTS as exc:
                log.warning("upstream_passthrough_fault", error=type(exc).__name__)
                if request.transport is not None:
                    request.transport.close()
            except CLIENT_GONE:
                log.info("client_disconnected")
            return response
        finally:
            upstream.release()
