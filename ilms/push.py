"""``ilms push``: send a data file to an ILMS Exchange service and print what it made of it.

The file goes as it is (compressed or not) to ``{URL}/rest/data/{dataflow}``: ``POST`` to merge,
``PUT`` to replace, ``DELETE`` to delete (``docs/push-client.md``). The service validates it with
the same checks as ``ilms validate`` and stores it only if it is valid; this command prints the
service's report the way ``ilms validate`` prints its own, then one line with the outcome.

Exit codes, as ``ilms validate``: 0 stored, valid (``--dry-run``) or a duplicate of a file already
submitted (nothing to do); 1 rejected: the data is not valid and nothing was stored; 2 could not
run: usage, an unreadable file, no dataflow, the network, a refused token (401/403), a file too
large (413), or a failure of the service.

Files over 50 MB are sent asynchronously unless ``--wait`` is given: the service answers at once
with a submission id and the command follows the submission, showing progress on stderr, so an
hour-long validation is not bound to one HTTP request surviving every proxy on the way.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import click
from pydantic import ValidationError

from exchange.client import PushAction, PushClient, Submission, Upload
from exchange.client.push import service_root, shown_url
from exchange.errors import IlmsError, InvalidRequest, MalformedData, NotFound
from exchange.formats import registry
from exchange.formats.compression import GZIP_MAGIC, ZIP_MAGIC
from exchange.model.catalog import SchemaSource
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Schema
from exchange.report import Report
from exchange.services.convert import SNIFF_BYTES, detect_format, open_data
from exchange.services.structures import load_catalog

ASYNC_ABOVE = 50_000_000
EXIT_CODES = {"stored": 0, "valid": 0, "duplicate": 0, "rejected": 1}
#: Answers that mean "could not run" whatever the submission says (a 403 rejected submission:
#: rows of another country, which no correction of the data by this provider can fix).
REFUSED = frozenset({401, 403, 413})
#: How the command waits; tests replace it so back-off and polling cost no time.
SLEEP: Callable[[float], None] = time.sleep


def media_type(path: Path) -> tuple[str, str | None]:
    """Content-Type and Content-Encoding of the file as sent: a .gz goes as gzip of its inner type.

    The content decides (sniffing, as ``ilms validate`` does), then the extension; a file no
    format recognises goes as ``application/octet-stream`` and the service says what it thinks.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    name, encoding = path.name, None
    if head.startswith(GZIP_MAGIC):
        name, encoding = path.name.removesuffix(".gz").removesuffix(".GZ"), "gzip"
        try:
            with gzip.open(path, "rb") as inner:
                head = inner.read(SNIFF_BYTES)
        except (OSError, EOFError, zlib.error):
            head = b""
    elif head.startswith(ZIP_MAGIC):
        return _zip_type(path), None
    try:
        return detect_format(head, name).media_type, encoding
    except MalformedData:
        return "application/octet-stream", encoding


