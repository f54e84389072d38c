"""MetricsStore against real store files."""

from __future__ import annotations

import datetime
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

import pilot
from conftest import T0


def content(path: Path) -> list[str]:
    """Every schema entry and row of an SQLite file, read without writing."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def test_series_lists_every_series_or_a_selection(store_file: Path) -> None:
    with pilot.MetricsStore(store_file) as store:
        assert not store.writable
        every = store.series()
        assert [(s.metric, s.node) for s in every] == [
            ("cpu", "n1"),
            ("cpu", "n2"),
            ("requests", "n1"),
            ("requests", "n1"),
        ]
        assert {tuple(s.labels.items()) for s in every if s.metric == "requests"} == {
            (("project", "shop"),),
            (("project", "blog"),),
        }
        assert [s.node for s in store.series(metric="cpu")] == ["n1", "n2"]
        assert [s.metric for s in store.series(node="n2")] == ["cpu"]
        assert store.series(metric="cpu", node="n3") == []
        assert all(isinstance(s, pilot.Series) and s.id > 0 for s in every)


def test_raw_queries_return_time_value_tuples(store_file: Path) -> None:
    with pilot.MetricsStore(store_file) as store:
        (result,) = store.query("cpu", node="n1")
        assert result.series.node == "n1"
        assert result.resolution_ms == 0
        assert len(result) == 360
        assert result.points[:2] == [(T0, 0.0), (T0 + 10_000, 1.0)]
        (window,) = store.query("cpu", node="n1", start=T0 + 20_000, end=T0 + 50_000)
        assert window.points == [(T0 + 20_000, 2.0), (T0 + 30_000, 3.0), (T0 + 40_000, 4.0)]
        both = store.query("cpu", end=T0 + 1)
        assert [(r.series.node, r.points) for r in both] == [
            ("n1", [(T0, 0.0)]),
            ("n2", [(T0, 99.0)]),
        ]


def test_stepped_queries_aggregate(store_file: Path) -> None:
    with pilot.MetricsStore(store_file) as store:
        minute = 60_000
        expected = {
            "avg": 2.5,  # samples 0..5 of each minute hold i % 60
            "min": 0.0,
            "max": 5.0,
            "sum": 15.0,
            "count": 6.0,
        }
        for agg, first in expected.items():
            (result,) = store.query("cpu", node="n1", end=T0 + 10 * minute, step=minute, agg=agg)
            assert result.resolution_ms == minute
            assert len(result.points) == 10
            assert result.points[0] == (T0, first), agg
        (hourly,) = store.query("cpu", node="n1", step=3_600_000, agg="max")
        assert hourly.points == [(T0, 59.0)]


def test_labels_select_series(store_file: Path) -> None:
    with pilot.MetricsStore(store_file) as store:
        (shop,) = store.query("requests", labels={"project": "shop"})
        assert shop.series.labels == {"project": "shop"}
        assert shop.points == [(T0, 5.0), (T0 + 1000, 7.0)]
        assert store.query("requests", labels={"project": "none"}) == []


def test_datetimes_and_timedeltas_are_accepted(store_file: Path) -> None:
    start = datetime.datetime.fromtimestamp(T0 / 1000, tz=datetime.timezone.utc)
    with pilot.MetricsStore(store_file) as store:
        (result,) = store.query(
            "cpu",
            node="n1",
            start=start,
            end=start + datetime.timedelta(minutes=2),
            step=datetime.timedelta(minutes=1),
            agg="count",
        )
        assert result.points == [(T0, 6.0), (T0 + 60_000, 6.0)]


def test_numpy_arrays_hold_the_same_points(store_file: Path) -> None:
    with pilot.MetricsStore(store_file) as store:
        for kwargs in ({}, {"step": 60_000, "agg": "max"}):
            lists = store.query("cpu", **kwargs)
            arrays = store.query_numpy("cpu", **kwargs)
            assert len(arrays) == len(lists) == 2
            for listed, array in zip(lists, arrays):
                assert isinstance(array, pilot.SeriesArrays)
                assert array.series == listed.series
                assert array.resolution_ms == listed.resolution_ms
                assert array.timestamps.dtype == np.int64
                assert array.values.dtype == np.float64
                assert len(array) == len(listed)
                assert array.timestamps.tolist() == [t for t, _ in listed.points]
                assert array.values.tolist() == [v for _, v in listed.points]
        (empty,) = store.query_numpy("cpu", node="n1", start=0, end=1)
        assert empty.timestamps.shape == (0,)


def test_query_numpy_explains_a_missing_numpy(
    store_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pilot.MetricsStore(store_file) as store:
        with pytest.raises(ImportError, match="pip install numpy"):
            store.query_numpy("cpu")
        assert len(store.query("cpu")) == 2


def test_opening_an_existing_store_never_writes_to_it(store_file: Path) -> None:
    before = content(store_file)
    raw = store_file.read_bytes()
    with pilot.MetricsStore(store_file) as store:
        store.series()
        store.query("cpu", step=60_000)
        store.query_numpy("cpu")
        with pytest.raises(pilot.StoreError, match="opened read-only"):
            store.write("n1", [("cpu", T0, 1.0)])
    assert content(store_file) == before
    assert store_file.read_bytes() == raw


def test_a_store_of_another_version_is_not_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    with pilot.MetricsStore.create(path) as store:
        store.write("n1", [("cpu", T0, 1.0)])
    connection = sqlite3.connect(path)
    connection.execute(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
    )
    connection.commit()
    connection.close()
    before = content(path)
    with pytest.raises(pilot.StoreError, match="not migrated") as caught:
        pilot.MetricsStore(path)
    assert "older.db" in str(caught.value)
    assert content(path) == before


def test_a_store_is_read_while_a_writer_has_it_open(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    with pilot.MetricsStore.create(path) as writer:
        writer.write("n1", [("cpu", T0, 1.0)])
        with pilot.MetricsStore(path) as reader:
            assert reader.query("cpu")[0].points == [(T0, 1.0)]
        writer.write("n1", [("cpu", T0 + 10_000, 2.0)])
        with pilot.MetricsStore(path) as reader:
            assert reader.query("cpu")[0].points == [(T0, 1.0), (T0 + 10_000, 2.0)]


def test_written_samples_are_durable(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with pilot.MetricsStore.create(path) as store:
        assert store.writable
        assert store.write("n1", iter([["load", T0, 1], ("load", T0 + 1, 2.5, None)])) == 2
        assert store.write("n1", []) == 0
    with pilot.MetricsStore(path) as store:
        (load,) = store.query("load")
        assert load.points == [(T0, 1.0), (T0 + 1, 2.5)]


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(pilot.NotFoundError) as caught:
        pilot.MetricsStore(tmp_path / "nope.db")
    assert isinstance(caught.value, LookupError)
    assert caught.value.kind == "store"
    assert not (tmp_path / "nope.db").exists()


def test_a_file_that_is_no_store_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just text long enough to be read as a header\n" * 20)
    with pytest.raises(pilot.StoreError):
        pilot.MetricsStore(path)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"agg": "median"}, "agg"),
        ({"step": 0}, "step"),
        ({"step": -5}, "step"),
        ({"step": "1m"}, "step"),
        ({"start": 1.5}, "start"),
        ({"end": "yesterday"}, "end"),
    ],
)
def test_bad_query_arguments_name_the_field(
    store_file: Path, kwargs: dict, field: str
) -> None:
    with pilot.MetricsStore(store_file) as store:
        with pytest.raises(pilot.ValidationError) as caught:
            store.query("cpu", **kwargs)
        assert caught.value.field == field
        assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ([("cpu", T0)], r"samples\[0\] is a tuple"),
        ([("cpu", T0, 1.0), ("cpu", "now", 1.0)], r"samples\[1\] is not"),
        ([("", T0, 1.0)], "empty name"),
    ],
)
def test_bad_samples_are_rejected(tmp_path: Path, samples: list, message: str) -> None:
    with pilot.MetricsStore.create(tmp_path / "m.db") as store:
        with pytest.raises(pilot.ValidationError, match=message):
            store.write("n1", samples)
        assert store.series() == []


def test_a_closed_store_says_so(store_file: Path) -> None:
    store = pilot.MetricsStore(store_file)
    store.close()
    store.close()
    with pytest.raises(pilot.StoreError, match="is closed"):
        store.query("cpu")
    assert "writable=False" in repr(store)
