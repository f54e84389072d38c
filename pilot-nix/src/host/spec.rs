//! What a node's NixOS host looks like, and the checks its values pass.

use crate::error::{Error, Result};

/// The settings of a node's NixOS host. [`HostSpec::new`] fills the
/// defaults of the volume layout: the volume on `/home`, `/nix` from
/// `/home/pilot/nix`, the agent's data in `/home/pilot/data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// The NixOS configuration name and host name, e.g. "node-1".
    pub hostname: String,
    /// The Nix system, e.g. "x86_64-linux".
    pub system: String,
    /// The persistent volume's device, e.g. "/dev/disk/by-id/scsi-0HC_Volume_103912881".
    pub volume_device: String,
    /// Its file system type, e.g. "ext4".
    pub volume_fs_type: String,
    /// Where the volume is mounted, e.g. "/home".
    pub volume_mount: String,
    /// The directory on the volume bind-mounted on `/nix`.
    pub nix_dir: String,
    /// The system user running the agent.
    pub user: String,
    /// The agent's data dir (on the volume).
    pub data_dir: String,
    /// The server the agent connects to, `host:port`.
    pub server: String,
    /// The file holding the node's token (on the volume, readable by the user).
    pub token_file: String,
    /// SHA-256 fingerprint (64 hex digits) of the server's agent-link
    /// certificate, as `pilot node add` shows it; the agent pins it. Without
    /// it the agent uses the fingerprint saved in its data dir, if any.
    pub server_fingerprint: Option<String>,
    /// The flake providing `packages.<system>.pilot-agent`.
    pub agent_flake: String,
}

impl HostSpec {
    /// The default layout for a host named `hostname`.
    pub fn new(hostname: impl Into<String>) -> HostSpec {
        HostSpec {
            hostname: hostname.into(),
            system: "x86_64-linux".into(),
            volume_device: "/dev/disk/by-label/pilot-data".into(),
            volume_fs_type: "ext4".into(),
            volume_mount: "/home".into(),
            nix_dir: "/home/pilot/nix".into(),
            user: "pilot".into(),
            data_dir: "/home/pilot/data".into(),
            server: "pilot.example.com:55001".into(),
            token_file: "/home/pilot/agent.token".into(),
            server_fingerprint: None,
            agent_flake: "github:pilot-deploy/pilot".into(),
        }
    }

    /// The agent's command-line arguments.
    pub fn agent_args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".into(),
            self.data_dir.clone(),
            "--server".into(),
            self.server.clone(),
            "--token-file".into(),
            self.token_file.clone(),
        ];
        if let Some(fingerprint) = &self.server_fingerprint {
            args.extend(["--tls-fingerprint".into(), fingerprint.clone()]);
        }
        args
    }

    /// Checks every value; the first problem is returned.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field, value: &str, reason| {
            Err(Error::InvalidHostSetting {
                field,
                value: value.to_string(),
                reason,
            })
        };
        if let Some(fingerprint) = &self.server_fingerprint
            && !(fingerprint.len() == 64 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return invalid(
                "server_fingerprint",
                fingerprint,
                "use the 64 hex digits `pilot node add` prints after --tls-fingerprint",
            );
        }
        if !is_label(&self.hostname) {
            return invalid(
                "hostname",
                &self.hostname,
                "use 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'",
            );
        }
        if !["x86_64-linux", "aarch64-linux"].contains(&self.system.as_str()) {
            return invalid(
                "system",
                &self.system,
                "use \"x86_64-linux\" or \"aarch64-linux\"",
            );
        }
        for (field, value) in [
            ("volume_device", &self.volume_device),
            ("volume_mount", &self.volume_mount),
            ("nix_dir", &self.nix_dir),
            ("data_dir", &self.data_dir),
            ("token_file", &self.token_file),
        ] {
            if !is_plain_path(value) {
                return invalid(
                    field,
                    value,
                    "use an absolute path of letters, digits, '/', '.', '_' and '-', without '..'",
                );
            }
        }
        for (field, value) in [
            ("nix_dir", &self.nix_dir),
            ("data_dir", &self.data_dir),
            ("token_file", &self.token_file),
        ] {
            if !is_below(value, &self.volume_mount) {
                return invalid(
                    field,
                    value,
                    "it must be inside volume_mount, on the persistent volume",
                );
            }
        }
        if is_below(&self.data_dir, &self.nix_dir) || is_below(&self.nix_dir, &self.data_dir) {
            return invalid(
                "data_dir",
                &self.data_dir,
                "keep the data dir and the Nix store apart",
            );
        }
        if !is_word(&self.volume_fs_type) {
            return invalid(
                "volume_fs_type",
                &self.volume_fs_type,
                "use a file system type such as \"ext4\"",
            );
        }
        if !is_user(&self.user) {
            return invalid(
                "user",
                &self.user,
                "use lowercase letters, digits, '_' and '-', starting with a letter or '_' (at most 32)",
            );
        }
        if !is_server(&self.server) {
            return invalid(
                "server",
                &self.server,
                "use host:port, e.g. \"pilot.example.com:55001\"",
            );
        }
        if self.agent_flake.is_empty() || self.agent_flake.contains(char::is_whitespace) {
            return invalid(
                "agent_flake",
                &self.agent_flake,
                "use a flake reference such as \"github:pilot-deploy/pilot\"",
            );
        }
        Ok(())
    }
}

fn is_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && !path.ends_with('/')
        && path.split('/').all(|part| part != ".." && part != ".")
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
}

fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
}

fn is_word(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_user(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 32
        && matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

fn is_server(server: &str) -> bool {
    let Some((host, port)) = server.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::HostSpec;

    #[test]
    fn the_default_layout_is_valid() {
        HostSpec::new("node-1").validate().unwrap();
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases: Vec<(HostSpec, &str)> = vec![
            (HostSpec::new("Node_1"), "hostname"),
            (
                HostSpec {
                    system: "x86_64-darwin".into(),
                    ..HostSpec::new("n")
                },
                "system",
            ),
            (
                HostSpec {
                    data_dir: "/home/pilot/../etc".into(),
                    ..HostSpec::new("n")
                },
                "data_dir",
            ),
            (
                HostSpec {
                    data_dir: "/srv/pilot".into(),
                    ..HostSpec::new("n")
                },
                "data_dir",
            ),
            (
                HostSpec {
                    data_dir: "/home/pilot/nix/data".into(),
                    ..HostSpec::new("n")
                },
                "data_dir",
            ),
            (
                HostSpec {
                    nix_dir: "/home/pilot nix".into(),
                    ..HostSpec::new("n")
                },
                "nix_dir",
            ),
            (
                HostSpec {
                    volume_device: "sdb".into(),
                    ..HostSpec::new("n")
                },
                "volume_device",
            ),
            (
                HostSpec {
                    user: "Pilot".into(),
                    ..HostSpec::new("n")
                },
                "user",
            ),
            (
                HostSpec {
                    server: "pilot.example.com".into(),
                    ..HostSpec::new("n")
                },
                "server",
            ),
            (
                HostSpec {
                    server: "a;b:1".into(),
                    ..HostSpec::new("n")
                },
                "server",
            ),
            (
                HostSpec {
                    volume_fs_type: "ext4\"".into(),
                    ..HostSpec::new("n")
                },
                "volume_fs_type",
            ),
        ];
        for (spec, field) in cases {
            let err = spec.validate().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("host module setting {field} = ")),
                "{err}"
            );
        }
    }
}
