"""Benchmark of the SDMX-REST service over real HTTP: latency, harvest rate, load, server RSS.

Not a test: it prints one run's measurements. ``--size`` ILMS observations (``bench.ilms_data``)
are loaded into a SQLite file (cached in the temp dir, one file per size; ``--reuse`` keeps it
between runs), the real service (``ilms serve``) is started as a separate process on a free
loopback port, and httpx measures, on 127.0.0.1 only:

- single-series, one-country and availability query latency (p50/p99, SDMX-CSV 1.0);
- full-dataflow harvest rate (obs/s) in SDMX-ML 2.1 generic, structure-specific, SDMX-CSV 1.0
  (and SDMX-CSV 1.0 gzipped), streamed and counted on the fly;
- throughput of a concurrent load generator (threads issuing random one-country and
  single-series queries for ``--duration`` seconds, bounded in count);
- the server's peak RSS (VmHWM of its pid) before and after the full harvests.

Latency and load requests go as httpx sends them by default (``Accept-Encoding: gzip``), the
harvests ask for ``identity`` except the row marked gzip. The server logs to a file next to the
database (``ilms-<size>.server.log``).

Usage::

    .venv/bin/python bench/rest.py                    # 1M observations
    .venv/bin/python bench/rest.py --size 100000 --duration 10 --reuse

The server is terminated at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.ilms_data import AREAS, DATAFLOW, PLACES, SEXES, observations  # noqa: E402
from bench.rss import peak_mb  # noqa: E402
from exchange.model.records import Action  # noqa: E402
from exchange.services.structures import load_catalog  # noqa: E402
from exchange.storage import DataStore  # noqa: E402

HOST = "127.0.0.1"
CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
SPECIFIC = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
COUNTRY = "PHL"
#: (label, Accept, Accept-Encoding, what to count: newlines or an XML marker)
HARVESTS = (
    ("harvest SDMX-ML 2.1 generic", GENERIC, "identity", b"<generic:Obs>"),
    ("harvest SDMX-ML 2.1 structure-specific", SPECIFIC, "identity", b"<Obs "),
    ("harvest SDMX-CSV 1.0", CSV, "identity", b"\n"),
    ("harvest SDMX-CSV 1.0 (gzip)", CSV, "gzip", b"\n"),
)
MAX_LOAD_REQUESTS = 100_000
TIMEOUT = httpx.Timeout(30.0, read=300.0)


# -- the database --------------------------------------------------------------------------------


def database(size: int, reuse: bool) -> tuple[str, float | None]:
    """The SQLite URL holding ``size`` observations and the load time (None when reused)."""
    folder = Path(tempfile.gettempdir()) / "ilms-bench-rest"
    folder.mkdir(exist_ok=True)
    path = folder / f"ilms-{size}.db"
    url = f"sqlite:///{path}"
    schema = load_catalog().schema_for(DATAFLOW)
    if reuse and path.exists():
        store = DataStore(url)
        try:
            store.migrate()
            if store.count(schema) == size:
                return url, None
        finally:
            store.close()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    store = DataStore(url)
    try:
        store.migrate()
        store.apply(schema, Action.APPEND, observations(size))
    finally:
        store.close()
    return url, time.perf_counter() - start


# -- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of another process (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def server(url: str, log: Path) -> Iterator[tuple[str, int]]:
    """The running service: (base URL, pid); terminated on the way out, whatever happens."""
    port = free_port()
    ilms = Path(sys.executable).parent / "ilms"
    command = [str(ilms), "serve", "--host", HOST, "--port", str(port), "--database", url]
    env = {**os.environ, "ILMS_DATABASE_URL": url}
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        base = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}); see {log}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /health in 60 s; see {log}")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- measurements --------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    requests: int | str = ""
    observations: int | str = ""
    p50: float | None = None
    p99: float | None = None
    seconds: float | None = None
    rate: str = ""
    extra: str = ""


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  … {row.label}", file=sys.stderr, flush=True)

    def print(self) -> None:
        def ms(value: float | None) -> str:
            return "" if value is None else f"{value * 1000:.1f}"

        def num(value: int | str) -> str:
            return f"{value:,}" if isinstance(value, int) else value

        head = ("measurement", "requests", "obs", "p50 ms", "p99 ms", "time s", "rate", "notes")
        body = [
            (
                r.label,
                num(r.requests),
                num(r.observations),
                ms(r.p50),
                ms(r.p99),
                "" if r.seconds is None else f"{r.seconds:.2f}",
                r.rate,
                r.extra,
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
        for n, line in enumerate((head, *body)):
            cells = [
                c.ljust(w) if i in (0, 7) else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            print("  ".join(cells).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def csv_rows(body: bytes) -> int:
    """Observations in an SDMX-CSV answer: lines after the header."""
    return max(0, body.count(b"\n") - 1)


def latency(
    client: httpx.Client,
    label: str,
    paths: Callable[[], str],
    n: int,
    budget: float,
    accept: str = CSV,
) -> Row:
    """``n`` sequential requests (fewer if ``budget`` seconds run out): p50/p99 and obs count."""
    times, counts = [], []
    stop = time.monotonic() + budget
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(paths(), headers={"Accept": accept})
        body = response.content
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{label}: HTTP {response.status_code}: {body[:300]!r}")
        counts.append(csv_rows(body))
        if time.monotonic() > stop:
            break
    obs = f"{min(counts):,}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
    return Row(
        label,
        len(times),
        obs,
        percentile(times, 0.5),
        percentile(times, 0.99),
        sum(times),
        f"{len(times) / sum(times):,.0f} req/s",
        f"{len(body):,} B each" if len(set(counts)) == 1 else "",
    )


def count_stream(chunks: Iterator[bytes], marker: bytes) -> tuple[int, int]:
    """(bytes, occurrences of ``marker``) across chunk boundaries."""
    size = found = 0
    keep = len(marker) - 1
    tail = b""
    for chunk in chunks:
        size += len(chunk)
        window = tail + chunk
        found += window.count(marker)
        tail = window[-keep:] if keep else b""
    return size, found


def harvest(
    client: httpx.Client, label: str, accept: str, encoding: str, marker: bytes, expected: int
) -> Row:
    """The whole dataflow, streamed: obs/s, bytes on the wire."""
    headers = {"Accept": accept, "Accept-Encoding": encoding}
    start = time.perf_counter()
    with client.stream("GET", f"/rest/data/{DATAFLOW}", headers=headers) as response:
        first = None
        chunks = response.iter_bytes(1 << 16)
        if response.status_code != 200:
            raise RuntimeError(f"{label}: HTTP {response.status_code}: {response.read()[:300]!r}")

        def timed_chunks() -> Iterator[bytes]:
            nonlocal first
            for chunk in chunks:
                if first is None:
                    first = time.perf_counter() - start
                yield chunk

        size, found = count_stream(timed_chunks(), marker)
        wire = response.num_bytes_downloaded
    seconds = time.perf_counter() - start
    obs = found - 1 if marker == b"\n" else found  # the CSV header line
    note = f"{wire / 1e6:,.1f} MB wire"
    if wire != size:
        note += f" ({size / 1e6:,.1f} MB plain)"
    note += f", first byte {(first or 0) * 1000:.0f} ms"
    if obs != expected:
        note += f"; EXPECTED {expected:,}"
    return Row(label, 1, obs, None, None, seconds, f"{obs / seconds:,.0f} obs/s", note)


def load(
    label: str, base: str, paths: Callable[[random.Random], str], workers: int, duration: float
) -> Row:
    """``workers`` threads issuing random queries for ``duration`` s: requests/s, errors."""
    stop = time.monotonic() + duration
    lock = threading.Lock()
    times: list[float] = []
    errors: list[str] = []
    observations = [0]
    issued = [0]

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
            while time.monotonic() < stop:
                with lock:
                    if issued[0] >= MAX_LOAD_REQUESTS:
                        return
                    issued[0] += 1
                start = time.perf_counter()
                try:
                    response = client.get(paths(rnd), headers={"Accept": CSV})
                    body = response.content
                    ok = response.status_code == 200
                    error = "" if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, body, error = False, b"", type(exc).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    times.append(elapsed)
                    if ok:
                        observations[0] += csv_rows(body)
                    else:
                        errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 360)
    seconds = time.perf_counter() - start
    kinds = sorted(set(errors))
    return Row(
        label,
        len(times),
        observations[0],
        percentile(times, 0.5) if times else None,
        percentile(times, 0.99) if times else None,
        seconds,
        f"{len(times) / seconds:,.1f} req/s",
        f"{len(errors)} errors"
        + (f" ({', '.join(kinds[:3])})" if kinds else "")
        + f", {observations[0] / seconds:,.0f} obs/s",
    )


# -- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="observations to store")
    parser.add_argument("--duration", type=float, default=20.0, help="load test seconds")
    parser.add_argument("--workers", type=int, default=8, help="load test threads")
    parser.add_argument("--requests", type=int, default=300, help="requests per latency row")
    parser.add_argument("--reuse", action="store_true", help="reuse the cached database file")
    args = parser.parse_args()

    schema = load_catalog().schema_for(DATAFLOW)
    ages = sorted(schema.component("AGE").codes or [])
    url, load_seconds = database(args.size, args.reuse)
    table = Table()
    if load_seconds is None:
        table.add(Row(f"database {url.removeprefix('sqlite:///')}", extra="reused"))
    else:
        rate = f"{args.size / load_seconds:,.0f} obs/s"
        table.add(
            Row(
                "load into SQLite (DataStore.apply)",
                "",
                args.size,
                None,
                None,
                load_seconds,
                rate,
                f"driver peak {peak_mb():.0f} MB",
            )
        )

    def series(rnd: random.Random, area: str | None = None) -> str:
        key = (
            area or rnd.choice(AREAS),
            "A",
            "MST_TEMP_NB",
            rnd.choice(SEXES),
            rnd.choice(ages),
            rnd.choice(PLACES),
        )
        return f"/rest/data/{DATAFLOW}/{'.'.join(key)}"

    def country(rnd: random.Random) -> str:
        return f"/rest/data/{DATAFLOW}/{rnd.choice(AREAS)}....."

    def mixed(rnd: random.Random) -> str:
        return country(rnd) if rnd.random() < 0.5 else series(rnd)

    fixed = (
        f"/rest/data/{DATAFLOW}/{COUNTRY}.A.MST_TEMP_NB.SEX_T.AGE_AGGREGATE_Y25-54.CBR_BIR_TOTAL"
    )
    rnd = random.Random(1)
    log = Path(url.removeprefix("sqlite:///")).with_suffix(".server.log")
    with server(url, log) as (base, pid), httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        table.add(Row("server started", extra=f"pid {pid}, {base}, VmHWM {vm_hwm_mb(pid):.0f} MB"))
        for _ in range(5):  # warm-up: imports, caches, connections
            client.get(fixed, headers={"Accept": CSV}).raise_for_status()
            client.get(f"/rest/data/{DATAFLOW}/{COUNTRY}.....", headers={"Accept": CSV})
        n = args.requests
        table.add(latency(client, "single series, fixed key", lambda: fixed, n, 60))
        table.add(
            latency(
                client,
                f"single series, random key in {COUNTRY}",
                lambda: series(rnd, COUNTRY),
                n,
                60,
            )
        )
        table.add(
            latency(
                client,
                f"one country x table ({COUNTRY}.....)",
                lambda: f"/rest/data/{DATAFLOW}/{COUNTRY}.....",
                max(20, n // 3),
                90,
            )
        )
        availability = f"/rest/availableconstraint/{DATAFLOW}/{COUNTRY}"
        row = latency(client, f"availability ({COUNTRY})", lambda: availability, n, 60, "*/*")
        row.observations, row.extra = "", row.extra.replace(" each", " each (XML)")
        table.add(row)
        table.add(Row("server VmHWM before harvests", extra=f"{vm_hwm_mb(pid):.0f} MB"))
        for label, accept, encoding, marker in HARVESTS:
            table.add(harvest(client, label, accept, encoding, marker, args.size))
            table.add(
                Row(
                    f"  server VmHWM after {label.removeprefix('harvest ')}",
                    extra=f"{vm_hwm_mb(pid):.0f} MB",
                )
            )
        workers = args.workers
        table.add(
            load(
                f"load: {workers} threads, random series/country",
                base,
                mixed,
                workers,
                args.duration,
            )
        )
        table.add(
            load(
                f"load: {workers} threads, random series only",
                base,
                series,
                workers,
                min(args.duration, 10),
            )
        )
        table.add(Row("server VmHWM at the end", extra=f"{vm_hwm_mb(pid):.0f} MB"))
    print()
    print(
        f"ILMS Exchange REST benchmark: {args.size:,} observations of {DATAFLOW}, SQLite, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end"
    )
    table.print()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
