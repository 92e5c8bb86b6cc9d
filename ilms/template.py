"""``ilms template``: the Excel workbook an NSO focal point fills for one table."""

from __future__ import annotations

import re
from pathlib import Path

import click

from exchange.services.structures import load_store
from exchange.services.template import write_template


def _years(text: str | None) -> range | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{4})", text.strip())
    if not match or int(match[1]) > int(match[2]):
        raise click.BadParameter(
            f"{text!r}: expected FIRST-LAST, e.g. 2015-2025", param_hint="--years"
        )
    return range(int(match[1]), int(match[2]) + 1)


@click.command()
@click.argument("dataflow")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Workbook to write (default: DATAFLOW.xlsx here).",
)
@click.option("--country", default=None, help="Reporting country (CL_AREA code) to prefill.")
@click.option(
    "--years", default=None, help="Year columns, FIRST-LAST (default: 2015 to this year)."
)
@click.option("--lang", default="en", show_default=True, type=click.Choice(["en", "fr", "es"]))
def template(
    dataflow: str, output: Path | None, country: str | None, years: str | None, lang: str
) -> None:
    """Write the Excel workbook for DATAFLOW: one row per series, years across, code dropdowns."""
    store = load_store()
    schema = store.schema(dataflow)
    target = output or Path(f"{schema.dataflow.id if schema.dataflow else dataflow}.xlsx")
    with target.open("wb") as out:
        write_template(store, dataflow, out, years=_years(years), lang=lang, country=country)
    click.echo(f"wrote {target}")
