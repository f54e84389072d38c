"""load_config / validate_config: typed objects and ConfigError details."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pilot
from conftest import HELLO

FULL = {
    "name": "Shop",
    "type": "python",
    "runtime": {"python": "3.11.7", "node": "20"},
    "build": {"commands": ["pip install -r requirements.txt", "npm run build"]},
    "start": {"command": "exec gunicorn app:app --bind 127.0.0.1:$PORT"},
    "test": {"command": "pytest -q"},
    "env": {"GREETING": "hi", "DB_PASSWORD": "{{DB_PASSWORD}}"},
    "deployment": {
        "strategy": "rolling",
        "healthcheck_url": "http://localhost:3000/health?deep=1",
        "healthcheck_type": "http",
        "healthcheck_interval": 3,
        "healthcheck_timeout": 1.5,
        "healthcheck_retries": 4,
        "healthcheck_start_period": 20,
        "watch_seconds": 10,
        "drain_seconds": 2,
        "keep_generations": 3,
        "warm_standby": True,
    },
    "resources": {"memory": "512M", "cpu": 0.5},
    "port": 8080,
}


def test_load_config_reads_an_app_directory_or_its_file() -> None:
    from_dir = pilot.load_config(HELLO)
    from_file = pilot.load_config(str(HELLO / "config.vpspilot.json"))
    assert from_dir == from_file
    assert from_dir.name == "Python hello"
    assert from_dir.type == "python"
    assert from_dir.runtime.python == "3.11"
    assert from_dir.runtime.node is None
    assert from_dir.start.command == "exec python3 app.py"
    assert from_dir.deployment.health_path == "/health"


def test_every_field_is_a_typed_property() -> None:
    config = pilot.validate_config(json.dumps(FULL))
    assert isinstance(config, pilot.Config)
    assert config.runtime.requested() == {"python": "3.11.7", "node": "20"}
    assert config.build.commands == FULL["build"]["commands"]
    assert isinstance(config.test, pilot.CommandSection)
    assert config.test.command == "pytest -q"
    assert config.env == FULL["env"]
    assert config.secret_names == {"DB_PASSWORD"}
    assert config.nix is None
    assert config.port == 8080
    deployment = config.deployment
    assert deployment.strategy == "in-place"
    assert deployment.healthcheck_type == "http"
    assert deployment.healthcheck_url == FULL["deployment"]["healthcheck_url"]
    assert deployment.healthcheck_path is None
    assert deployment.health_path == "/health?deep=1"
    assert deployment.healthcheck_interval == 3.0
    assert deployment.healthcheck_timeout == 1.5
    assert deployment.healthcheck_retries == 4
    assert deployment.healthcheck_start_period == 20.0
    assert deployment.watch_seconds == 10.0
    assert deployment.drain_seconds == 2.0
    assert deployment.keep_generations == 3
    assert deployment.warm_standby is True
    assert config.resources.memory == "512M"
    assert config.resources.memory_bytes == 512 * 1024 * 1024
    assert config.resources.cpu == 0.5
    assert "Shop" in repr(config)


def test_defaults_are_filled_in_and_round_trip_through_json() -> None:
    config = pilot.load_config(HELLO)
    data = config.to_dict()
    assert data["deployment"]["keep_generations"] == 5
    assert data["deployment"]["strategy"] == "blue-green"
    assert json.loads(config.to_json()) == data
    assert pilot.validate_config(config.to_json()) == config


def test_every_problem_comes_with_path_hint_and_position() -> None:
    text = '{\n  "name": "shop",\n  "type": "nodejs",\n  "runtime": {"node": "19"},\n  "start": {"command": ""}\n}'
    with pytest.raises(pilot.ConfigError) as caught:
        pilot.validate_config(text)
    error = caught.value
    assert isinstance(error, pilot.PilotError) and isinstance(error, ValueError)
    assert [p.path for p in error.problems] == ["runtime.node", "start.command"]
    node = error.problems[0]
    assert isinstance(node, pilot.Problem)
    assert node.message == 'unsupported node version "19"'
    assert node.hint is not None and '"18", "20", "22"' in node.hint
    assert (node.line, node.column) == (4, 23)
    assert error.problems[1].line == 5
    assert "2 problems" in str(error)
    assert str(node).startswith('runtime.node: unsupported node version "19"')
    assert error.path is None


def test_unknown_fields_get_a_suggestion() -> None:
    with pytest.raises(pilot.ConfigError) as caught:
        pilot.validate_config(
            '{"name": "x", "type": "static", "start": {"command": "x"}, "deploymnet": {}}'
        )
    (problem,) = caught.value.problems
    assert problem.path == "deploymnet"
    assert problem.hint is not None and "deployment" in problem.hint


def test_syntax_errors_point_at_the_position() -> None:
    with pytest.raises(pilot.ConfigError) as caught:
        pilot.validate_config('{"name": "x",\n "type": }')
    (problem,) = caught.value.problems
    assert problem.path == ""
    assert problem.message.startswith("invalid JSON")
    assert (problem.line, problem.column) == (2, 10)


def test_invalid_file_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "config.vpspilot.json"
    file.write_text('{"name": "", "type": "go", "runtime": {"go": "1.22"}, "start": {"command": "./app"}}')
    with pytest.raises(pilot.ConfigError) as caught:
        pilot.load_config(tmp_path)
    assert caught.value.path == str(file)
    assert [p.path for p in caught.value.problems] == ["name"]


def test_unreadable_file_is_a_config_error_without_problems(tmp_path: Path) -> None:
    with pytest.raises(pilot.ConfigError) as caught:
        pilot.load_config(tmp_path / "missing.json")
    assert caught.value.problems == []
    assert caught.value.path == str(tmp_path / "missing.json")
    assert "cannot read" in str(caught.value)
