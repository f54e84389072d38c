#!/usr/bin/env python3
"""Starts a Pilot server with a local agent in this process, then deploys an
app through its API, ships a second version and rolls back.

    python examples/python/server_deploy.py [APP_DIR] [--data DIR]

APP_DIR defaults to examples/apps/python-hello and DIR to
./pilot-data/server. Point a `pilot.Client` at a real server instead of
`server.client()` to do the same remotely. The app stops when the script ends.
"""

import argparse
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pilot

HELLO = Path(__file__).resolve().parent.parent / "apps" / "python-hello"


def answer(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode().strip()


def show(event: dict) -> None:
    if event["type"] == "deploy" and event["event"]["event"] == "step_started":
        print(f"  · {event['node']}: {event['event']['step']}")
    elif event["type"] == "rollout_finished":
        print("  rollout finished")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", type=Path, default=HELLO)
    parser.add_argument("--data", type=Path, default=Path("pilot-data/server"))
    args = parser.parse_args()

    with pilot.Server(args.data) as server, tempfile.TemporaryDirectory() as scratch:
        client = server.client()
        print(f"server at {server.url}, nodes: {[n['name'] for n in client.nodes()]}")
        try:
            client.project("demo")
        except pilot.NotFoundError:
            client.create_project("demo", directory=args.app, nodes=["local"])

        first = client.deploy("demo", directory=args.app, progress=show)
        if not first.succeeded:
            raise SystemExit(f"deploy failed: {first.reason}")
        port = client.deployments("demo", limit=1)[0]["deployment"]["public_port"]
        url = f"http://127.0.0.1:{port}/"
        print(f"generation {first.nodes[0].generation} live at {url}: {answer(url)}")

        second_app = Path(scratch) / "v2"
        shutil.copytree(args.app, second_app)
        (second_app / "VERSION").write_text("v2\n")
        second = client.deploy("demo", directory=second_app, progress=show)
        print(f"generation {second.nodes[0].generation} live: {answer(url)}")

        back = client.rollback("demo")
        print(f"rolled back to generation {back.nodes[0].generation}: {answer(url)}")
        for line in client.logs("demo", lines=3)["nodes"][0]["lines"]:
            print(f"  log: {line}")


if __name__ == "__main__":
    main()
