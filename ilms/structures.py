"""``ilms structures …``: list, show, export, generate, check and import the SDMX structures."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from exchange.errors import InvalidStructure
from exchange.model.ilms import ilo_artefacts_used, read_tables
from exchange.model.schema import Schema
from exchange.services import generate_structures, ilo_import
from exchange.services.structures import dataflow_xsd, default_root, export_message, load_store

ROOT_OPTION = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder holding dsd/ and codelists/ (default: this installation).",
)


@click.group()
def structures() -> None:
    """The ILMS SDMX structures: DSDs, dataflows, codelists."""


@structures.command("list")
@ROOT_OPTION
def list_(root: Path | None) -> None:
    """List the dataflows by module, with their titles."""
    store = load_store(root)
    by_module: dict[str, list[tuple[str, str]]] = {}
    for flow in store.dataflows():
        module = store.module_of.get(flow.id, "OTHER")
        by_module.setdefault(module, []).append((flow.id, str(flow.name)))
    for module in sorted(by_module):
        click.echo(f"{module} ({len(by_module[module])})")
        for ident, title in by_module[module]:
            click.echo(f"  {ident:<32} {title}")


def _describe(schema: Schema, max_codes: int) -> list[str]:
    lines = [f"{schema.dataflow}: {schema.name}", f"structure {schema.dsd}", "", "dimensions:"]
    for n, dim in enumerate((*schema.dimensions, *filter(None, [schema.time_dimension])), 1):
        lines.append(f"  {n}. {dim.id:<14} {dim.codelist or dim.text_type or ''}")
        if dim.codes is not None:
            codes = sorted(dim.codes)
            more = f" … and {len(codes) - max_codes} more" if len(codes) > max_codes else ""
            lines.append(f"       {len(codes)} allowed: {' '.join(codes[:max_codes])}{more}")
    lines += ["", f"measure: {schema.measure.id} ({schema.measure.text_type})", "", "attributes:"]
    for attr in schema.attributes:
        where = attr.attachment.value if attr.attachment else "?"
        if attr.related_dimensions:
            where += f" ({', '.join(attr.related_dimensions)})"
        status = "mandatory" if attr.required else "conditional"
        lines.append(
            f"  {attr.id:<18} {status:<11} {where:<40} {attr.codelist or attr.text_type or ''}"
        )
    if schema.units:
        lines += ["", "units: " + ", ".join(f"{k}={v}" for k, v in schema.units.items())]
    return lines


@structures.command()
@click.argument("dataflow")
@click.option("--max-codes", default=20, show_default=True, help="Codes shown per dimension.")
@ROOT_OPTION
def show(dataflow: str, max_codes: int, root: Path | None) -> None:
    """Show a DATAFLOW (DF_X, X or ILO:DF_X(1.0)): dimensions, allowed codes, attributes."""
    click.echo("\n".join(_describe(load_store(root).schema(dataflow), max_codes)))


@structures.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sdmx-ml", "sdmx-json"]),
    default="sdmx-ml",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@ROOT_OPTION
def export(fmt: str, output: Path | None, root: Path | None) -> None:
    """Export every structure as one structure message."""
    if fmt == "sdmx-ml":
        body = export_message(root)
    else:
        from exchange.services.structure_json import export_json  # noqa: PLC0415

        body = export_json(load_store(root))
    if output is None:
        sys.stdout.buffer.write(body)
    else:
        output.write_bytes(body)


@structures.command()
@ROOT_OPTION
def generate(root: Path | None) -> None:
    """Regenerate dsd/ from dsd/ilms-*.csv and codelists/."""
    written, removed = generate_structures.generate(root or default_root())
    click.echo(f"{written} files written, {removed} removed")


@structures.command()
@ROOT_OPTION
def check(root: Path | None) -> None:
    """Fail if dsd/ is stale or a reference dangles."""
    base = root or default_root()
    problems = generate_structures.stale(base)
    if problems:
        raise InvalidStructure(
            "generated files are stale (run `ilms structures generate`): "
            + "; ".join(problems[:10])
        )
    store = load_store(base)
    click.echo(f"{len(store.refs)} artefacts, all references resolve, dsd/ is up to date")


@structures.command("import-ilo")
@click.argument("source")
@ROOT_OPTION
def import_ilo(source: str, root: Path | None) -> None:
    """Refresh codelists/ from an ILO structure message (FILE or URL), then regenerate dsd/."""
    base = root or default_root()
    wanted = ilo_artefacts_used(read_tables(base / "dsd/ilms-tables.csv"))
    existing = {p.name.split("+")[1] for p in (base / "codelists").glob("ILO+*.xml")}
    result = ilo_import.import_ilo(source, base / "codelists", wanted | existing)
    for path in result.written:
        click.echo(f"updated {path.name}")
    click.echo(
        f"{len(result.written)} updated, {len(result.unchanged)} unchanged, "
        f"{len(result.ignored)} not used by ILMS"
    )
    written, removed = generate_structures.generate(base)
    click.echo(f"dsd/: {written} files written, {removed} removed")


@structures.command()
@click.argument("dataflow")
@click.option(
    "--dimension-at-observation",
    default="TIME_PERIOD",
    show_default=True,
    help="TIME_PERIOD, AllDimensions or a dimension id.",
)
@click.option(
    "--schema-location",
    default=None,
    help="Folder (URL) of the official SDMX XSDs to import (default: the installed ones).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@ROOT_OPTION
def xsd(
    dataflow: str,
    dimension_at_observation: str,
    schema_location: str | None,
    output: Path | None,
    root: Path | None,
) -> None:
    """Write the DSD-specific XSD of DATAFLOW for structure-specific SDMX-ML 2.1 data."""
    body = dataflow_xsd(load_store(root), dataflow, dimension_at_observation, schema_location)
    if output is None:
        sys.stdout.buffer.write(body)
    else:
        output.write_bytes(body)
