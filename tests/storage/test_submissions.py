"""The submission log: queries, the duplicate rule, atomic ``stored``, recovery after a kill."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from exchange.model.records import Action, Observation
from exchange.model.schema import Schema
from exchange.storage import DataStore, Status, Submission
from exchange.storage.engine import now_us
from exchange.storage.migrations import LATEST
from exchange.storage.submissions import INTERRUPTED
from tests.storage.conftest import Opener, obs

DATAFLOW = "ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)"


def entry(number: int, **changes: object) -> Submission:
    values: dict[str, object] = {
        "id": f"s{number}",
        "provider": "PHL",
        "token_id": "t1",
        "dataflow": DATAFLOW,
        "action": "merge",
        "dry_run": False,
        "file_name": "phl.csv",
        "sha256": "a" * 64,
        "size": 100,
        "media_type": "text/csv",
        "status": Status.QUEUED,
        "received_at": 1_000 + number,
    }
    return Submission(**(values | changes))  # type: ignore[arg-type]


def test_the_log_is_queried_newest_first_by_provider_dataflow_and_status(
    datastore: DataStore,
) -> None:
    log = datastore.submissions
    log.add(entry(1))
    log.add(entry(2, provider="MYS", status=Status.REJECTED, report={"valid": False}))
    log.add(entry(3, dataflow="ILO:DF_OTHER(1.0)", status=Status.STORED))
    assert [s.id for s in log.list()] == ["s3", "s2", "s1"]
    assert [s.id for s in log.list(provider="PHL")] == ["s3", "s1"]
    assert [s.id for s in log.list(dataflow=DATAFLOW)] == ["s2", "s1"]
    assert [s.id for s in log.list(status="rejected")] == ["s2"]
    assert [s.id for s in log.list(limit=1)] == ["s3"]
    assert log.get("s2").report == {"valid": False} and log.get("s2").status is Status.REJECTED


def test_progress_never_changes_a_finished_submission(datastore: DataStore) -> None:
    log = datastore.submissions
    log.add(entry(1, status=Status.RUNNING))
    log.progress("s1", 5_000, 60_000)
    assert (log.get("s1").observations, log.get("s1").bytes_read) == (5_000, 60_000)
    log.update("s1", status=Status.STORED, observations=6_000)
    log.progress("s1", 10, 10)
    assert log.get("s1").observations == 6_000


def _store_as(
    datastore: DataStore, schema: Schema, sub: Submission, rows: list[Observation]
) -> None:
    """Store ``rows`` the way a push does: the log says stored in the same transaction."""
    datastore.submissions.add(sub)

    def after(conn: sa.Connection, _counts: object) -> None:
        stamp = datastore.submissions.last_stamp(conn, DATAFLOW)
        datastore.submissions.update(sub.id, conn=conn, status=Status.STORED, stamp=stamp)

    datastore.apply(schema, Action.APPEND, rows, after=after)


def test_a_file_is_a_duplicate_only_while_nothing_changed_since(
    datastore: DataStore, schema: Schema
) -> None:
    log = datastore.submissions
    _store_as(datastore, schema, entry(1), [obs("PHL")])
    again = entry(2)
    assert log.stored_before(again) is not None and log.stored_before(again).id == "s1"  # type: ignore[union-attr]
    assert log.stored_before(entry(3, action="replace")) is None  # another action
    assert log.stored_before(entry(4, provider="MYS")) is None  # another provider
    assert log.stored_before(entry(5, sha256="b" * 64)) is None  # another file
    datastore.apply(schema, Action.DELETE, [obs("PHL")])  # any later write to the dataflow
    assert log.stored_before(again) is None


def test_stored_commits_with_the_data_or_not_at_all(datastore: DataStore, schema: Schema) -> None:
    log = datastore.submissions
    log.add(entry(1, status=Status.RUNNING))

    def broken() -> Iterator[Observation]:
        yield obs("PHL", "2019")
        raise OSError("the disk went away")

    def after(conn: sa.Connection, _counts: object) -> None:
        log.update("s1", conn=conn, status=Status.STORED)

    with pytest.raises(OSError):
        datastore.apply(schema, Action.APPEND, broken(), after=after)
    assert log.get("s1").status is Status.RUNNING
    assert datastore.count(schema) == 0 and datastore.watermark() is None


def test_recover_fails_only_what_dead_processes_of_this_host_left(datastore: DataStore) -> None:
    host = socket.gethostname()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        log = datastore.submissions
        log.add(entry(1, status=Status.RUNNING, worker=f"{host}:{dead.stdout.strip()}"))
        log.add(entry(2, status=Status.QUEUED, worker=f"{host}:{dead.stdout.strip()}"))
        log.add(entry(3, status=Status.RUNNING, worker=f"{host}:{alive.pid}"))
        log.add(entry(4, status=Status.RUNNING, worker="another-host:1"))
        log.add(entry(5, status=Status.STORED, worker=f"{host}:{dead.stdout.strip()}"))
        assert sorted(log.recover()) == ["s1", "s2"]
    finally:
        alive.kill()
        alive.wait()
    failed = log.get("s1")
    assert failed.status is Status.FAILED and failed.message == INTERRUPTED and failed.finished_at
    assert [log.get(f"s{n}").status for n in (3, 4, 5)] == [
        Status.RUNNING,
        Status.RUNNING,
        Status.STORED,
    ]
    assert log.recover() == ("s3",)  # now that its process is gone too


def test_upgrade_from_version_3_adds_tokens_and_the_log(open_store: Opener, schema: Schema) -> None:
    store = open_store()
    assert store.migrate(target=3) == [1, 2, 3]
    store.apply(schema, Action.APPEND, [obs("PHL"), obs("MYS")])
    assert not sa.inspect(store.engine).has_table("submissions")
    assert store.migrate() == list(range(4, LATEST + 1))
    assert store.count(schema) == 2  # data kept
    _, secret = store.tokens.create("PHL")
    assert store.tokens.authenticate(secret) is not None
    store.submissions.add(entry(1, received_at=now_us()))
    assert [s.id for s in store.submissions.list()] == ["s1"]
