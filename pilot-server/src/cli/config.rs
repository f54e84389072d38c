//! The client config file (`$XDG_CONFIG_HOME/pilot/client.json`, else
//! `~/.config/pilot/client.json`): the server URL and session token the
//! commands use, overridden by `--server`, `PILOT_SERVER` and `PILOT_TOKEN`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{CliError, Result};

/// The server used when nothing names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// Environment variable naming the server.
pub const ENV_SERVER: &str = "PILOT_SERVER";
/// Environment variable carrying a session token.
pub const ENV_TOKEN: &str = "PILOT_TOKEN";

/// What `client.json` holds. Written with mode 0600: the token is a secret.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The server's base URL.
    pub server: String,
    /// The session token for that server, if logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "********"))
            .finish()
    }
}

impl ClientConfig {
    /// Reads the config at `path`; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::Config {
                    action: "read",
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CliError::Config {
                action: "read",
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    }

    /// Writes the config to `path` atomically, readable by its owner only
    /// (mode 0600), creating the directory if needed.
    pub fn save(&self, path: &Path) -> Result<()> {
        let write_error = |reason: String| CliError::Config {
            action: "write",
            path: path.to_path_buf(),
            reason,
        };
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| write_error(e.to_string()))?;
        pilot_core::fsutil::write_atomic(path, &bytes, 0o600)
            .map_err(|e| write_error(e.to_string()))
    }
}

/// Where `client.json` lives, from `XDG_CONFIG_HOME` or `HOME` as `env` reports them.
pub fn config_path(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(dir).join("pilot").join("client.json"));
    }
    let home = non_empty("HOME").ok_or(CliError::NoConfigDir)?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("pilot")
        .join("client.json"))
}

/// The server and token a command uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// The server's base URL.
    pub server: String,
    /// The session token, if any.
    pub token: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "********"))
            .finish()
    }
}

/// Picks the server (`--server`, then `PILOT_SERVER`, then the config
/// file, then [`DEFAULT_SERVER`]) and the token (`PILOT_TOKEN`, then the
/// config file's). The file's token is used only with the file's server,
/// so a token never goes to a server it was not issued by.
pub fn resolve(
    flag_server: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    file: Option<&ClientConfig>,
) -> Target {
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let server = flag_server
        .map(str::to_string)
        .or_else(|| non_empty(ENV_SERVER))
        .or_else(|| file.map(|f| f.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let file_token = file
        .filter(|f| same_server(&f.server, &server))
        .and_then(|f| f.token.clone());
    Target {
        token: non_empty(ENV_TOKEN).or(file_token),
        server,
    }
}

/// Whether two spellings of a server URL name the same server.
fn same_server(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/');
        if s.contains("://") {
            s.to_string()
        } else {
            format!("http://{s}")
        }
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn config_path_prefers_xdg() {
        let path = config_path(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])).unwrap();
        assert_eq!(path, Path::new("/x/pilot/client.json"));
        let path = config_path(env(&[("HOME", "/h")])).unwrap();
        assert_eq!(path, Path::new("/h/.config/pilot/client.json"));
        assert!(matches!(config_path(env(&[])), Err(CliError::NoConfigDir)));
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let file = ClientConfig {
            server: "http://file:1".into(),
            token: Some("file-token".into()),
        };
        let t = resolve(None, env(&[]), Some(&file));
        assert_eq!(t.server, "http://file:1");
        assert_eq!(t.token.as_deref(), Some("file-token"));

        let t = resolve(None, env(&[(ENV_SERVER, "http://env:2")]), Some(&file));
        assert_eq!(t.server, "http://env:2");
        assert_eq!(
            t.token, None,
            "the file's token stays with the file's server"
        );

        let t = resolve(
            Some("file:1/"),
            env(&[(ENV_SERVER, "http://env:2")]),
            Some(&file),
        );
        assert_eq!(t.server, "file:1/");
        assert_eq!(t.token.as_deref(), Some("file-token"));

        let t = resolve(
            Some("http://flag:3"),
            env(&[(ENV_TOKEN, "env-token")]),
            Some(&file),
        );
        assert_eq!(t.token.as_deref(), Some("env-token"));

        let t = resolve(None, env(&[]), None);
        assert_eq!(t.server, DEFAULT_SERVER);
        assert_eq!(t.token, None);
    }

    #[test]
    fn debug_hides_tokens() {
        let file = ClientConfig {
            server: "http://a".into(),
            token: Some("tok".into()),
        };
        assert!(!format!("{file:?}").contains("tok\""));
        let target = resolve(None, env(&[]), Some(&file));
        assert!(!format!("{target:?}").contains("\"tok\""));
    }
}
