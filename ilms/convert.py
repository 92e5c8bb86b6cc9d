"""``ilms convert``: any SDMX data format to any other, streaming."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import click

from exchange.services.convert import convert as run_convert
from exchange.services.convert import output_format, resolver_for
from exchange.services.structures import load_catalog, store_from_file


def _progress() -> Callable[[int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(count: int) -> None:
        click.echo(f"\r{count:,} observations", err=True, nl=False)

    return show


@click.command()
@click.argument("input_path", metavar="INPUT")
@click.argument("output_path", metavar="OUTPUT")
@click.option("--to", "to", default=None, help="Output format (sdmx-csv-1.0, genericdata, json…).")
@click.option(
    "--from", "from_", default=None, help="Input format, if sniffing the content is not enough."
)
@click.option(
    "--structure",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Structure message (SDMX-ML or SDMX-JSON) for another agency's data.",
)
@click.option("--dataflow", default=None, help="Dataflow or DSD when the message names none.")
def convert(
    input_path: str,
    output_path: str,
    to: str | None,
    from_: str | None,
    structure: Path | None,
    dataflow: str | None,
) -> None:
    """Convert INPUT to OUTPUT (`-` for stdin/stdout); gzip and zip inputs are opened."""
    store = store_from_file(structure) if structure else load_catalog()
    target = output_format(None if output_path == "-" else output_path, to)
    with ExitStack() as stack:
        source: BinaryIO = (
            sys.stdin.buffer
            if input_path == "-"
            else stack.enter_context(Path(input_path).open("rb"))
        )
        out: BinaryIO = (
            sys.stdout.buffer
            if output_path == "-"
            else stack.enter_context(Path(output_path).open("wb"))
        )
        result = run_convert(
            source,
            input_path,
            out,
            target,
            resolver_for(store, dataflow),
            from_format=from_,
            progress=_progress(),
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if sys.stderr.isatty():
        click.echo(
            f"\r{result.observations:,} observations: {result.input_format} → "
            f"{result.output_format}",
            err=True,
        )
