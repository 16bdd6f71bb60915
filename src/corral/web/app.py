"""`create_app(store, settings)`: the dashboard as an ASGI app, and `serve` for `corral serve`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from corral.store import Store, StoreError
from corral.web import api, evals, pages
from corral.web.data import NotFoundError
from corral.web.security import CONTENT_SECURITY_POLICY, WriteRefused, host_allowed, host_name
from corral.web.settings import DashboardSettings

STATIC = Path(__file__).parent / "static"


def create_app(store: Store, settings: DashboardSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="corral dashboard",
        summary="Campaigns, jobs and agent sessions recorded by corral.",
        version="1",
        docs_url=None,  # served below from vendored assets: FastAPI's default needs a CDN
    )
    app.state.store = store
    app.state.settings = settings or DashboardSettings.from_env()
    app.include_router(api.router)
    app.include_router(evals.api)
    app.include_router(pages.router)
    app.include_router(evals.pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.get("/docs", include_in_schema=False)(_api_docs)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(WriteRefused, _refused)
    app.add_exception_handler(StoreError, _conflict)
    app.middleware("http")(_security_headers)
    return app


async def _api_docs() -> Response:
    """The API's OpenAPI description in Swagger UI, with no network needed. Its one inline
    script (which starts Swagger UI) runs by a nonce, so the policy stays strict."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="corral dashboard API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon.png",
    )
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    policy = CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", f"script-src 'self' 'nonce-{nonce}'"
    ).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


async def _not_found(request: Request, exc: Exception) -> Response:
    return _problem(request, 404, str(exc))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WriteRefused)
    return _problem(request, exc.status, exc.message)


async def _conflict(request: Request, exc: Exception) -> Response:
    return _problem(request, 409, str(exc))


def _problem(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    return pages.templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "user": None, "writable": False},
        status_code=status,
    )


async def _security_headers(request: Request, call_next: object) -> Response:
    settings: DashboardSettings = request.app.state.settings
    if not host_allowed(request.headers.get("host"), settings.hosts()):
        name = host_name(request.headers.get("host"))
        return PlainTextResponse(
            f"refused: this dashboard does not answer to the host name {name!r} "
            "(add it with --allowed-host or CORRAL_DASHBOARD_HOSTS)",
            status_code=421,
        )
    response: Response = await call_next(request)  # type: ignore[operator]
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def serve(
    store_url: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    allowed_hosts: Sequence[str] = (),
) -> None:
    """Run the dashboard until interrupted (uvicorn, one process). `allowed_hosts` adds
    host names to the settings' (localhost names and $CORRAL_DASHBOARD_HOSTS)."""
    import uvicorn

    settings = DashboardSettings.from_env()
    settings.allowed_hosts.extend(allowed_hosts)
    store = Store.open(store_url)
    try:
        uvicorn.run(create_app(store, settings), host=host, port=port, log_level="info")
    finally:
        store.close()
