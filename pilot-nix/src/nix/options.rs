//! How Pilot calls Nix: which binary, which settings, which input overrides.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Settings of every Nix call Pilot makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NixOptions {
    /// The `nix` program (default: `nix` on `PATH`).
    pub program: PathBuf,
    /// Pass `--offline` (use only what is in the store and local flakes).
    pub offline: bool,
    /// Extra `nix.conf` lines, e.g. `"substituters ="`; flakes are always enabled.
    pub config: Vec<String>,
    /// Flake inputs to replace, by input name (`--override-input NAME REF`),
    /// e.g. a local mirror of nixpkgs.
    pub overrides: BTreeMap<String, String>,
    /// The Nix system to use, e.g. `x86_64-linux` (default: this machine's).
    pub system: String,
    /// Append this process's `PATH` after the toolchain's, as `nix develop`
    /// does (default true), so host tools such as `git` stay reachable.
    pub inherit_path: bool,
}

impl Default for NixOptions {
    fn default() -> Self {
        NixOptions {
            program: PathBuf::from("nix"),
            offline: false,
            config: Vec::new(),
            overrides: BTreeMap::new(),
            system: current_system(),
            inherit_path: true,
        }
    }
}

impl NixOptions {
    /// The `NIX_CONFIG` value for a call.
    pub fn nix_config(&self) -> String {
        let mut config = vec!["experimental-features = nix-command flakes".to_string()];
        config.extend(self.config.iter().cloned());
        config.join("\n")
    }

    /// The flags every flake command gets: `--offline` and the overrides.
    pub fn flake_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if self.offline {
            flags.push("--offline".to_string());
        }
        for (input, reference) in &self.overrides {
            flags.extend([
                "--override-input".to_string(),
                input.clone(),
                reference.clone(),
            ]);
        }
        flags
    }
}

/// The Nix system name of this machine, e.g. `x86_64-linux`.
pub fn current_system() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    format!("{}-{os}", std::env::consts::ARCH)
}

/// Where Pilot keeps its Nix files inside a release directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseNixDir {
    root: PathBuf,
}

impl ReleaseNixDir {
    /// The Nix files of the release in `release_dir` (under `.pilot/nix`).
    pub fn new(release_dir: &std::path::Path) -> Self {
        ReleaseNixDir {
            root: release_dir.join(pilot_core::engine::PILOT_DIR).join("nix"),
        }
    }

    /// `.pilot/nix/`.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// `.pilot/nix/flake/`: the generated flake of a template app.
    pub fn flake_dir(&self) -> PathBuf {
        self.root.join("flake")
    }

    /// `.pilot/nix/dev-env`: the GC root (a profile) of the realised dev shell.
    pub fn dev_env_root(&self) -> PathBuf {
        self.root.join("dev-env")
    }

    /// `.pilot/nix/result`: the GC root of the built package.
    pub fn build_root(&self) -> PathBuf {
        self.root.join("result")
    }

    /// `.pilot/nix/develop.log`: Nix's full output while realising the dev shell.
    pub fn develop_log(&self) -> PathBuf {
        self.root.join("develop.log")
    }

    /// `.pilot/nix/build.log`: Nix's full output while building.
    pub fn build_log(&self) -> PathBuf {
        self.root.join("build.log")
    }
}
