//! The files Pilot keeps inside a release directory so that a kept
//! generation can be started again without rebuilding:
//!
//! - `.env` (mode 0600): the app's environment with secrets filled in;
//! - `.pilot/secrets.env` (mode 0600): the secret values the release uses,
//!   so its logs stay masked when it runs again;
//! - `.pilot/release.json`: the toolchain environment (no secrets).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::AppConfig;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{read_json, write_atomic, write_json_atomic};
use crate::runtime::Toolchain;
use crate::secrets::SecretValue;

/// Pilot's directory inside a release.
pub const PILOT_DIR: &str = ".pilot";

/// Non-secret facts about a built release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    /// Which runtime prepared the toolchain.
    pub runtime: String,
    /// The toolchain environment.
    pub toolchain_env: BTreeMap<String, String>,
    /// What the toolchain holds.
    pub toolchain: String,
}

impl ReleaseInfo {
    /// The toolchain this release was built with.
    pub fn toolchain(&self) -> Toolchain {
        Toolchain {
            env: self.toolchain_env.clone(),
            description: self.toolchain.clone(),
        }
    }
}

/// Paths of Pilot's files in one release directory.
#[derive(Debug, Clone)]
pub struct ReleaseFiles {
    dir: PathBuf,
}

impl ReleaseFiles {
    /// The files of the release in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ReleaseFiles { dir: dir.into() }
    }

    /// The release directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn env_file(&self) -> PathBuf {
        self.dir.join(".env")
    }

    fn secrets_file(&self) -> PathBuf {
        self.dir.join(PILOT_DIR).join("secrets.env")
    }

    fn info_file(&self) -> PathBuf {
        self.dir.join(PILOT_DIR).join("release.json")
    }

    /// Writes `.env` and `.pilot/secrets.env`, both mode 0600.
    pub fn write_env(
        &self,
        app_env: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, SecretValue>,
    ) -> Result<()> {
        write_atomic(
            &self.env_file(),
            format_env(app_env.iter().map(|(k, v)| (k.as_str(), v.as_str()))).as_bytes(),
            0o600,
        )?;
        write_atomic(
            &self.secrets_file(),
            format_env(secrets.iter().map(|(k, v)| (k.as_str(), v.expose()))).as_bytes(),
            0o600,
        )
    }

    /// Reads `.env` and the secret values back.
    pub fn read_env(&self) -> Result<(BTreeMap<String, String>, Vec<String>)> {
        let env =
            parse_env(&std::fs::read_to_string(self.env_file()).ctx("read", self.env_file())?);
        let secrets = match std::fs::read_to_string(self.secrets_file()) {
            Ok(text) => parse_env(&text).into_values().collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("read", self.secrets_file(), e)),
        };
        Ok((env, secrets))
    }

    /// Writes `.pilot/release.json`.
    pub fn write_info(&self, info: &ReleaseInfo) -> Result<()> {
        write_json_atomic(&self.info_file(), info)
    }

    /// Reads `.pilot/release.json`.
    pub fn read_info(&self) -> Result<ReleaseInfo> {
        read_json(&self.info_file())?.ok_or_else(|| Error::CorruptState {
            path: self.info_file(),
            reason: "the release was never built completely".into(),
        })
    }

    /// Reads the release's own `config.vpspilot.json`.
    pub fn read_config(&self) -> Result<AppConfig> {
        Ok(crate::config::load(&self.dir)?)
    }
}

/// Fills every `{{NAME}}` placeholder of the app env from `secrets`; fails
/// with every missing name at once.
pub fn render_env(
    project: &str,
    config: &AppConfig,
    secrets: &BTreeMap<String, SecretValue>,
) -> Result<BTreeMap<String, String>> {
    let mut missing: Vec<String> = config
        .env
        .values()
        .flat_map(|v| crate::config::placeholders(v))
        .filter(|name| !secrets.contains_key(name))
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Err(Error::MissingSecrets {
            project: project.to_string(),
            names: missing,
        });
    }
    Ok(config
        .env
        .iter()
        .map(|(key, template)| {
            let mut value = template.clone();
            for name in crate::config::placeholders(template) {
                if let Some(secret) = secrets.get(&name) {
                    value = value.replace(&format!("{{{{{name}}}}}"), secret.expose());
                }
            }
            (key.clone(), value)
        })
        .collect())
}

/// `KEY="value"` lines; `\`, `"` and newlines escaped.
fn format_env<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        out.push_str(&format!("{key}=\"{escaped}\"\n"));
    }
    out
}

fn parse_env(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let raw = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some(other) => value.push(other),
                    None => value.push('\\'),
                }
            } else {
                value.push(c);
            }
        }
        out.insert(key.to_string(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_round_trip_with_awkward_values() {
        let dir = tempfile::tempdir().unwrap();
        let files = ReleaseFiles::new(dir.path());
        let mut env = BTreeMap::new();
        env.insert("A".to_string(), "plain".to_string());
        env.insert(
            "B".to_string(),
            "quote\" back\\slash\nnewline = sign".to_string(),
        );
        let mut secrets = BTreeMap::new();
        secrets.insert("S".to_string(), SecretValue::new("s3cr\"et"));
        files.write_env(&env, &secrets).unwrap();
        let (read, values) = files.read_env().unwrap();
        assert_eq!(read, env);
        assert_eq!(values, vec!["s3cr\"et".to_string()]);
        use std::os::unix::fs::PermissionsExt;
        for f in [
            dir.path().join(".env"),
            dir.path().join(".pilot/secrets.env"),
        ] {
            assert_eq!(
                std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn render_fills_placeholders_and_lists_every_missing_name() {
        let mut config: AppConfig = serde_json::from_value(serde_json::json!({
            "name": "x", "type": "static", "start": {"command": "true"},
            "env": {"URL": "postgres://u:{{DB_PASSWORD}}@h/{{DB_NAME}}", "PLAIN": "p"}
        }))
        .unwrap();
        let mut secrets = BTreeMap::new();
        secrets.insert("DB_PASSWORD".to_string(), SecretValue::new("pw"));
        secrets.insert("DB_NAME".to_string(), SecretValue::new("shop"));
        let env = render_env("x", &config, &secrets).unwrap();
        assert_eq!(env["URL"], "postgres://u:pw@h/shop");
        assert_eq!(env["PLAIN"], "p");

        config.env.insert("K".into(), "{{API_KEY}}{{ZED}}".into());
        let err = render_env("x", &config, &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing secrets for project x: API_KEY, DB_NAME, DB_PASSWORD, ZED; set them before deploying"
        );
    }
}
