"""Two writers at once (two app processes on one database): both land, one after the other."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from exchange.model.records import Action
from exchange.model.schema import Schema
from exchange.storage import Counts, DataStore
from exchange.storage.tables import changes
from tests.storage.conftest import Opener, obs


def test_concurrent_applies_both_land_without_lost_update(
    open_store: Opener, schema: Schema
) -> None:
    first = open_store()
    first.migrate()
    second = open_store()  # another "process": its own engine and connections
    start = threading.Barrier(2)
    results: dict[str, Counts] = {}
    errors: list[BaseException] = []

    def write(name: str, store: DataStore, area: str) -> None:
        rows = [obs(area, str(year), name) for year in range(1000, 4000)]
        rows.append(obs("THA", "2000", name))  # both write this one
        start.wait()
        try:
            results[name] = store.apply(schema, Action.APPEND, rows)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=("a", first, "PHL")),
        threading.Thread(target=write, args=("b", second, "MYS")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    # the second writer saw the first one's THA row: one added it, the other replaced it
    assert results["a"] + results["b"] == Counts(added=6001, replaced=1)
    assert first.count(schema) == 6001
    tha = [o.value for o in first.query(schema, [{"THA"}, None, None, None, None, None])]
    winner = max(results, key=lambda name: results[name].replaced)
    assert tha == [winner]
    with first.engine.connect() as conn:
        stamps = conn.execute(sa.select(changes.c.stamp).order_by(changes.c.id)).scalars().all()
    assert len(stamps) == 2 and stamps[0] < stamps[1]
    assert first.availability(schema)["REF_AREA"] == {"MYS": 1, "PHL": 1, "THA": 1}


def test_readers_are_not_blocked_by_a_writer(open_store: Opener, schema: Schema) -> None:
    store = open_store()
    store.migrate()
    store.apply(schema, Action.APPEND, [obs("PHL", "2019", "1")])
    reading = threading.Event()
    release = threading.Event()

    def rows() -> object:
        yield obs("MYS", "2019", "2")
        reading.set()
        assert release.wait(timeout=30)
        yield obs("MYS", "2020", "3")

    writer = threading.Thread(target=lambda: store.apply(schema, Action.APPEND, rows()))  # type: ignore[arg-type]
    writer.start()
    assert reading.wait(timeout=30)
    # mid-write: readers see the last committed state, at once
    assert [o.value for o in store.query(schema)] == ["1"]
    assert store.count(schema) == 1
    release.set()
    writer.join(timeout=30)
    assert [o.value for o in store.query(schema)] == ["2", "3", "1"]
