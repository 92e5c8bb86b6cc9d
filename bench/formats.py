"""Benchmark of the data formats: observations/second and peak RSS, next to lxml, sdmx1, pysdmx.

Not a test: it prints observations, one run, as a table. Every measurement runs in a fresh
subprocess so that peak RSS (``VmHWM``) is that operation's alone, imports included (the
"python + imports" row gives the floor). Usage::

    .venv/bin/python bench/formats.py                    # 10k, 100k, 1M observations
    .venv/bin/python bench/formats.py --sizes 10000 --formats sdmx-csv-1.0

Timings start after the structures are loaded (our schema catalogue; sdmx1's structure
message), except for pysdmx, whose ``get_datasets`` parses structure and data together.
sdmx1 and pysdmx build one Python object per observation; they are run up to --oracle-max
observations (default 100k) and their ratios are computed at the largest size they ran.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATAFLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
SUFFIX = {"excel": ".xlsx", "sdmx-csv-1.0": ".csv", "sdmx-csv-2.0": ".csv"}


def observations(n: int) -> Iterator[object]:
    """Valid ILMS observations, sorted by series: totals add up (``bench/ilms_data.py``)."""
    from bench.ilms_data import observations as ilms_observations

    yield from ilms_observations(n)


def _peak_mb() -> float:
    from bench.rss import peak_mb

    return peak_mb()


def one(operation: str, fmt: str, path: str, extra: str) -> dict[str, float]:
    """Run one measurement in this (fresh) process."""
    from exchange.formats import registry
    from exchange.services.convert import resolver_for
    from exchange.services.structures import load_catalog

    # the data path's own way in: cached schemas, no sdmx1 (see exchange/model/catalog.py)
    store = load_catalog() if operation not in ("baseline", "sdmx1", "pysdmx") else None
    start = time.perf_counter()
    count = 0
    if operation == "write":
        from exchange.model.records import MessageInfo

        assert store is not None
        info = MessageInfo(schema=store.schema_for(DATAFLOW))
        with open(path, "wb") as out:
            # a workbook has one column per year: give it every year the generator may use
            options = {"years": range(1900, 2031)} if fmt == "excel" else {}
            count = registry.by_name(fmt).writer(info, observations(int(extra)), out, **options)
    elif operation == "read":
        assert store is not None
        with open(path, "rb") as source:
            stream = registry.by_name(fmt).reader(source, resolver_for(store, DATAFLOW), name=path)
            count = sum(1 for _ in stream.observations)
    elif operation == "convert":
        from exchange.services.convert import convert

        assert store is not None
        with open(path, "rb") as source, open(extra, "wb") as out:
            count = convert(
                source,
                path,
                out,
                registry.by_name("sdmx-csv-1.0")
                if fmt != "sdmx-csv-1.0"
                else registry.by_name("sdmx-ml-2.1-structurespecific"),
                resolver_for(store, DATAFLOW),
            ).observations
    elif operation == "lxml":
        from lxml import etree

        for _, element in etree.iterparse(path, events=("end",)):
            if element.tag.endswith("Obs"):
                count += 1
            if len(element) == 0 or element.tag.endswith("Series"):
                element.clear()
    elif operation == "sdmx1":
        import sdmx

        msg = sdmx.read_sdmx(extra)
        dsd = msg.structure["ILMS_SEX_AGE_CBR"]
        start = time.perf_counter()  # time the data, not the structure message (as for ours)
        data = sdmx.read_sdmx(path, structure=dsd)
        count = sum(len(s) for s in data.data[0].series.values()) or len(data.data[0].obs)
    elif operation == "pysdmx":
        from pysdmx.io import get_datasets

        datasets = get_datasets(path, extra)
        count = sum(len(d.data) for d in datasets)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "count": count, "rss_mb": _peak_mb()}


def measure(operation: str, fmt: str, path: Path, extra: str = "") -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--one", operation, fmt, str(path), extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr else "failed"}  # type: ignore[dict-item]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _row(label: str, r: dict[str, float]) -> str:
    if "error" in r:
        return f"  {label:<46} error: {r['error']}"
    rate = r["count"] / r["seconds"] if r["seconds"] else 0
    return (
        f"  {label:<46} {int(r['count']):>9,} obs {r['seconds']:>8.2f} s "
        f"{rate:>12,.0f} obs/s {r['rss_mb']:>7.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--formats", default=None, help="comma-separated format names (default all)"
    )
    parser.add_argument("--oracle-max", type=int, default=100_000)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    from exchange.formats import registry
    from exchange.services.structures import export_message

    names = args.formats.split(",") if args.formats else [f.name for f in registry.FORMATS]
    work = Path(tempfile.mkdtemp(prefix="ilms-bench-"))
    structure = work / "structure.xml"
    structure.write_bytes(export_message())
    floor = measure("baseline", "-", structure)
    print(f"python + imports floor: {floor.get('rss_mb', 0):.0f} MB peak RSS")
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"\n== {n:,} observations ({DATAFLOW})")
        results: dict[str, dict[str, float]] = {}
        for name in names:
            path = work / f"{n}-{name}{SUFFIX.get(name, '.xml' if 'ml' in name else '.json')}"
            results[f"write {name}"] = measure("write", name, path, str(n))
            results[f"read {name}"] = measure("read", name, path)
            results[f"convert {name}"] = measure("convert", name, path, str(work / "out.tmp"))
            print(_row(f"write {name}", results[f"write {name}"]))
            print(_row(f"read {name}", results[f"read {name}"]))
            print(_row(f"convert {name} → csv (or ss)", results[f"convert {name}"]))
        ss = work / f"{n}-sdmx-ml-2.1-structurespecific.xml"
        if ss.exists():
            results["lxml"] = measure("lxml", "-", ss)
            print(_row("raw lxml iterparse (structure-specific)", results["lxml"]))
            if n <= args.oracle_max:
                results["sdmx1"] = measure("sdmx1", "-", ss, str(structure))
                results["pysdmx"] = measure("pysdmx", "-", ss, str(structure))
                print(_row("sdmx1 read (structure-specific)", results["sdmx1"]))
                print(_row("pysdmx read (structure-specific)", results["pysdmx"]))
            ours = results.get("read sdmx-ml-2.1-structurespecific", {})
            for other in ("lxml", "sdmx1", "pysdmx"):
                theirs = results.get(other, {})
                if "seconds" in ours and "seconds" in theirs and theirs["count"]:
                    ratio = (ours["count"] / ours["seconds"]) / (
                        theirs["count"] / theirs["seconds"]
                    )
                    print(f"  ratio ours/{other} (structure-specific read speed): {ratio:.2f}x")


if __name__ == "__main__":
    main()
