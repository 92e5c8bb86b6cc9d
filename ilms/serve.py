"""``ilms serve``: run the web service with uvicorn."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--database",
    default=None,
    help="Database URL (default: $ILMS_DATABASE_URL or sqlite:///ilms.db).",
)
def serve(host: str, port: int, database: str | None) -> None:
    """Start the SDMX-REST web service."""
    import uvicorn  # noqa: PLC0415 - only this command needs it

    from server.app import create_app, freeze_startup_objects  # noqa: PLC0415
    from server.settings import Settings  # noqa: PLC0415

    settings = Settings() if database is None else Settings(database_url=database)
    app = create_app(settings)
    freeze_startup_objects()
    uvicorn.run(app, host=host, port=port, log_level="info")
