"""The scripts in examples/python run and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_validate_config_prints_every_problem(tmp_path: Path) -> None:
    result = run(str(EXAMPLES / "validate_config.py"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "python-hello: ok" in result.stdout
    assert "a broken copy: 3 problem(s)" in result.stdout
    assert "deployment.stratgy [line" in result.stdout
    assert "hint: did you mean `strategy`?" in result.stdout

    bad = tmp_path / "config.vpspilot.json"
    bad.write_text('{"name": "x"}')
    result = run(str(EXAMPLES / "validate_config.py"), str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "type" in result.stdout and "start" in result.stdout


def test_deploy_local_deploys_twice_and_rolls_back(tmp_path: Path) -> None:
    result = run(str(EXAMPLES / "deploy_local.py"), "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(l.startswith("generation 1 live at http://127.0.0.1:") and l.endswith("hello from python-hello v1") for l in lines)
    assert "generation 2 live: hello from python-hello v2" in lines
    assert any(l.startswith("generation 1 live again at http://") and l.endswith("hello from python-hello v1") for l in lines)


def test_server_deploy_deploys_through_the_api_and_rolls_back(tmp_path: Path) -> None:
    result = run(str(EXAMPLES / "server_deploy.py"), "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("server at http://127.0.0.1:") and lines[0].endswith("nodes: ['local']")
    assert any(l.startswith("generation 1 live at http://127.0.0.1:") and l.endswith("hello from python-hello v1") for l in lines)
    assert "generation 2 live: hello from python-hello v2" in lines
    assert "rolled back to generation 1: hello from python-hello v1" in lines
