"""The reviewer's page, `GET /admin/ui`: static files shipped in the package.

The page holds no data, so it is served without the admin token; it asks the reviewer for
the token and the tenant, and every call it makes to the admin API carries them. The token
lives in the tab's sessionStorage, never in a URL. A strict Content-Security-Policy lets the
page load only its own files and talk only to this gateway.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.admin import error_response

STATIC = Path(__file__).parent / "admin_static"
# The gateway drops trailing slashes before routing (see `routing`), so the page is
# `/admin/ui` whichever way it is typed, and it names its files and the API by absolute path.
PAGE = "/admin/ui"
# The only files served, with their types: nothing else under /admin/ui is a file.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "review.css": "text/css; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
}
# Filled into the page so it can say the admin API is off before asking for a token.
STATE_MARK = 'data-admin-api="on"'
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Short-lived and revalidated: a new gateway version's page is seen at once.
    "Cache-Control": "no-cache",
}


def _read(name: str, api_on: bool) -> bytes:
    """A page file as served; the HTML says whether the admin API is on."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if name == "index.html" and not api_on:
        text = text.replace(STATE_MARK, 'data-admin-api="off"')
    return text.encode()


def add_page_routes(router: web.UrlDispatcher, *, api_on: bool) -> None:
    """Serve the page at `/admin/ui`; add before the `/admin` catch-all claims it."""
    served = {name: _read(name, api_on) for name in FILES}

    async def page_file(request: web.Request) -> web.StreamResponse:
        """One of the page's files (the HTML for the folder itself); 404 for any other."""
        name = request.match_info.get("name") or "index.html"
        if name not in served:
            return error_response(404, "not_found", f"no page file {name}")
        return web.Response(body=served[name], headers={"Content-Type": FILES[name], **HEADERS})

    router.add_get(PAGE, page_file)
    router.add_get(PAGE + "/{name}", page_file)
