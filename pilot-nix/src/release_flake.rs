//! The flake of one release: Pilot's generated flake for template apps
//! (written to `.pilot/nix/flake/`), or the app's own flake for `custom`
//! apps, checked before Nix evaluates it.

use std::path::{Path, PathBuf};

use pilot_core::config::{AppConfig, AppType};
use pilot_core::fsutil::write_atomic;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::flake::render_flake;
use crate::nix::{NixCall, NixOptions, ReleaseNixDir};

/// Where a release's flake is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFlake {
    /// The directory holding `flake.nix` (absolute).
    pub dir: PathBuf,
    /// Whether it is the app's own flake.
    pub custom: bool,
}

impl ReleaseFlake {
    /// The flake reference Nix gets, `path:<dir>` (untracked files count).
    pub fn reference(&self) -> String {
        format!("path:{}", self.dir.display())
    }

    /// The reference of one output attribute, e.g. `path:/x#packages.x86_64-linux.default`.
    pub fn output(&self, attribute: &str) -> String {
        format!("{}#{attribute}", self.reference())
    }

    /// Writes the generated flake of a template app, or checks a custom
    /// app's own flake (present, named `flake.nix`, inside the release, and
    /// parsing).
    pub async fn prepare(
        release_dir: &Path,
        config: &AppConfig,
        catalog: &Catalog,
        options: &NixOptions,
    ) -> Result<ReleaseFlake> {
        let release_dir = std::fs::canonicalize(release_dir)
            .map_err(|e| pilot_core::Error::io("open release directory", release_dir, e))?;
        if config.app_type != AppType::Custom {
            let flake = render_flake(config, catalog)?;
            let dir = ReleaseNixDir::new(&release_dir).flake_dir();
            write_atomic(&dir.join("flake.nix"), flake.text.as_bytes(), 0o644)?;
            return Ok(ReleaseFlake { dir, custom: false });
        }
        let file = custom_flake_file(&release_dir, config)?;
        let log = ReleaseNixDir::new(&release_dir).root().join("parse.log");
        NixCall::tool(
            options,
            "nix-instantiate",
            ["--parse".to_string(), file.display().to_string()],
        )
        .run(&log)
        .await
        .map_err(|e| match e {
            Error::NixFailed { failure, .. } => Error::CustomFlake {
                path: file.clone(),
                reason: failure.to_string(),
                hint: "fix the syntax error at the place shown and deploy again",
            },
            other => other,
        })?;
        let dir = file
            .parent()
            .map_or_else(|| release_dir.clone(), Path::to_path_buf);
        Ok(ReleaseFlake { dir, custom: true })
    }
}

/// The custom flake file of a release, checked to exist inside it and to be
/// named `flake.nix`.
fn custom_flake_file(release_dir: &Path, config: &AppConfig) -> Result<PathBuf> {
    let relative = config
        .nix
        .as_ref()
        .and_then(|n| n.flake_file.as_deref())
        .unwrap_or("flake.nix");
    let file = release_dir.join(relative);
    let problem = |reason: String, hint| Error::CustomFlake {
        path: file.clone(),
        reason,
        hint,
    };
    let resolved = match std::fs::canonicalize(&file) {
        Ok(resolved) => resolved,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(problem(
                "the file does not exist in the release".into(),
                "commit your flake.nix, or point `nix.flake_file` at it",
            ));
        }
        Err(e) => return Err(pilot_core::Error::io("open", &file, e).into()),
    };
    if !resolved.starts_with(release_dir) {
        return Err(problem(
            format!("it resolves to {}, outside the release", resolved.display()),
            "keep the flake inside the app; do not link to files elsewhere",
        ));
    }
    if !resolved.is_file() || resolved.file_name().is_none_or(|n| n != "flake.nix") {
        return Err(problem(
            "it is not a file named flake.nix".into(),
            "Nix only reads a flake from a file named flake.nix; rename it or fix `nix.flake_file`",
        ));
    }
    Ok(resolved)
}
