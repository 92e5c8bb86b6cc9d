"""Benchmark of the observation store: load, re-load, update, queries; obs/s and peak RSS.

Not a test: it prints one run's measurements. The data is ILMS-shaped (one table, 22 countries x
4 sexes x 34 ages x 4 places of birth = 11,968 series), written series after series as real
files are. Usage::

    .venv/bin/python bench/storage.py                       # 1M observations, SQLite in /tmp
    .venv/bin/python bench/storage.py --size 100000
    .venv/bin/python bench/storage.py --database postgresql+psycopg://ilms@127.0.0.1:54329/ilms

The database is emptied first (SQLite: a fresh file; PostgreSQL: its tables are dropped).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rss import peak_mb  # noqa: E402
from exchange.model.records import Action, Observation  # noqa: E402
from exchange.model.schema import Schema  # noqa: E402
from exchange.services.structures import load_catalog  # noqa: E402
from exchange.storage import DataStore, parse_key  # noqa: E402
from exchange.storage.tables import metadata  # noqa: E402

DATAFLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
AREAS = ["PHL", "MYS", "THA", "IDN", "VNM", "SGP", "KHM", "LAO", "MMR", "BRN", "SAU", "ARE",
         "QAT", "KWT", "OMN", "BHR", "JOR", "LBN", "IRQ", "PSE", "SYR", "YEM"]  # fmt: skip
ATTRIBUTES = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3", "DECIMALS": "1"}


def keys(schema: Schema) -> list[tuple[str, ...]]:
    ages = sorted(schema.component("AGE").codes or [])
    places = sorted(schema.component("CBR").codes or [])
    sexes = ["SEX_T", "SEX_M", "SEX_F", "SEX_O"]
    return [
        (area, "A", "MST_TEMP_NB", sex, age, place)
        for area, sex, age, place in itertools.product(AREAS, sexes, ages, places)
    ]


def observations(schema: Schema, n: int, salt: int = 0) -> Iterator[Observation]:
    """``n`` observations, series after series, as many years per series as it takes."""
    all_keys = keys(schema)
    years = -(-n // len(all_keys))
    count = 0
    for key in all_keys:
        for year in range(2025 - years, 2025):
            if count == n:
                return
            yield Observation(key, str(year), f"{(count * 7 + salt) % 9973 / 10:.1f}", ATTRIBUTES)
            count += 1


def timed(label: str, n_of: Callable[[], int]) -> float:
    start = time.perf_counter()
    n = n_of()
    seconds = time.perf_counter() - start
    rate = f"{n / seconds:>12,.0f} obs/s" if seconds and n else " " * 18
    print(f"{label:<44} {n:>10,} obs {seconds * 1000:>10.1f} ms {rate}  {peak_mb():6.0f} MB")
    return seconds


def run_all(store: DataStore, schema: Schema, n: int) -> None:
    """Every measurement, in an order where each one starts from what the previous left."""

    def apply(action: Action, rows: Iterable[Observation]) -> int:
        return store.apply(schema, action, rows).total

    def count(key: str | None = None, **options: Any) -> int:
        key_filter = parse_key(key) if key else None
        return sum(1 for _ in store.query(schema, key_filter, **options))

    timed("load (Append, empty store)", lambda: apply(Action.APPEND, observations(schema, n)))
    timed("re-load the same (all unchanged)", lambda: apply(Action.APPEND, observations(schema, n)))
    part = observations(schema, min(n, 10_000), salt=1)
    timed("update 10k (Replace, new values)", lambda: apply(Action.REPLACE, part))
    stamp = store.watermark()
    for label, run in (
        ("single series", lambda: count(".".join(keys(schema)[0]))),
        ("one country x one table (PHL)", lambda: count("PHL.....")),
        ("two countries, one sex (OR + wildcards)", lambda: count("PHL+MYS...SEX_F..")),
        ("lastNObservations=1, whole table", lambda: count(last_n=1)),
        ("full dataflow scan", count),
        ("updatedAfter (nothing newer)", lambda: count(updated_after=stamp)),
        ("availability (precomputed)", lambda: len(store.availability(schema))),
        (
            "availability PHL, startPeriod=2020",
            lambda: len(store.availability(schema, parse_key("PHL....."), start_period="2020")),
        ),
        ("count", lambda: store.count(schema)),
    ):
        timed(label, run)
    wildcard = Observation(("PHL", "", "", "", "", ""), None, None, {})
    timed("delete a country (wildcard Delete)", lambda: apply(Action.DELETE, [wildcard]))
    timed("harvest updatedAfter (the update + delete)", lambda: count(updated_after=stamp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite in /tmp)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{tmp.name}/bench.db"
    schema = load_catalog().schema_for(DATAFLOW)
    store = DataStore(url)
    metadata.drop_all(store.engine)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS schema_version")
    store.migrate()
    n = args.size
    print(f"{store!r}, {n:,} observations, python + imports {peak_mb():.0f} MB peak RSS")
    run_all(store, schema, n)
    if url.startswith("sqlite"):
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size = Path(store.engine.url.database or "").stat().st_size
        print(f"SQLite file size: {size / 1e6:.0f} MB ({size / n:.0f} bytes/obs)")
    store.close()


if __name__ == "__main__":
    main()
