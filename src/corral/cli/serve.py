"""`corral serve`: the web dashboard and its JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from corral.cli.app import StoreOpt, app, run_body
from corral.cli.exit_codes import ExitCode


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (other machines: 0.0.0.0).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A host name the dashboard answers to besides localhost (repeatable; "
            "also $CORRAL_DASHBOARD_HOSTS). Other Host headers are refused.",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """The web dashboard and its JSON API (/api); writes need CORRAL_DASHBOARD_TOKEN."""

    def body() -> int:
        from corral.store import default_store_url
        from corral.web.app import serve as serve_dashboard

        serve_dashboard(
            store or default_store_url(), host=host, port=port, allowed_hosts=allowed_host or []
        )
        return ExitCode.OK

    run_body(body)
