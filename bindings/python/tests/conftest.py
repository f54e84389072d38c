"""Shared fixtures: the sample app, deployers in temporary data directories,
and a metrics store file with known samples."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

import pilot

REPO = Path(__file__).resolve().parents[3]
HELLO = REPO / "examples" / "apps" / "python-hello"

# Thirty days ago, on a whole day: old enough for the store to compact the
# samples into chunks as they are written, recent enough to be kept raw.
DAY_MS = 86_400_000
T0 = (int(time.time() * 1000) // DAY_MS - 30) * DAY_MS


def fetch(url: str) -> str:
    """The body of a GET of ``url``."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode().strip()


def write_app(path: Path, version: str, **config_changes: object) -> Path:
    """Copies the sample app to ``path`` with ``version`` in its VERSION
    file, short health and watch timings, and ``config_changes`` applied to
    the top level of its config."""
    if path.exists():
        shutil.rmtree(path)
    shutil.copytree(HELLO, path)
    (path / "VERSION").write_text(version + "\n")
    config_file = path / "config.vpspilot.json"
    config = json.loads(config_file.read_text())
    config["deployment"].update(
        {"healthcheck_interval": 0.5, "watch_seconds": 0.5, "drain_seconds": 0.5}
    )
    config.update(config_changes)
    config_file.write_text(json.dumps(config, indent=2))
    return path


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A copy of examples/apps/python-hello at version 1.0.0."""
    return write_app(tmp_path / "hello", "1.0.0")


@pytest.fixture
def deployer(tmp_path: Path) -> Iterator[pilot.Deployer]:
    """A deployer on a fresh data directory, closed (apps stopped) afterwards."""
    with pilot.Deployer(tmp_path / "data") as deployer:
        yield deployer


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A store file holding, on node ``n1``: ``cpu`` every 10 s for an hour
    from T0 with value ``i % 60`` for sample ``i``, and ``requests`` for
    projects ``shop`` and ``blog``; on node ``n2``: ``cpu`` at T0."""
    path = tmp_path / "metrics.db"
    store = pilot.MetricsStore.create(path)
    cpu = [("cpu", T0 + 10_000 * i, float(i % 60)) for i in range(360)]
    store.write("n1", cpu)
    store.write(
        "n1",
        [
            ("requests", T0, 5.0, {"project": "shop"}),
            ("requests", T0 + 1000, 7.0, {"project": "shop"}),
            ("requests", T0, 1.0, {"project": "blog"}),
        ],
    )
    store.write("n2", [("cpu", T0, 99.0)])
    store.close()
    return path
