#!/usr/bin/env python3
"""Checks config.vpspilot.json files and prints every problem with its place.

    python examples/python/validate_config.py [APP_DIR_OR_FILE ...]

Without arguments it checks examples/apps/python-hello, then a broken copy
of its config, to show what problems look like. Exits 1 when any config is
invalid.
"""

import json
import sys
from pathlib import Path

import pilot

APPS = Path(__file__).resolve().parent.parent / "apps"


def check(label: str, load) -> bool:
    try:
        config = load()
    except pilot.ConfigError as error:
        print(f"{label}: {len(error.problems) or 'cannot read'} problem(s)")
        if not error.problems:
            print(f"  {error}")
        for p in error.problems:
            place = f"line {p.line}, column {p.column}" if p.line else "whole file"
            print(f"  {p.path or '(document)'} [{place}]: {p.message}")
            if p.hint:
                print(f"      hint: {p.hint}")
        return False
    runtimes = ", ".join(f"{k} {v}" for k, v in config.runtime.requested().items())
    print(f"{label}: ok — {config.name!r}, a {config.type} app ({runtimes or 'no runtime'})")
    return True


def main() -> int:
    ok = True
    if len(sys.argv) > 1:
        for arg in sys.argv[1:]:
            ok &= check(arg, lambda arg=arg: pilot.load_config(arg))
        return 0 if ok else 1
    hello = APPS / "python-hello"
    check(str(hello), lambda: pilot.load_config(hello))
    broken = json.loads((hello / "config.vpspilot.json").read_text())
    broken["runtime"] = {"python": "3.9"}
    broken["deployment"]["stratgy"] = "blue-green"
    broken["env"]["PORT"] = "80"
    text = json.dumps(broken, indent=2)
    check("a broken copy", lambda: pilot.validate_config(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
