//! What the server asks an agent to do: [`Command`], and the deploy-time
//! secrets it may carry ([`DeploySecrets`]).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;
use crate::secrets::SecretValue;
use crate::source::SourceSpec;

/// A command for an agent. Sent inside [`ServerMessage::Command`](super::ServerMessage::Command)
/// with an id; the agent answers with progress, log chunks and one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Fetch, build and switch to a new release of a project.
    Deploy {
        /// The project.
        project: String,
        /// Where the release comes from. When `archive` is present the agent
        /// writes it to a file of its own and fetches from that instead.
        source: SourceSpec,
        /// A config that replaces the release's own `config.vpspilot.json`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Box<AppConfig>>,
        /// The port the project's traffic arrives on, when the server fixed it
        /// (wins over the config's `port`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_port: Option<u16>,
        /// The release as an uploaded `.zip` or `.tar.gz`, carried inline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archive: Option<ArchiveBytes>,
        /// Secrets resolved by the server for this node; masked in `Debug`.
        #[serde(default, skip_serializing_if = "DeploySecrets::is_empty")]
        secrets: DeploySecrets,
    },
    /// Switch traffic back to an earlier release.
    Rollback {
        /// The project.
        project: String,
        /// The generation to return to; the previous one when absent.
        generation: Option<u64>,
    },
    /// Start the project's current release.
    Start {
        /// The project.
        project: String,
    },
    /// Stop the project's processes.
    Stop {
        /// The project.
        project: String,
    },
    /// Restart the project's processes.
    Restart {
        /// The project.
        project: String,
    },
    /// Send the last lines of the project's logs, and keep following them if asked.
    Logs {
        /// The project.
        project: String,
        /// How many past lines to send.
        lines: u32,
        /// Keep sending new lines until the command is cancelled or the link drops.
        follow: bool,
    },
    /// Stop the project and delete its releases and state on the node.
    Remove {
        /// The project.
        project: String,
    },
}

impl Command {
    /// The project the command is about.
    pub fn project(&self) -> &str {
        match self {
            Command::Deploy { project, .. }
            | Command::Rollback { project, .. }
            | Command::Start { project }
            | Command::Stop { project }
            | Command::Restart { project }
            | Command::Logs { project, .. }
            | Command::Remove { project } => project,
        }
    }

    /// Whether the command carries secret values; an agent must refuse such a
    /// command unless [`link_allows_secrets`](super::link_allows_secrets) says yes.
    pub fn carries_secrets(&self) -> bool {
        matches!(self, Command::Deploy { secrets, .. } if !secrets.is_empty())
    }
}

/// An uploaded release archive carried in a deploy command; base64 on the
/// wire, its size in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ArchiveBytes(pub Vec<u8>);

impl Serialize for ArchiveBytes {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for ArchiveBytes {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        BASE64
            .decode(text.as_bytes())
            .map(ArchiveBytes)
            .map_err(|e| serde::de::Error::custom(format!("archive is not valid base64: {e}")))
    }
}

impl fmt::Debug for ArchiveBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArchiveBytes({} bytes)", self.0.len())
    }
}

/// Deploy-time secrets, name → value. On the wire they are a plain JSON
/// object; `Debug` shows the names with masked values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeploySecrets(BTreeMap<String, String>);

impl DeploySecrets {
    /// No secrets.
    pub fn new() -> Self {
        DeploySecrets::default()
    }

    /// Adds or replaces one secret.
    pub fn insert(&mut self, name: impl Into<String>, value: SecretValue) {
        self.0.insert(name.into(), value.expose().to_owned());
    }

    /// Whether there are no secrets.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The secret names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The secrets as [`SecretValue`]s, for the engine.
    pub fn into_secret_values(self) -> BTreeMap<String, SecretValue> {
        self.0
            .into_iter()
            .map(|(name, value)| (name, SecretValue::new(value)))
            .collect()
    }
}

impl From<BTreeMap<String, SecretValue>> for DeploySecrets {
    fn from(secrets: BTreeMap<String, SecretValue>) -> Self {
        DeploySecrets(
            secrets
                .into_iter()
                .map(|(name, value)| (name, value.expose().to_owned()))
                .collect(),
        )
    }
}

impl From<DeploySecrets> for BTreeMap<String, SecretValue> {
    fn from(secrets: DeploySecrets) -> Self {
        secrets.into_secret_values()
    }
}

impl fmt::Debug for DeploySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, Masked)))
            .finish()
    }
}

/// Prints the mask used for secret values.
struct Masked;

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_travel_as_base64_and_debug_shows_their_size() {
        let archive = ArchiveBytes(vec![0, 1, 2, 250]);
        let json = serde_json::to_string(&archive).unwrap();
        assert_eq!(json, r#""AAEC+g==""#);
        assert_eq!(
            serde_json::from_str::<ArchiveBytes>(&json).unwrap(),
            archive
        );
        assert_eq!(format!("{archive:?}"), "ArchiveBytes(4 bytes)");
        let bad = serde_json::from_str::<ArchiveBytes>(r#""not base64!""#).unwrap_err();
        assert!(
            bad.to_string().contains("archive is not valid base64"),
            "{bad}"
        );
    }

    #[test]
    fn debug_shows_names_and_masks_values() {
        let mut secrets = DeploySecrets::new();
        secrets.insert("DB_PASSWORD", SecretValue::new("hunter2"));
        let shown = format!("{secrets:?}");
        assert_eq!(shown, r#"{"DB_PASSWORD": ********}"#);
    }

    #[test]
    fn converts_to_and_from_secret_values() {
        let mut map = BTreeMap::new();
        map.insert("TOKEN".to_owned(), SecretValue::new("abc"));
        let secrets = DeploySecrets::from(map.clone());
        assert_eq!(secrets.names().collect::<Vec<_>>(), ["TOKEN"]);
        assert_eq!(BTreeMap::from(secrets), map);
    }

    #[test]
    fn only_a_deploy_with_secrets_carries_them() {
        let source = SourceSpec::Dir {
            path: "/app".into(),
        };
        let mut deploy = Command::Deploy {
            project: "shop".into(),
            source,
            archive: None,
            config: None,
            public_port: None,
            secrets: DeploySecrets::new(),
        };
        assert!(!deploy.carries_secrets());
        if let Command::Deploy { secrets, .. } = &mut deploy {
            secrets.insert("KEY", SecretValue::new("v"));
        }
        assert!(deploy.carries_secrets());
        assert_eq!(deploy.project(), "shop");
        assert!(
            !Command::Stop {
                project: "shop".into()
            }
            .carries_secrets()
        );
    }
}
