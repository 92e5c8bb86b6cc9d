"""Benchmark of validation: reading a file alone, then reading and validating it, one run.

Not a test: it prints measurements. The target (the validation issue): validating must cost at
most 1.5x reading, with memory flat. Wall time and CPU time are both shown: on a busy machine the
CPU ratio is the steadier one. Each measurement runs in a fresh subprocess so that its
peak RSS (``VmHWM``) is its own, imports and the structure store included; read and validate
alternate ``--repeat`` times and the best of each is kept (other work on the machine only ever
adds time). Usage::

    .venv/bin/python bench/validation.py                  # 100k and 1M observations
    .venv/bin/python bench/validation.py --sizes 10000 --profile   # + a cProfile of validation

The data are valid ILMS SDMX-CSV 1.0 observations (``bench/ilms_data.py``) for
DF_MST_TEMP_SEX_AGE_CBR_NB, sorted by series: totals add up, years are past, so the report should
be empty and every group rule does its full work (each total is summed and compared).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ilms_data import DATAFLOW, observations  # noqa: E402
from bench.rss import peak_mb  # noqa: E402


def write(path: Path, n: int) -> None:
    from exchange.formats import csv10
    from exchange.model.records import MessageInfo
    from exchange.services.structures import load_catalog

    info = MessageInfo(schema=load_catalog().schema_for(DATAFLOW))
    with path.open("wb") as out:
        csv10.write(info, observations(n), out)


def one(operation: str, path: str) -> dict[str, object]:
    """One measurement in this (fresh) process: ``read`` or ``validate``."""
    from exchange.services.convert import open_data, resolver_for
    from exchange.services.structures import load_catalog
    from exchange.services.validate import full_codes_for, validate_file

    store = load_catalog()
    full_codes_for(store, store.schema_for(DATAFLOW))  # built once per schema: not per file
    start, cpu = time.perf_counter(), time.process_time()
    result: dict[str, object] = {}
    with Path(path).open("rb") as source:
        if operation == "read":
            _, stream = open_data(source, path, resolver_for(store))
            count = 0
            for count, _ in enumerate(stream.observations, 1):  # noqa: B007 - counting
                pass
        else:
            report = validate_file(source, path, store, today=dt.date(2025, 6, 1))
            count = report.observations
            result["issues"] = dict(report.counts.by_code)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = peak_mb()
    return {**result, "seconds": seconds, "cpu": cpu, "count": count, "rss_mb": peak}


def measure(operation: str, path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--one", operation, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def best_of(runs: list[dict[str, object]]) -> dict[str, object]:
    """The fastest of several runs (wall and CPU time each at their minimum), with the
    highest peak RSS of them."""
    done = [r for r in runs if "error" not in r]
    if not done:
        return runs[0]
    found = dict(done[0])
    for field in ("seconds", "cpu"):
        found[field] = min(float(r[field]) for r in done)  # type: ignore[arg-type]
    found["rss_mb"] = max(float(r["rss_mb"]) for r in done)  # type: ignore[arg-type]
    return found


def row(label: str, r: dict[str, object]) -> str:
    if "error" in r:
        return f"  {label:<20} error: {r['error']}"
    seconds, count = float(r["seconds"]), int(r["count"])  # type: ignore[arg-type, call-overload]
    rate = count / seconds if seconds else 0.0
    return (
        f"  {label:<20} {count:>10,} obs {seconds:>8.2f} s {rate:>11,.0f} obs/s"
        f" {float(r['cpu']):>7.2f} s CPU"  # type: ignore[arg-type]
        f" {float(r['rss_mb']):>7.0f} MB peak RSS"  # type: ignore[arg-type]
    )


def profile(path: Path) -> None:
    import cProfile
    import pstats

    from exchange.services.structures import load_catalog
    from exchange.services.validate import validate_file

    store = load_catalog()
    with path.open("rb") as source, cProfile.Profile() as prof:
        validate_file(source, str(path), store, today=dt.date(2025, 6, 1))
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--profile", action="store_true", help="cProfile the smallest size")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    work = Path(tempfile.mkdtemp(prefix="ilms-bench-validation-"))
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        path = work / f"{n}.csv"
        write(path, n)
        print(f"== {n:,} observations, SDMX-CSV 1.0 ({path.stat().st_size / 1e6:.0f} MB)")
        runs = [(measure("read", path), measure("validate", path)) for _ in range(args.repeat)]
        read = best_of([r for r, _ in runs])
        checked = best_of([c for _, c in runs])
        print(row("read only", read))
        print(row("read + validate", checked))
        if "seconds" in read and "seconds" in checked:
            ratio = float(checked["seconds"]) / float(read["seconds"])  # type: ignore[arg-type]
            cpu = float(checked["cpu"]) / float(read["cpu"])  # type: ignore[arg-type]
            print(f"  ratio (read + validate) / read: {ratio:.2f}x, CPU {cpu:.2f}x (target 1.5x)")
            print(f"  issues: {checked.get('issues')}")
        path.unlink()
    if args.profile:
        path = work / "profile.csv"
        write(path, sizes[0])
        profile(path)


if __name__ == "__main__":
    main()
