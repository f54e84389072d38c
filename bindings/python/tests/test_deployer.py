"""Deployer: real local deploys of examples/apps/python-hello."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

import pilot
from conftest import fetch, write_app


def test_two_versions_and_a_rollback(deployer: pilot.Deployer, tmp_path: Path) -> None:
    app = write_app(tmp_path / "hello", "1.0.0")
    first = deployer.deploy(app, "hello")
    assert isinstance(first, pilot.Deployment)
    assert (first.kind, first.generation, first.state) == ("deploy", 1, "succeeded")
    assert first.succeeded and first.reason is None
    assert first.url == f"http://127.0.0.1:{first.public_port}/"
    assert first.version is not None and first.version.startswith("a")
    assert [s.step for s in first.steps][:3] == ["fetch", "configure", "build"]
    assert all(s.status == "done" for s in first.steps)
    assert fetch(first.url) == "hello from python-hello 1.0.0"

    write_app(app, "2.0.0")
    second = deployer.deploy(app, "hello")
    assert second.generation == 2 and second.public_port == first.public_port
    assert second.version != first.version
    assert fetch(second.url) == "hello from python-hello 2.0.0"

    back = deployer.rollback("hello")
    assert (back.kind, back.generation, back.state) == ("rollback", 1, "succeeded")
    assert fetch(back.url) == "hello from python-hello 1.0.0"

    again = deployer.rollback("hello", 2)
    assert again.generation == 2
    assert fetch(deployer.url("hello")) == "hello from python-hello 2.0.0"

    status = deployer.status("hello")
    assert isinstance(status, pilot.ProjectStatus)
    assert (status.live, status.running, status.service_state) == (2, True, "running")
    assert status.url == first.url and status.pid is not None
    assert [g.number for g in status.generations] == [1, 2]
    assert status.generations[0].version == first.version
    assert [d.id for d in deployer.deployments("hello")] == [
        first.id,
        second.id,
        back.id,
        again.id,
    ]
    assert deployer.projects() == ["hello"]
    assert any("python-hello 2.0.0 listening" in line for line in deployer.logs("hello", 20))


def test_progress_receives_every_event_as_a_dict(
    deployer: pilot.Deployer, app_dir: Path
) -> None:
    events: list[dict] = []
    done = deployer.deploy(app_dir, "hello", progress=events.append)
    assert all(e["project"] == "hello" and e["deployment"] == done.id for e in events)
    started = [e["step"] for e in events if e["event"] == "step_started"]
    assert started == [s.step for s in done.steps]
    assert {"event": "switched", "deployment": done.id, "project": "hello", "generation": 1} in events
    assert any(e["event"] == "log" and e["stream"] in ("stdout", "stderr") for e in events)
    assert events[-1] == {
        "event": "finished",
        "deployment": done.id,
        "project": "hello",
        "state": "succeeded",
        "reason": None,
    }


def test_a_failed_build_raises_and_the_live_release_keeps_serving(
    deployer: pilot.Deployer, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "hello", "1.0.0")
    live = deployer.deploy(app, "hello")
    write_app(app, "2.0.0", build={"commands": ["echo compiling", "exit 3"]})
    with pytest.raises(pilot.DeploymentFailed) as caught:
        deployer.deploy(app, "hello")
    error = caught.value
    assert isinstance(error, pilot.DeployError) and isinstance(error, pilot.PilotError)
    assert error.project == "hello" and error.state == "failed"
    assert "exit 3" in error.reason and "exit 3" in str(error)
    failed = error.deployment
    assert isinstance(failed, pilot.Deployment)
    assert (failed.generation, failed.state, failed.succeeded) == (2, "failed", False)
    build = next(s for s in failed.steps if s.step == "build")
    assert build.status in ("failed", "reverted") and "exit 3" in (build.error or "")
    assert fetch(live.url) == "hello from python-hello 1.0.0"
    assert deployer.status("hello").live == 1


def test_check_false_returns_the_failed_deployment(
    deployer: pilot.Deployer, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "hello", "1.0.0", start={"command": "exit 1"})
    failed = deployer.deploy(app, "hello", check=False)
    assert failed.state == "failed" and not failed.succeeded
    assert failed.reason
    assert deployer.status("hello").live is None


def test_config_override_and_secrets(deployer: pilot.Deployer, app_dir: Path) -> None:
    data = pilot.load_config(app_dir).to_dict()
    data["env"]["GREETING"] = "{{GREETING_TEXT}}"
    config = pilot.validate_config(json.dumps(data))
    assert config.secret_names == {"GREETING_TEXT"}
    with pytest.raises(pilot.DeploymentFailed, match="GREETING_TEXT"):
        deployer.deploy(app_dir, "hello", config=config)
    done = deployer.deploy(app_dir, "hello", config=config, secrets={"GREETING_TEXT": "bonjour"})
    assert fetch(done.url) == "bonjour from python-hello 1.0.0"


def test_an_archive_deploys_like_a_directory(
    deployer: pilot.Deployer, app_dir: Path, tmp_path: Path
) -> None:
    archive = shutil.make_archive(str(tmp_path / "shop-app"), "gztar", app_dir)
    done = deployer.deploy(archive)
    assert done.project == "shop-app"
    assert fetch(done.url) == "hello from python-hello 1.0.0"


def test_the_project_name_defaults_to_the_directory_name(
    deployer: pilot.Deployer, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "My_Shop.v2", "1.0.0")
    assert deployer.deploy(app).project == "my-shop-v2"


def test_an_exception_in_progress_is_raised_after_the_deployment(
    deployer: pilot.Deployer, app_dir: Path
) -> None:
    calls = []

    def progress(event: dict) -> None:
        calls.append(event)
        raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        deployer.deploy(app_dir, "hello", progress=progress)
    assert len(calls) == 1
    assert deployer.status("hello").live == 1

    def reentrant(event: dict) -> None:
        deployer.status("hello")

    with pytest.raises(pilot.PilotError, match="cannot be called from a progress callback"):
        deployer.deploy(app_dir, "hello", progress=reentrant)
    assert deployer.status("hello").live == 2


def test_stop_start_and_restart(deployer: pilot.Deployer, app_dir: Path) -> None:
    done = deployer.deploy(app_dir, "hello")
    deployer.stop("hello")
    assert deployer.status("hello").running is False
    with pytest.raises(OSError):
        urllib.request.urlopen(done.url, timeout=5).read()
    deployer.start("hello")
    assert fetch(done.url) == "hello from python-hello 1.0.0"
    pid = deployer.status("hello").pid
    deployer.restart("hello")
    status = deployer.status("hello")
    assert status.running and status.pid != pid
    assert fetch(done.url) == "hello from python-hello 1.0.0"


def test_close_stops_everything_and_a_new_deployer_restarts_it(
    tmp_path: Path, app_dir: Path
) -> None:
    data = tmp_path / "data"
    with pilot.Deployer(data) as deployer:
        done = deployer.deploy(app_dir, "hello")
        assert fetch(done.url) == "hello from python-hello 1.0.0"
    with pytest.raises(OSError):
        urllib.request.urlopen(done.url, timeout=5).read()
    with pytest.raises(pilot.DeployError, match="closed"):
        deployer.status("hello")
    deployer.close()

    with pilot.Deployer(data) as reopened:
        assert reopened.recovery["restarted"] == ["hello"]
        assert reopened.status("hello").live == 1
        assert fetch(reopened.url("hello")) == "hello from python-hello 1.0.0"


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_apps_stop_when_the_interpreter_exits(tmp_path: Path, app_dir: Path) -> None:
    script = (
        "import pilot, sys\n"
        "deployer = pilot.Deployer(sys.argv[1])\n"
        "deployer.deploy(sys.argv[2], 'hello')\n"
        "print(deployer.status('hello').pid)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data"), str(app_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip())
    assert pid > 0 and not alive(pid)


def test_deploys_release_the_gil(deployer: pilot.Deployer, app_dir: Path) -> None:
    ticks = 0
    running = True

    def count() -> None:
        nonlocal ticks
        while running:
            ticks += 1

    thread = threading.Thread(target=count)
    thread.start()
    try:
        deployer.deploy(app_dir, "hello")
    finally:
        running = False
        thread.join()
    assert ticks > 0


def test_bad_input_maps_to_typed_errors(
    deployer: pilot.Deployer, app_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(pilot.ValidationError) as invalid:
        deployer.deploy(app_dir, "Not A Name")
    assert invalid.value.field == "project"
    with pytest.raises(pilot.NotFoundError) as missing_app:
        deployer.deploy(tmp_path / "nothing-here", "hello")
    assert (missing_app.value.kind, missing_app.value.name) == (
        "app",
        str(tmp_path / "nothing-here"),
    )
    with pytest.raises(pilot.NotFoundError) as unknown:
        deployer.status("ghost")
    assert (unknown.value.kind, unknown.value.name) == ("project", "ghost")
    deployer.deploy(app_dir, "hello")
    with pytest.raises(pilot.NotFoundError) as generation:
        deployer.rollback("hello", 7)
    assert (generation.value.kind, generation.value.name) == ("generation", "7")
    assert "kept generations: [1]" in str(generation.value)
    broken = write_app(tmp_path / "broken", "1.0.0", runtime={"python": "2.7"})
    with pytest.raises(pilot.DeploymentFailed) as bad_config:
        deployer.deploy(broken, "broken")
    assert "runtime.python" in bad_config.value.reason


def test_bad_constructor_arguments(tmp_path: Path) -> None:
    with pytest.raises(pilot.ValidationError) as runtime:
        pilot.Deployer(tmp_path, runtime="docker")
    assert runtime.value.field == "runtime"
    with pytest.raises(pilot.ValidationError) as address:
        pilot.Deployer(tmp_path, public_ip="localhost")
    assert address.value.field == "public_ip"
