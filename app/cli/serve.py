"""`sweep serve`: the enforcement workspace (pages and /api/v1) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="address to listen on (behind a proxy: keep 127.0.0.1)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8300,
    workers: Annotated[int, typer.Option(help="worker processes; they share all state through the stores")] = 1,
    trusted_proxy: Annotated[
        str | None,
        typer.Option(
            help="address of the TLS reverse proxy in front (e.g. 127.0.0.1): its X-Forwarded-For/-Proto are "
            "believed, so the audit records the client's address and cookies are marked Secure"
        ),
    ] = None,
) -> None:
    """Serve the workspace. Create accounts first with `sweep users add`."""
    import uvicorn

    proxy = {"proxy_headers": bool(trusted_proxy), "forwarded_allow_ips": trusted_proxy or ""}
    if workers > 1:
        uvicorn.run("app.web:create_app", factory=True, host=host, port=port, workers=workers, **proxy)
    else:
        from app.web import create_app

        uvicorn.run(create_app(), host=host, port=port, **proxy)
