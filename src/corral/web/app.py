"""`create_app(store, settings)`: the dashboard as an ASGI app, and `serve` for `corral serve`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from corral.store import Store, StoreError
from corral.web import api, pages
from corral.web.data import NotFoundError
from corral.web.security import WriteRefused
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
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.get("/docs", include_in_schema=False)(_api_docs)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(WriteRefused, _refused)
    app.add_exception_handler(StoreError, _conflict)
    app.middleware("http")(_security_headers)
    return app


async def _api_docs() -> Response:
    """The API's OpenAPI description in Swagger UI, with no network needed."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="corral dashboard API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon.png",
    )


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
    response: Response = await call_next(request)  # type: ignore[operator]
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def serve(store_url: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the dashboard until interrupted (uvicorn, one process)."""
    import uvicorn

    store = Store.open(store_url)
    try:
        uvicorn.run(create_app(store), host=host, port=port, log_level="info")
    finally:
        store.close()
