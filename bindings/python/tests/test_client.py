"""Client and Server: a real Pilot server with its local agent, started in
this process, driven through its API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest

import pilot
from conftest import fetch, write_app

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pilot.Server]:
    """A server with node ``local``, stopped (apps too) after the module."""
    data = tmp_path_factory.mktemp("server") / "data"
    with pilot.Server(data, admin_password=PASSWORD) as server:
        yield server


@pytest.fixture
def client(server: pilot.Server) -> pilot.Client:
    return server.client()


def public_url(client: pilot.Client, project: str) -> str:
    """The app's URL on node ``local``, from its newest deployment."""
    newest = client.deployments(project, limit=1)[0]["deployment"]
    return f"http://127.0.0.1:{newest['public_port']}/"


def test_login_keeps_the_token_and_bad_passwords_raise_auth_error(server: pilot.Server) -> None:
    client = pilot.Client(server.url)
    assert client.token is None and client.url == server.url
    with pytest.raises(pilot.AuthError) as caught:
        client.login("admin", "not the password")
    error = caught.value
    assert isinstance(error, pilot.ApiError)
    assert (error.status, error.code) == (401, "unauthorized")
    assert "password" in error.message and "HTTP 401" in str(error)

    session = client.login("admin", PASSWORD)
    assert isinstance(session, pilot.Session)
    assert (session.username, session.role) == ("admin", "admin")
    assert session.expires_at_ms > time.time() * 1000
    assert client.token == session.token
    assert [n["name"] for n in client.nodes()] == ["local"]
    assert [n["name"] for n in pilot.Client(server.url, session.token).nodes()] == ["local"]


def test_calls_without_a_token_raise_auth_error(server: pilot.Server) -> None:
    with pytest.raises(pilot.AuthError) as caught:
        pilot.Client(server.url).projects()
    assert caught.value.status == 401
    assert "not logged in" in str(caught.value)


def test_an_unreachable_server_raises_unreachable_error(tmp_path: Path) -> None:
    with pytest.raises(pilot.UnreachableError) as caught:
        pilot.Client("http://127.0.0.1:1").nodes()
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.url.startswith("http://127.0.0.1:1")
    with pytest.raises(pilot.ValidationError) as invalid:
        pilot.Client("ftp://example.com")
    assert invalid.value.field == "url"


def test_the_local_node_is_online(client: pilot.Client) -> None:
    (node,) = client.nodes()
    assert node["name"] == "local" and node["online"] is True
    assert node["connection"]["tls"] is True
    assert client.health()["status"] in ("ok", "healthy")


def test_nodes_can_be_added_and_removed(client: pilot.Client) -> None:
    enrolment = client.add_node("edge-1")
    assert enrolment["node"]["name"] == "edge-1" and not enrolment["node"]["online"]
    assert enrolment["token"].startswith("pilot_nt_")
    assert "--name edge-1" in enrolment["agent_command"]
    client.remove_node("edge-1")
    assert [n["name"] for n in client.nodes()] == ["local"]
    with pytest.raises(pilot.NotFoundError) as caught:
        client.remove_node("edge-1")
    assert (caught.value.kind, caught.value.name) == ("node", "edge-1")


def test_an_unknown_project_raises_not_found_with_details(client: pilot.Client) -> None:
    with pytest.raises(pilot.NotFoundError) as caught:
        client.project("no-such-app")
    error = caught.value
    assert isinstance(error, LookupError) and isinstance(error, pilot.ApiError)
    assert (error.status, error.code) == (404, "not_found")
    assert (error.kind, error.name) == ("project", "no-such-app")
    assert "no-such-app does not exist" in error.message
    with pytest.raises(pilot.NotFoundError):
        client.deploy("no-such-app", ref="main")


def test_a_bad_config_raises_config_error_with_every_problem(
    client: pilot.Client, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "broken", "1.0.0", type="cobol")
    config = json.loads((app / "config.vpspilot.json").read_text())
    config["deployment"]["stratgy"] = "blue-green"
    (app / "config.vpspilot.json").write_text(json.dumps(config, indent=2))

    with pytest.raises(pilot.ConfigError) as caught:
        client.create_project("broken", directory=app, nodes=["local"])
    error = caught.value
    assert (error.status, error.code) == (422, "invalid_config")
    paths = [p.path for p in error.problems]
    assert "type" in paths and "deployment.stratgy" in paths
    assert all(isinstance(p, pilot.Problem) for p in error.problems)
    assert [d["path"] for d in error.details] == paths
    with pytest.raises(pilot.NotFoundError):
        client.project("broken")


def test_bad_arguments_raise_validation_error(client: pilot.Client, tmp_path: Path) -> None:
    with pytest.raises(pilot.ValidationError) as both:
        client.create_project("x", git="https://example.com/x.git", directory=tmp_path, nodes=["local"])
    assert both.value.field == "git"
    with pytest.raises(pilot.ValidationError) as agg:
        client.metrics("cpu_usage_percent", agg="median")
    assert agg.value.field == "agg"
    with pytest.raises(pilot.NotFoundError) as missing:
        client.deploy("x", directory=tmp_path / "missing")
    assert missing.value.kind == "directory"


