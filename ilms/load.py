"""``ilms load``: validate data files and store the valid ones.

The store never holds invalid data: each file is validated first, in full, with the same checks
as ``ilms validate``; only if it is valid is it read again and written, in one transaction (a
file is stored whole or not at all). Exit codes: 0 every file loaded, 1 some file was not valid
(nothing of it was loaded; the others were), 2 could not run (usage, unreadable file, unknown
``--dataflow``, unreachable database).

The database is ``--database``, else ``$ILMS_DATABASE_URL``, else ``sqlite:///ilms.db`` (a file
in the working directory). Its tables are created or upgraded first.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import click

from exchange.errors import InvalidRequest
from exchange.model.store import StructureStore
from exchange.services.convert import open_data, resolver_for
from exchange.services.stored_lookup import stored_lookup
from exchange.services.structures import load_store
from exchange.services.validate import validate_file
from exchange.storage import DataStore

DEFAULT_DATABASE = "sqlite:///ilms.db"


def _readable(path: str, stack: ExitStack) -> Path:
    """The file's path; stdin is first copied to a temporary file, as it is read twice."""
    if path == "-":
        spool = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "stdin"
        with spool.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        return spool
    return Path(path)


def _open(path: Path, name: str, stack: ExitStack) -> BinaryIO:
    try:
        return stack.enter_context(path.open("rb"))
    except OSError as exc:
        raise InvalidRequest(f"cannot open the file: {exc.strerror}", where=name) from None


def load_one(path: str, structures: StructureStore, data: DataStore, dataflow: str | None) -> bool:
    """Validate then store one file; whether it was valid (and so stored)."""
    name = "<stdin>" if path == "-" else path
    with ExitStack() as stack:
        readable = _readable(path, stack)
        report = validate_file(
            _open(readable, name, stack),
            name,
            structures,
            dataflow=dataflow,
            stored=stored_lookup(data, readable.stat().st_size),  # the tables already loaded
        )
        if not report.valid:
            click.echo(f"{name}: {report.verdict()}; nothing loaded (see `ilms validate`)")
            return False
        source = _open(readable, name, stack)
        _, stream = open_data(source, name, resolver_for(structures, dataflow))
        counts = data.apply(stream.info.schema, stream.info.action, stream.observations)
    click.echo(
        f"{name}: {stream.info.schema.dataflow} {stream.info.action.value}:"
        f" {counts.added} added, {counts.replaced} replaced, {counts.deleted} deleted,"
        f" {counts.unchanged} unchanged"
    )
    return True


@click.command()
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option(
    "--database",
    envvar="ILMS_DATABASE_URL",
    default=DEFAULT_DATABASE,
    show_default=True,
    help="SQLAlchemy URL of the store (env ILMS_DATABASE_URL).",
)
@click.option("--dataflow", default=None, help="Dataflow of files that do not name one.")
def load(files: tuple[str, ...], database: str, dataflow: str | None) -> None:
    """Validate each FILE and store the valid ones (SDMX-ML, SDMX-CSV, SDMX-JSON, xlsx)."""
    structures = load_store()
    if dataflow is not None:
        structures.schema_for(dataflow)  # NotFound (exit 2) before touching anything
    for path in files:  # a usage error must not leave an empty database behind
        if path != "-" and not Path(path).is_file():
            raise InvalidRequest("cannot open the file: No such file", where=path)
    data = DataStore(database)
    try:
        data.migrate()
        results = [load_one(path, structures, data, dataflow) for path in files]
    finally:
        data.close()
    sys.exit(0 if all(results) else 1)