def _zip_type(path: Path) -> str:
    """An .xlsx is a zip too: the Excel media type for a workbook, ``application/zip`` else."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "[Content_Types].xml" in archive.namelist():
                return registry.by_name("excel").media_type
    except zipfile.BadZipFile:
        pass
    return "application/zip"


class _Named(Exception):
    """Raised from the resolver to stop reading: the header named what we wanted to know."""

    def __init__(self, reference: str | None) -> None:
        super().__init__(reference)
        self.reference = reference


def dataflow_named_in(path: Path, catalog: SchemaSource | None = None) -> str:
    """The flowRef (``ILO,DF_X,1.0``) of the dataflow the file's header names.

    Reading stops at the header: the resolver is called before the first observation and raises.
    The local catalogue normalises the reference (``X`` → ``DF_X``, URNs); a dataflow it does not
    know yet is sent as named, since the service's catalogue is the one that decides.
    """

    def resolve(reference: str | None) -> Schema:
        raise _Named(reference)

    try:
        with path.open("rb") as source:
            open_data(source, path.name, resolve)
    except _Named as named:
        reference = named.reference
    except IlmsError as exc:
        raise InvalidRequest(
            f"cannot tell which dataflow the file is for ({exc}): say it with --dataflow",
            where=str(path),
        ) from None
    else:  # pragma: no cover - every reader resolves before its first observation
        reference = None
    if not reference:
        raise InvalidRequest(
            "the file names no dataflow: say which with --dataflow", where=str(path)
        )
    return _flow_ref(catalog or load_catalog(), reference, path)


def _flow_ref(catalog: SchemaSource, reference: str, path: Path) -> str:
    try:
        ref = catalog.schema_for(reference).dataflow
    except (NotFound, InvalidRequest):
        ref = None
    if ref is None:
        urn_class = reference.rpartition("=")[0].rpartition(".")[2]
        if urn_class and urn_class != "Dataflow":
            raise InvalidRequest(
                f"the file names the {urn_class} {reference}, not a dataflow: say which with"
                " --dataflow",
                where=str(path),
            )
        ref = ArtefactRef.parse(Kind.DATAFLOW, reference.rpartition("=")[2])
    return f"{ref.agency},{ref.id},{ref.version}"


def _megabytes(count: int) -> str:
    if count < 1_000_000:
        return f"{count / 1000:,.0f} kB"
    return f"{count / 1_000_000:,.1f} MB"


class Display:
    """Progress on stderr: one updating line on a terminal, otherwise a line now and then.

    In a log (stderr not a terminal) a line is written when the status changes and at most
    every ``every`` seconds otherwise, so a night-long submission does not fill the log.
    """

    def __init__(self, *, every: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.tty = sys.stderr.isatty()
        self.every = every
        self.clock = clock
        self.last: tuple[str, float] | None = None
        self.submission_id: str | None = None
        self.dirty = False

    def upload(self, sent: int, total: int) -> None:
        if self.tty:
            self._show("upload", f"uploading: {_megabytes(sent)} of {_megabytes(total)}")

    def submission(self, submission: Submission) -> None:
        self.submission_id = submission.id
        if submission.final:
            return
        progress = submission.progress
        text = f"submission {submission.id}: {submission.status}"
        text += f", {progress.observations:,} observations read"
        if progress.total_bytes:
            text += f" ({_megabytes(progress.bytes)} of {_megabytes(progress.total_bytes)})"
        self._show(submission.status, text)

    def retrying(self, reason: str, seconds: float) -> None:
        """Say why the command waits before trying again: silence would look like a hang."""
        self.close()
        click.echo(f"{reason}; trying again in {seconds:g} s", err=True)

    def _show(self, phase: str, text: str) -> None:
        now = self.clock()
        if self.tty:
            click.echo(f"\r{text}\x1b[K", nl=False, err=True)
            self.dirty = True
        elif self.last is None or self.last[0] != phase or now - self.last[1] >= self.every:
            click.echo(text, err=True)
            self.last = (phase, now)

    def close(self) -> None:
        if self.dirty:
            click.echo(err=True)
            self.dirty = False


def summary(submission: Submission) -> str:
    """The one line after the report: what happened to the store."""
    flow = submission.dataflow or "the dataflow"
    tag = f"(submission {submission.id})"
    counts = submission.counts
    figures = (
        f"{counts.added} added, {counts.replaced} replaced, {counts.deleted} deleted,"
        f" {counts.unchanged} unchanged"
        if counts
        else ""
    )
    note = f": {submission.message}" if submission.message else ""
    lines = {
        "stored": f"stored in {flow} ({submission.action or 'merge'}): {figures} {tag}",
        "valid": f"dry run: valid, nothing stored{f' (would be: {figures})' if counts else ''}"
        f" {tag}",
        "duplicate": f"duplicate of submission {submission.duplicate_of or '?'}: nothing changed"
        f" {tag}{note}",
        "rejected": f"rejected: nothing stored {tag}{note}",
    }
    if submission.http_status in REFUSED:
        return f"refused (HTTP {submission.http_status}) {tag}{note}"
    return lines.get(submission.status, f"{submission.status} {tag}{note}")


def show_result(submission: Submission, output: str) -> int:
    """Print the report and the outcome line (or the service's JSON); the exit code."""
    if output == "json":
        click.echo(json.dumps(submission.raw, indent=2, ensure_ascii=False))
    else:
        if submission.report is not None:
            try:
                click.echo(Report.model_validate(submission.report).to_text(), nl=False)
            except ValidationError:
                click.echo("(the service sent a report this version cannot read)", err=True)
        click.echo(summary(submission), err=exit_code(submission) == 2)
    return exit_code(submission)


def exit_code(submission: Submission) -> int:
    """0 stored, valid or duplicate; 1 rejected; 2 refused (401/403/413), failed, or unknown."""
    if submission.http_status in REFUSED or submission.http_status >= 500:
        return 2
    return EXIT_CODES.get(submission.status, 2)


def _upload(
    file: Path, dataflow: str | None, action: str, dry_run: bool, asynchronous: bool | None
) -> Upload:
    content_type, encoding = media_type(file)
    return Upload(
        path=file,
        dataflow=dataflow or dataflow_named_in(file),
        content_type=content_type,
        content_encoding=encoding,
        action=PushAction(action),
        dry_run=dry_run,
        asynchronous=file.stat().st_size > ASYNC_ABOVE if asynchronous is None else asynchronous,
    )


@click.command()
@click.argument("url")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dataflow", default=None, help="Dataflow (ID or AGENCY,ID,VERSION); default: the file's."
)
@click.option(
    "--token",
    envvar="ILMS_TOKEN",
    default=None,
    help="API token of the data provider (default: $ILMS_TOKEN). Never printed.",
)
@click.option(
    "--action",
    type=click.Choice([a.value for a in PushAction]),
    default="merge",
    show_default=True,
    help="merge (POST), replace (PUT) or delete (DELETE) the observations of the file.",
)
@click.option("--dry-run", is_flag=True, help="Validate on the service only; store nothing.")
@click.option(
    "--async/--wait",
    "asynchronous",
    default=None,
    help="Let the service answer at once and follow the submission (default: async over 50 MB).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print the report as text or the service's JSON answer.",
)
def push(
    url: str,
    file: Path,
    dataflow: str | None,
    token: str | None,
    action: str,
    dry_run: bool,
    asynchronous: bool | None,
    output: str,
) -> None:
    """Push FILE (any SDMX format, xlsx, gzip/zip) to the ILMS service at URL."""
    display = Display()
    try:
        upload = _upload(file, dataflow, action, dry_run, asynchronous)
        with PushClient(url, token, sleep=SLEEP, on_retry=display.retrying) as client:
            submission = client.push(
                upload, on_upload=display.upload, on_progress=display.submission
            )
    except IlmsError as exc:  # here, not only in main(): the message never holds the token
        display.close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        display.close()
        click.echo(f"error: {file}: cannot read the file: {exc.strerror}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        display.close()
        if display.submission_id:
            root = shown_url(service_root(url))
            click.echo(f"still running: {root}/submissions/{display.submission_id}", err=True)
        raise click.Abort() from None
    display.close()
    sys.exit(show_result(submission, output))
