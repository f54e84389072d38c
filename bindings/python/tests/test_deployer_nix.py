"""Deployer with the Nix runtime, offline: every flake input of the
generated flake is overridden with a small stand-in for nixpkgs whose
Python wraps this machine's interpreter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pilot
from conftest import REPO, fetch, write_app


def ensure_nix() -> None:
    """Installs Nix with the project's setup script when it is missing."""
    if shutil.which("nix") is None:
        subprocess.run(["bash", str(REPO / "scripts" / "setup" / "nix.sh")], check=True)
    assert shutil.which("nix") is not None, (
        "these tests need Nix and scripts/setup/nix.sh could not install it "
        f"(CI={os.environ.get('CI', '')})"
    )


STUB = """{
  description = "Stand-in for nixpkgs in Pilot's Python tests";
  outputs = { self }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      binPath = paths: builtins.concatStringsSep ":" ((map (p: "${p}/bin") paths) ++ [ "/usr/bin" "/bin" ]);
      tool = system: name: script: derivation {
        inherit name system;
        builder = "/bin/sh";
        PATH = "/usr/bin:/bin";
        args = [ "-c" ("mkdir -p $out/bin && " + script) ];
      };
      pkgsFor = system: {
        python311 = tool system "python3-@VERSION@" "ln -s @PYTHON@ $out/bin/python3 && ln -s @PYTHON@ $out/bin/python" // {
          version = "@VERSION@";
          pkgs.pip = tool system "pip-1.0" "printf '#!/bin/sh\\\\necho pip 1.0\\\\n' > $out/bin/pip && chmod +x $out/bin/pip";
        };
        mkShell = { name ? "nix-shell", packages ? [ ], ... }@attrs:
          derivation ((builtins.removeAttrs attrs [ "packages" ]) // {
            inherit name system;
            builder = "/bin/bash";
            outputs = [ "out" ];
            PATH = binPath packages;
            args = [ "-c" "echo > $out" ];
          });
        writeShellScriptBin = name: text: derivation {
          inherit name system text;
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          args = [ "-c" "mkdir -p $out/bin && { echo '#!/bin/bash'; printf '%s' \\"$text\\"; } > $out/bin/$name && chmod +x $out/bin/$name" ];
        };
        buildEnv = { name, paths, ... }: derivation {
          inherit name system paths;
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          args = [ "-c" "mkdir -p $out/bin && for p in $paths; do for f in $p/bin/*; do ln -sf $f $out/bin/; done; done" ];
        };
      };
    in {
      legacyPackages = forAllSystems pkgsFor;
    };
}
"""


@pytest.fixture
def nix_deployer(tmp_path: Path):
    ensure_nix()
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    version = ".".join(map(str, sys.version_info[:3]))
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "flake.nix").write_text(
        STUB.replace("@PYTHON@", python).replace("@VERSION@", version)
    )
    registry = tmp_path / "registry.json"
    registry.write_text('{"flakes": [], "version": 2}')
    with pilot.Deployer(
        tmp_path / "data",
        runtime="nix",
        nix_offline=True,
        nix_overrides={"nixpkgs": f"path:{stub}"},
        nix_config=["substituters =", f"flake-registry = {registry}"],
    ) as deployer:
        yield deployer


def test_a_release_runs_in_its_generated_flake(nix_deployer: pilot.Deployer, tmp_path: Path) -> None:
    assert nix_deployer.runtime == "nix"
    app = write_app(tmp_path / "hello", "1.0.0")
    events: list[dict] = []
    first = nix_deployer.deploy(app, "hello", progress=events.append)
    assert fetch(first.url) == "hello from python-hello 1.0.0"
    release = next((tmp_path / "data" / "projects" / "hello" / "releases").iterdir())
    flake = (release / ".pilot" / "nix" / "flake" / "flake.nix").read_text()
    assert flake == pilot.render_flake(pilot.load_config(app))["flake.nix"]
    # Template apps run their config's commands in the release's dev shell,
    # exactly as the agent builds them.
    assert any(
        e["event"] == "log" and e["line"].startswith("[pilot] toolchain (nix): ") for e in events
    ), [e for e in events if e["event"] == "log"]

    write_app(app, "2.0.0")
    nix_deployer.deploy(app, "hello")
    assert fetch(first.url) == "hello from python-hello 2.0.0"
    nix_deployer.rollback("hello")
    assert fetch(first.url) == "hello from python-hello 1.0.0"
