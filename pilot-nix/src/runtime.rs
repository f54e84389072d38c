//! [`NixRuntime`]: the toolchain of a release is its flake's dev shell,
//! realised once with `nix print-dev-env --json`; every later command runs
//! with that environment directly, without Nix.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use pilot_core::config::AppConfig;
use pilot_core::{Runtime, Toolchain};
use serde::Deserialize;
use tracing::Instrument;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::nix::{NixCall, NixOptions, ReleaseNixDir};
use crate::release_flake::ReleaseFlake;

/// Variables of a dev shell that belong to the build sandbox, not to the
/// app (the same set `nix develop` leaves out, plus derivation plumbing).
const SANDBOX_VARS: &[&str] = &[
    "BASHOPTS",
    "HOME",
    "IN_NIX_SHELL",
    "NIX_BUILD_CORES",
    "NIX_BUILD_TOP",
    "NIX_ENFORCE_PURITY",
    "NIX_LOG_FD",
    "NIX_REMOTE",
    "OLDPWD",
    "PPID",
    "PWD",
    "SHELL",
    "SHELLOPTS",
    "SHLVL",
    "SSL_CERT_FILE",
    "TEMP",
    "TEMPDIR",
    "TERM",
    "TMP",
    "TMPDIR",
    "TZ",
    "UID",
    "builder",
    "dontAddDisableDepTrack",
    "name",
    "out",
    "outputs",
    "shellHook",
    "stdenv",
    "system",
];

/// Variables taken from the host, as the host runtime does.
const HOST_VARS: &[&str] = &["HOME", "LANG", "LOGNAME", "TZ", "USER"];

/// The `Runtime` that provides each release's toolchain from Nix.
#[derive(Debug, Clone)]
pub struct NixRuntime {
    options: NixOptions,
    catalog: Arc<Catalog>,
}

/// The part of `nix print-dev-env --json` Pilot reads.
#[derive(Debug, Deserialize)]
struct DevEnv {
    variables: BTreeMap<String, DevVar>,
}

#[derive(Debug, Deserialize)]
struct DevVar {
    #[serde(rename = "type")]
    kind: String,
    value: serde_json::Value,
}

impl Default for NixRuntime {
    fn default() -> Self {
        Self::new(NixOptions::default())
    }
}

impl NixRuntime {
    /// A runtime with the built-in catalog.
    pub fn new(options: NixOptions) -> Self {
        NixRuntime {
            options,
            catalog: Arc::new(Catalog::builtin().clone()),
        }
    }

    /// Uses another catalog (e.g. a node operator's own pins).
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Arc::new(catalog);
        self
    }

    /// The Nix settings.
    pub fn options(&self) -> &NixOptions {
        &self.options
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Writes or checks the release's flake and realises its dev shell; the
    /// dev shell is kept as a GC root in `.pilot/nix/dev-env` for as long as
    /// the release exists.
    pub async fn realise(&self, release_dir: &Path, config: &AppConfig) -> Result<Toolchain> {
        let flake =
            ReleaseFlake::prepare(release_dir, config, &self.catalog, &self.options).await?;
        let dir = ReleaseNixDir::new(
            &std::fs::canonicalize(release_dir)
                .map_err(|e| pilot_core::Error::io("open release directory", release_dir, e))?,
        );
        let mut args = vec![
            "print-dev-env".to_string(),
            "--json".to_string(),
            "--profile".to_string(),
            dir.dev_env_root().display().to_string(),
        ];
        args.extend(self.options.flake_flags());
        args.push(flake.reference());
        let call = NixCall::nix(&self.options, args);
        let command = call.describe();
        let json = call
            .run(&dir.develop_log())
            .await
            .map_err(|e| explain_custom(e, &flake))?;
        let dev: DevEnv = serde_json::from_str(&json).map_err(|e| Error::NixOutput {
            command,
            reason: format!("print-dev-env did not print its JSON document: {e}"),
        })?;
        Ok(self.toolchain(dev, &flake, config))
    }

    fn toolchain(&self, dev: DevEnv, flake: &ReleaseFlake, config: &AppConfig) -> Toolchain {
        let mut env: BTreeMap<String, String> = dev
            .variables
            .into_iter()
            .filter(|(name, var)| var.kind == "exported" && !SANDBOX_VARS.contains(&name.as_str()))
            .filter_map(|(name, var)| match var.value {
                serde_json::Value::String(value) => Some((name, value)),
                _ => None,
            })
            .collect();
        for key in HOST_VARS {
            if let Ok(value) = std::env::var(key) {
                env.entry(key.to_string()).or_insert(value);
            }
        }
        if self.options.inherit_path
            && let Ok(host) = std::env::var("PATH")
        {
            let path = env.remove("PATH").unwrap_or_default();
            let joined = if path.is_empty() {
                host
            } else {
                format!("{path}:{host}")
            };
            env.insert("PATH".to_string(), joined);
        }
        let description = match env.get("PILOT_TOOLCHAIN") {
            Some(summary) if !flake.custom => format!("{summary} (nix)"),
            _ if flake.custom => format!(
                "custom flake {}",
                config
                    .nix
                    .as_ref()
                    .and_then(|n| n.flake_file.as_deref())
                    .unwrap_or("flake.nix")
            ),
            _ => "nix dev shell".to_string(),
        };
        Toolchain { env, description }
    }
}

/// A custom flake without a dev shell or package gets an error saying so.
fn explain_custom(error: Error, flake: &ReleaseFlake) -> Error {
    match error {
        Error::NixFailed { ref failure, .. }
            if flake.custom && failure.to_string().contains("does not provide attribute") =>
        {
            Error::CustomFlake {
                path: flake.dir.join("flake.nix"),
                reason:
                    "it provides neither devShells.<system>.default nor packages.<system>.default"
                        .to_string(),
                hint: "add a devShells.<system>.default holding the app's toolchain",
            }
        }
        other => other,
    }
}

#[async_trait]
impl Runtime for NixRuntime {
    fn name(&self) -> &'static str {
        "nix"
    }

    async fn prepare(
        &self,
        release_dir: &Path,
        config: &AppConfig,
    ) -> pilot_core::Result<Toolchain> {
        let span = tracing::info_span!(
            "nix_prepare",
            release = %release_dir.display(),
            app_type = %config.app_type
        );
        let log = ReleaseNixDir::new(release_dir).develop_log();
        self.realise(release_dir, config)
            .instrument(span)
            .await
            .map_err(|e| e.into_core(&log))
    }
}
