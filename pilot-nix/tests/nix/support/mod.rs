//! Real Nix for tests: installs it with `scripts/setup/nix.sh` when missing
//! (when it still is, tests fail under `CI=true` and are skipped with a
//! message otherwise), and writes a small stand-in for nixpkgs and the
//! community runtime flakes that every flake input is overridden with, so
//! everything runs offline.

#![allow(dead_code)]

mod stub;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pilot_core::testing::{ensure_component, setup_script};
use pilot_nix::NixOptions;
pub use stub::{HostTools, StubVersions};

/// Makes sure `nix` is installed, running the setup script if needed.
/// Returns whether it is; when it is not, fails under `CI=true` and returns
/// `false` (with a message) otherwise.
pub fn ensure_nix() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| ensure_component("Nix", &setup_script("nix.sh"), nix_works))
}

fn nix_works() -> bool {
    Command::new("nix")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A private registry and the stub flake, with options pointing every
/// input at the stub.
pub struct NixTestbed {
    dir: tempfile::TempDir,
    /// Options for `NixRuntime`/`FlakeBuilder` and the helpers below.
    pub options: NixOptions,
    /// Versions the stub's packages report.
    pub versions: StubVersions,
}

impl NixTestbed {
    /// Installs Nix if needed and writes the stub; `None` when Nix is
    /// unavailable outside CI (the test then returns early).
    pub fn new() -> Option<NixTestbed> {
        if !ensure_nix() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("registry.json");
        std::fs::write(&registry, r#"{"flakes":[],"version":2}"#).unwrap();
        let stub_dir = dir.path().join("stub");
        std::fs::create_dir_all(&stub_dir).unwrap();
        let host = HostTools::discover();
        let versions = StubVersions::new(&host);
        std::fs::write(stub_dir.join("flake.nix"), stub::flake(&host, &versions)).unwrap();
        let stub_ref = format!("path:{}", stub_dir.display());
        let mut options = NixOptions {
            offline: true,
            config: vec![
                "substituters =".to_string(),
                format!("flake-registry = {}", registry.display()),
            ],
            ..NixOptions::default()
        };
        for input in ["nixpkgs", "nixpkgs-python", "phps", "nixpkgs-ruby"] {
            options
                .overrides
                .insert(input.to_string(), stub_ref.clone());
        }
        Some(NixTestbed {
            dir,
            options,
            versions,
        })
    }

    /// The stub flake's directory.
    pub fn stub_dir(&self) -> PathBuf {
        self.dir.path().join("stub")
    }

    /// A scratch directory inside the testbed.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// Runs a `nix` subcommand on the flake in `flake_dir` (overrides and
    /// offline settings added); returns (success, stdout, stderr).
    pub fn nix(&self, args: &[&str], flake_dir: &Path, attribute: &str) -> (bool, String, String) {
        let mut cmd = Command::new("nix");
        cmd.env("NIX_CONFIG", self.options.nix_config());
        let reference = if attribute.is_empty() {
            format!("path:{}", flake_dir.display())
        } else {
            format!("path:{}#{attribute}", flake_dir.display())
        };
        // Arguments after "--" (the command of `nix develop`) go last.
        let split = args.iter().position(|a| *a == "--").unwrap_or(args.len());
        cmd.args(&args[..split])
            .args(self.options.flake_flags())
            .arg(reference)
            .args(args[split..].iter().skip(1));
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `nix-instantiate --parse` of a file: (success, stderr).
    pub fn parse(&self, file: &Path) -> (bool, String) {
        let out = Command::new("nix-instantiate")
            .arg("--parse")
            .arg(file)
            .env("NIX_CONFIG", self.options.nix_config())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
