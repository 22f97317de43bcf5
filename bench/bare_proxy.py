"""A bare aiohttp passthrough: the yardstick the gateway's overhead is measured against.

It does what any forwarding proxy must and nothing else: one pooled client session, read
the body, forward it with the client's headers less the hop-by-hop ones, and stream the
answer back chunk by chunk.

    python bench/bare_proxy.py --port 9002 --upstream http://127.0.0.1:9001
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import uvloop
from aiohttp import ClientSession, TCPConnector, web
from multidict import CIMultiDict, CIMultiDictProxy

# RFC 9110 §7.6.1 connection-specific fields, plus the framing each side recomputes.
DROP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
SESSION = web.AppKey("session", ClientSession)
UPSTREAM = web.AppKey("upstream", str)


def forwardable(headers: CIMultiDictProxy[str], *, keep_length: bool) -> CIMultiDict[str]:
    """`headers` less hop-by-hop fields (and Content-Length unless `keep_length`)."""
    drop = DROP if keep_length else DROP | {"content-length"}
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


async def forward(request: web.Request) -> web.StreamResponse:
    """Relay one request to the upstream and its answer back, unchanged."""
    body = await request.read()
    url = request.app[UPSTREAM] + request.path_qs
    headers = forwardable(request.headers, keep_length=False)
    async with request.app[SESSION].request(
        request.method, url, data=body, headers=headers
    ) as upstream:
        # The body is relayed undecoded, so the upstream's Content-Length still holds.
        response = web.StreamResponse(
            status=upstream.status, headers=forwardable(upstream.headers, keep_length=True)
        )
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client left; nothing is left to answer
        return response


def create_app(upstream: str) -> web.Application:
    """The passthrough application for `upstream` (a base URL without a trailing slash)."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[UPSTREAM] = upstream.rstrip("/")

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = ClientSession(connector=TCPConnector(limit=0), auto_decompress=False)
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:9001")
    args = parser.parse_args()
    web.run_app(
        create_app(args.upstream),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
