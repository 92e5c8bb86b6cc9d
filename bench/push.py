"""Benchmark of data pushes over real HTTP: a 1M-observation file pushed, end to end.

Not a test: it prints one run's measurements as a table and asserts nothing. ``--size`` valid
ILMS observations (``bench.ilms_data``) are written as SDMX-CSV 1.0 and as SDMX-ML 2.1
structure-specific. For each format and each mode (``sync``: the answer waits for the result;
``async``: 202 at once, then ``/submissions/{id}`` is polled), the real service (``ilms serve``,
uvicorn) is started on a free loopback port over an empty store, an admin token is created, and
the file is pushed twice:

- ``POST`` (merge) into the empty store: a first load;
- ``PUT`` (replace) of the same file into the now full store: every observation is looked up.

Each push prints its wall time (request sent → final answer), obs/s, the split *upload* (until
the log's ``receivedAt``) / *work* (validating and storing, one pass, until ``finishedAt``),
the server's CPU seconds (user + system, all threads, from ``/proc/PID/stat``), and the server's
peak RSS during that push (``VmHWM``, reset before each push through ``/proc/PID/clear_refs``).
On a shared machine the CPU column is the steadier one: wall time also counts waiting for a
core.

Usage::

    .venv/bin/python bench/push.py                          # 1M, SQLite in a temp folder
    .venv/bin/python bench/push.py --size 100000 --formats csv --modes sync
    .venv/bin/python bench/push.py --database postgresql+psycopg://ilms@127.0.0.1:54329/bench

With ``--database``, the store's tables are dropped before each server starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.ilms_data import DATAFLOW, observations  # noqa: E402
from bench.rest import server, vm_hwm_mb  # noqa: E402
from exchange.formats import registry  # noqa: E402
from exchange.model.records import MessageInfo  # noqa: E402
from exchange.services.structures import load_catalog  # noqa: E402
from exchange.storage import DataStore  # noqa: E402
from exchange.storage.tables import metadata  # noqa: E402

#: short name → (format name, file suffix, media type)
FORMATS = {
    "csv": ("sdmx-csv-1.0", ".csv", "application/vnd.sdmx.data+csv;version=1.0.0"),
    "ml": (
        "sdmx-ml-2.1-structurespecific",
        ".xml",
        "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
    ),
}
TIMEOUT = httpx.Timeout(30.0, read=600.0)
POLL_SECONDS = 0.25


@dataclass
class Result:
    label: str
    observations: int = 0
    wall: float = 0.0
    upload: float | None = None
    work: float | None = None
    rss_mb: float = 0.0
    cpu: float = 0.0
    status: str = ""


def write_file(fmt: str, n: int, folder: Path) -> Path:
    name, suffix, _ = FORMATS[fmt]
    path = folder / f"push-{n}{suffix}"
    if not path.exists():
        info = MessageInfo(schema=load_catalog().schema_for(DATAFLOW))
        with open(path, "wb") as out:
            registry.by_name(name).writer(info, observations(n), out)
    return path


def fresh_store(url: str) -> str:
    """An empty, migrated store at ``url`` and an admin token for it."""
    store = DataStore(url)
    try:
        metadata.drop_all(store.engine)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS schema_version")
        store.migrate()
        _, secret = store.tokens.create(None, admin=True, label="bench/push.py")
        return secret
    finally:
        store.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stamp(text: str | None) -> float | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def body(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(1024 * 1024):
            yield chunk


def push(
    client: httpx.Client, pid: int, path: Path, fmt: str, method: str, asynchronous: bool
) -> dict[str, Any]:
    """One push, timed and split; returns the final submission plus the measurements."""
    digest = hashlib.sha256()
    for chunk in body(path):
        digest.update(chunk)
    sha256 = digest.hexdigest()
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM from here on
    headers = {
        "Content-Type": FORMATS[fmt][2],
        "Content-Disposition": f"attachment; filename={path.name}",
    }
    params = {"async": "true"} if asynchronous else {}
    start, cpu = time.time(), cpu_seconds(pid)
    answer = client.request(
        method, f"/rest/data/{DATAFLOW}", content=body(path), headers=headers, params=params
    )
    sub = answer.json()
    if asynchronous:
        while sub["status"] in ("queued", "running"):
            time.sleep(POLL_SECONDS)
            sub = client.get(f"/submissions/{sub['id']}").json()
    end, cpu_end = time.time(), cpu_seconds(pid)
    assert sub["file"]["sha256"] == sha256, "the server received another file"
    return {"cpu": cpu_end - cpu, "sub": sub, "start": start, "end": end, "rss": vm_hwm_mb(pid)}


def measure(label: str, run: dict[str, Any]) -> Result:
    sub, start, end = run["sub"], run["start"], run["end"]
    received, finished = _stamp(sub["receivedAt"]), _stamp(sub["finishedAt"])
    result = Result(label, sub["progress"]["observations"], end - start, rss_mb=run["rss"])
    result.status = f"{sub['status']} {sub['counts'] or ''}"
    result.cpu = run["cpu"]
    if received is not None:
        result.upload = received - start
        if finished is not None:
            result.work = finished - received
    return result


def print_table(results: list[Result]) -> None:
    def s(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    head = f"{'push':<36} {'obs':>10} {'wall s':>7} {'obs/s':>9} {'upload':>7} {'work':>6}"
    print(head + f" {'CPU s':>6} {'peak RSS':>9}  result")
    for r in results:
        rate = f"{r.observations / r.wall:,.0f}" if r.wall else ""
        print(
            f"{r.label:<36} {r.observations:>10,} {r.wall:>7.1f} {rate:>9} {s(r.upload):>7}"
            f" {s(r.work):>6} {r.cpu:>6.1f} {r.rss_mb:>6.0f} MB  {r.status}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite, temp)")
    parser.add_argument("--formats", default="csv,ml", help="csv, ml or both")
    parser.add_argument("--modes", default="sync,async", help="sync, async or both")
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / "ilms-bench-push"
    folder.mkdir(exist_ok=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            path = write_file(fmt, args.size, folder)
            print(f"{fmt}: {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
            for mode in args.modes.split(","):
                url = args.database or f"sqlite:///{tmp}/{fmt}-{mode}.db"
                token = fresh_store(url)
                log = Path(tmp) / f"{fmt}-{mode}.server.log"
                with (
                    server(url, log) as (base, pid),
                    httpx.Client(base_url=base, timeout=TIMEOUT) as client,
                ):
                    client.headers["Authorization"] = f"Bearer {token}"
                    for method, what in (("POST", "first load"), ("PUT", "replace, full store")):
                        run = push(client, pid, path, fmt, method, mode == "async")
                        results.append(measure(f"{fmt} {mode} {method} ({what})", run))
                        print_table(results[-1:])
    print()
    print_table(results)


if __name__ == "__main__":
    main()
