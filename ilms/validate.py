"""``ilms validate``: check a data file and say what is wrong and where.

Exit codes: 0 valid (warnings allowed), 1 not valid (the report lists the errors), 2 could not
run: a usage error, a file that cannot be opened, a dataflow given with ``--dataflow`` that does
not exist, or an input beyond the size limit (see :mod:`exchange.services.validate`).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import click

from exchange.errors import InvalidRequest
from exchange.services.structures import load_catalog, store_from_file
from exchange.services.validate import validate_file


@click.command()
@click.argument("input_path", metavar="FILE")
@click.option("--dataflow", default=None, help="Dataflow to validate against, if not in the file.")
@click.option(
    "--structure",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Structure message (SDMX-ML) for another agency's data.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="How to print the report.",
)
@click.option(
    "--max-issues",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Issues listed per code (the others are counted).",
)
@click.option("--reporter", default=None, help="Reporting country (REF_AREA), e.g. PHL.")
def validate(
    input_path: str,
    dataflow: str | None,
    structure: Path | None,
    output: str,
    max_issues: int,
    reporter: str | None,
) -> None:
    """Validate FILE (`-` for stdin): SDMX-ML, SDMX-CSV, SDMX-JSON or xlsx, gzip/zip too."""
    store = store_from_file(structure) if structure else load_catalog()
    with ExitStack() as stack:
        if input_path == "-":
            source: BinaryIO = sys.stdin.buffer
        else:
            try:
                source = stack.enter_context(Path(input_path).open("rb"))
            except OSError as exc:
                raise InvalidRequest(
                    f"cannot open the file: {exc.strerror}", where=input_path
                ) from None
        report = validate_file(
            source,
            "<stdin>" if input_path == "-" else input_path,
            store,
            dataflow=dataflow,
            max_issues=max_issues,
            reporter=reporter,
        )
    if output == "json":
        click.echo(report.to_json())
    elif output == "html":
        click.echo(report.to_html(), nl=False)
    else:
        click.echo(report.to_text(), nl=False)
    sys.exit(0 if report.valid else 1)
