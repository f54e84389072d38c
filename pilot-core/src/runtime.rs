//! The [`Runtime`] trait: the toolchain environment a release's commands run
//! in, and [`HostRuntime`], which uses the host's own PATH.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;

use crate::config::{AppConfig, Language};
use crate::error::{Error, Result};

/// The environment a release's commands and service run with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toolchain {
    /// Base environment (PATH and whatever the toolchain needs). App env and
    /// `PORT` are added on top by the engine.
    pub env: BTreeMap<String, String>,
    /// Human-readable description of what was resolved, e.g. "python 3.11.2, node 20.10.0".
    pub description: String,
}

/// Provides the toolchain (language runtimes) for a release.
#[async_trait]
pub trait Runtime: Send + Sync {
    /// Short name for logs and status, e.g. "host" or "nix".
    fn name(&self) -> &'static str;

    /// Resolves the toolchain for the release in `release_dir` once; every
    /// later command of that release runs with the returned environment.
    /// Fails with a clear error when a requested runtime is unavailable.
    async fn prepare(&self, release_dir: &Path, config: &AppConfig) -> Result<Toolchain>;
}

/// Runs commands with the host's own tools, after checking that every runtime
/// the config requests is installed in a matching version.
#[derive(Debug, Clone)]
pub struct HostRuntime {
    path: String,
}

impl Default for HostRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl HostRuntime {
    /// A host runtime using this process's `PATH`.
    pub fn new() -> Self {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        HostRuntime { path }
    }

    /// A host runtime using the given `PATH` instead of this process's.
    pub fn with_path(path: impl Into<String>) -> Self {
        HostRuntime { path: path.into() }
    }

    /// The version the host has for `language`, e.g. `Some("3.11.7")`, or a
    /// description of why there is none.
    pub async fn host_version(&self, language: Language) -> std::result::Result<String, String> {
        let candidates: &[(&str, &[&str])] = match language {
            Language::Node => &[("node", &["--version"])],
            Language::Php => &[("php", &["--version"])],
            Language::Python => &[("python3", &["--version"]), ("python", &["--version"])],
            Language::Go => &[("go", &["version"])],
            Language::Ruby => &[("ruby", &["--version"])],
        };
        let mut tried = Vec::new();
        for (program, args) in candidates {
            let output = tokio::process::Command::new(program)
                .args(*args)
                .env("PATH", &self.path)
                .output()
                .await;
            match output {
                Ok(out) if out.status.success() => {
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    return extract_version(&text)
                        .ok_or_else(|| format!("{program} printed no version: {}", text.trim()));
                }
                Ok(out) => tried.push(format!("`{program}` exited with {}", out.status)),
                Err(_) => tried.push(format!("{program} not found on PATH")),
            }
        }
        Err(tried.join(", "))
    }
}

/// Whether a host version such as "3.11.7" satisfies a wanted "3.11" or "3.11.7".
pub fn version_matches(wanted: &str, have: &str) -> bool {
    let wanted: Vec<&str> = wanted.split('.').collect();
    let have: Vec<&str> = have.split('.').collect();
    wanted.len() <= have.len() && wanted.iter().zip(&have).all(|(w, h)| w == h)
}

/// The first `digits(.digits)+` in a version banner such as "Python 3.11.7",
/// "v20.10.0" or "go version go1.22.1 linux/amd64".
fn extract_version(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let candidate = text[start..i].trim_end_matches('.');
            if candidate.contains('.') {
                return Some(candidate.to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

#[async_trait]
impl Runtime for HostRuntime {
    fn name(&self) -> &'static str {
        "host"
    }

    async fn prepare(&self, _release_dir: &Path, config: &AppConfig) -> Result<Toolchain> {
        let mut found = Vec::new();
        for (language, wanted) in config.runtime.requested() {
            match self.host_version(language).await {
                Ok(have) if version_matches(wanted, &have) => {
                    found.push(format!("{language} {have}"));
                }
                Ok(have) => {
                    return Err(Error::RuntimeMissing {
                        language: language.to_string(),
                        wanted: wanted.to_string(),
                        found: format!("the host has {language} {have}"),
                    });
                }
                Err(why) => {
                    return Err(Error::RuntimeMissing {
                        language: language.to_string(),
                        wanted: wanted.to_string(),
                        found: why,
                    });
                }
            }
        }
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), self.path.clone());
        for key in ["HOME", "LANG", "TZ", "USER"] {
            if let Ok(value) = std::env::var(key) {
                env.insert(key.to_string(), value);
            }
        }
        Ok(Toolchain {
            env,
            description: if found.is_empty() {
                "host tools".to_string()
            } else {
                found.join(", ")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_versions_from_banners() {
        assert_eq!(
            extract_version("Python 3.11.7\n").as_deref(),
            Some("3.11.7")
        );
        assert_eq!(extract_version("v20.10.0").as_deref(), Some("20.10.0"));
        assert_eq!(
            extract_version("go version go1.22.1 linux/amd64").as_deref(),
            Some("1.22.1")
        );
        assert_eq!(
            extract_version("ruby 3.2.2 (2023-03-30 revision e51014f9c0) [x86_64-linux]")
                .as_deref(),
            Some("3.2.2")
        );
        assert_eq!(extract_version("no digits here"), None);
    }

    fn config(runtime: serde_json::Value) -> AppConfig {
        serde_json::from_value(serde_json::json!({
            "name": "x", "type": "python", "runtime": runtime, "start": {"command": "true"}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn prepare_checks_the_host_versions() {
        let host = HostRuntime::new();
        let have = host.host_version(Language::Python).await.unwrap();
        let major_minor: String = have.split('.').take(2).collect::<Vec<_>>().join(".");
        let toolchain = host
            .prepare(
                Path::new("/"),
                &config(serde_json::json!({"python": major_minor})),
            )
            .await
            .unwrap();
        assert!(toolchain.description.contains(&format!("python {have}")));
        assert_eq!(
            toolchain.env.get("PATH"),
            std::env::var("PATH").ok().as_ref()
        );

        let err = host
            .prepare(
                Path::new("/"),
                &config(serde_json::json!({"python": "2.7"})),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("runtime python 2.7 is not available"), "{err}");
        assert!(
            err.contains(&format!("the host has python {have}")),
            "{err}"
        );

        let empty = tempfile::tempdir().unwrap();
        let err = HostRuntime::with_path(empty.path().display().to_string())
            .prepare(
                Path::new("/"),
                &config(serde_json::json!({"python": "3.11"})),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("python3 not found on PATH"), "{err}");
    }

    #[test]
    fn version_prefix_matching() {
        assert!(version_matches("3.11", "3.11.7"));
        assert!(version_matches("3.11.7", "3.11.7"));
        assert!(version_matches("20", "20.10.0"));
        assert!(!version_matches("3.1", "3.11.7"));
        assert!(!version_matches("3.12", "3.11.7"));
        assert!(!version_matches("3.11.7.1", "3.11.7"));
    }
}
