#!/usr/bin/env python3
"""Deploys an app on this machine, ships a second version, rolls back.

    python examples/python/deploy_local.py [APP_DIR] [--data DIR]

APP_DIR defaults to examples/apps/python-hello and DIR to
./pilot-data/python. Everything runs in this process (the deploy engine,
its supervisor and the traffic proxy); the app stops when the script ends.
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
    if event["event"] == "step_started":
        print(f"  · {event['step']}")
    elif event["event"] == "step_failed":
        print(f"  ✗ {event['step']}: {event['error']}")
    elif event["event"] == "switched":
        print(f"  → traffic to generation {event['generation']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", type=Path, default=HELLO)
    parser.add_argument("--data", type=Path, default=Path("pilot-data/python"))
    args = parser.parse_args()

    with pilot.Deployer(args.data) as deployer, tempfile.TemporaryDirectory() as scratch:
        print(f"deploying {args.app}")
        first = deployer.deploy(args.app, "demo", progress=show)
        url = deployer.url("demo")
        print(f"generation {first.generation} live at {url}: {answer(url)}")

        second_app = Path(scratch) / "v2"
        shutil.copytree(args.app, second_app)
        (second_app / "VERSION").write_text("v2\n")
        print("deploying a second version")
        second = deployer.deploy(second_app, "demo", progress=show)
        print(f"generation {second.generation} live: {answer(url)}")

        print("rolling back")
        back = deployer.rollback("demo", first.generation, progress=show)
        print(f"generation {back.generation} live again at {url}: {answer(url)}")


if __name__ == "__main__":
    main()