def test_deploy_two_versions_roll_back_and_read_logs(client: pilot.Client, tmp_path: Path) -> None:
    app = write_app(tmp_path / "hello", "1.0.0", env={"GREETING": "{{GREETING}}"})
    created = client.create_project("hello", directory=app, nodes=["local"])
    try:
        assert created["project"]["name"] == "hello"
        assert [p["name"] for p in client.projects()] == ["hello"]
        assert client.env("hello")["missing"] == ["GREETING"]

        client.set_env("hello", "GREETING", "howdy-s3cret")
        names = client.env("hello")
        assert names == {"project": ["GREETING"], "nodes": {}, "missing": []}
        assert "howdy-s3cret" not in repr(names)

        events: list = []
        first = client.deploy("hello", directory=app, progress=events.append)
        assert isinstance(first, pilot.Rollout)
        assert (first.kind, first.status, first.succeeded, first.reason) == (
            "deploy",
            "succeeded",
            True,
            None,
        )
        (node,) = first.nodes
        assert (node.node, node.state, node.generation) == ("local", "succeeded", 1)
        steps = [e["event"]["step"] for e in events if e["type"] == "deploy" and e["event"]["event"] == "step_started"]
        assert steps[:3] == ["fetch", "configure", "build"]
        assert all(e["rollout"] == first.id for e in events)
        url = public_url(client, "hello")
        assert fetch(url) == "howdy-s3cret from python-hello 1.0.0"

        write_app(app, "2.0.0", env={"GREETING": "{{GREETING}}"})
        second = client.deploy("hello", directory=app)
        assert second.succeeded and second.nodes[0].generation == 2
        assert fetch(url) == "howdy-s3cret from python-hello 2.0.0"

        back = client.rollback("hello")
        assert (back.kind, back.status, back.nodes[0].generation) == ("rollback", "succeeded", 1)
        assert fetch(url) == "howdy-s3cret from python-hello 1.0.0"

        started = client.rollback("hello", 2, wait=False)
        done = client.wait_rollout(started.id)
        assert done.id == started.id and done.succeeded
        assert fetch(url) == "howdy-s3cret from python-hello 2.0.0"

        history = client.deployments("hello")
        assert [d["deployment"]["generation"] for d in history] == [2, 1, 2, 1]
        (logs,) = client.logs("hello", lines=50)["nodes"]
        assert logs["node"] == "local" and logs["error"] is None
        assert any("python-hello 2.0.0 listening" in line for line in logs["lines"])
        assert not any("howdy-s3cret" in line for line in logs["lines"])

        assert all(r["ok"] for r in client.stop("hello"))
        assert all(r["ok"] for r in client.start("hello"))
        assert fetch(url) == "howdy-s3cret from python-hello 2.0.0"
    finally:
        client.remove_project("hello")
    with pytest.raises(pilot.NotFoundError):
        client.project("hello")


def test_a_failing_progress_callback_is_raised_after_the_rollout(
    client: pilot.Client, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "cb", "1.0.0")
    client.create_project("cb", directory=app, nodes=["local"])
    try:
        def explode(event: dict) -> None:
            raise RuntimeError("callback broke")

        with pytest.raises(RuntimeError, match="callback broke"):
            client.deploy("cb", directory=app, progress=explode)
        (record,) = client.deployments("cb")
        assert record["deployment"]["generation"] == 1
    finally:
        client.remove_project("cb")


def test_metrics_of_node_local(client: pilot.Client) -> None:
    deadline = time.monotonic() + 60
    latest = client.latest_metrics("local")
    while not any(m["name"] == "cpu_usage_percent" for m in latest):
        assert time.monotonic() < deadline, "node local sent no metrics within 60 s"
        time.sleep(0.5)
        latest = client.latest_metrics("local")
    cpu = [m for m in latest if m["name"] == "cpu_usage_percent"]
    assert all(0.0 <= m["value"] <= 100.0 for m in cpu)

    answer = client.metrics("cpu_usage_percent", node="local", start="-10m", step=0)
    assert answer["metric"] == "cpu_usage_percent" and answer["step_ms"] == 0
    assert answer["series"] and all(s["node"] == "local" for s in answer["series"])
    points = answer["series"][0]["points"]
    assert points and all(answer["start_ms"] <= p["timestamp_ms"] < answer["end_ms"] for p in points)

    now = int(time.time() * 1000)
    stepped = client.metrics(
        "cpu_usage_percent", node="local", start=now - 600_000, end=now + 1000, step=60_000, agg="max"
    )
    assert (stepped["step_ms"], stepped["aggregation"]) == (60_000, "max")
    with pytest.raises(pilot.NotFoundError):
        client.latest_metrics("no-such-node")


def test_a_closed_server_refuses_new_clients(tmp_path: Path) -> None:
    server = pilot.Server(tmp_path / "data", local_agent=False)
    assert server.admin_password  # generated on this first start
    client = server.client()
    assert client.nodes() == []
    assert pilot.Client(server.url).login("admin", server.admin_password).username == "admin"
    server.close()
    server.close()
    with pytest.raises(pilot.PilotError, match="closed"):
        server.client()
    with pytest.raises(pilot.UnreachableError):
        client.nodes()
