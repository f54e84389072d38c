//! What a command line turns into: the node token from its file and the
//! TLS setting, with the rule that a remote server needs TLS or an explicit
//! opt-out.

use std::path::{Path, PathBuf};

use pilot_core::protocol::{CertFingerprint, NodeToken};

use crate::error::{Error, Result};
use crate::options::{ServerTls, agent_dir, is_loopback_server};

/// Reads the node token from `path` (surrounding whitespace ignored). The
/// error names the file, never its content.
pub fn read_token_file(path: &Path) -> Result<NodeToken> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    NodeToken::parse(text.trim()).map_err(|cause| Error::Token {
        path: path.to_path_buf(),
        cause,
    })
}

/// `<data_dir>/agent/server-fingerprint`: where a fingerprint pinned at
/// enrolment may be kept instead of passing it on the command line.
pub fn fingerprint_file(data_dir: &Path) -> PathBuf {
    agent_dir(data_dir).join("server-fingerprint")
}

/// The TLS setting for `server`: the fingerprint given, else the one kept
/// in [`fingerprint_file`], else clear text when `no_tls` is set or the
/// server is on this machine. A remote server without any of these is an
/// error saying what to pass.
pub fn choose_tls(
    server: &str,
    fingerprint: Option<CertFingerprint>,
    no_tls: bool,
    data_dir: &Path,
) -> Result<ServerTls> {
    if let Some(fingerprint) = fingerprint {
        return Ok(ServerTls::Pinned(fingerprint));
    }
    if no_tls {
        return Ok(ServerTls::Off);
    }
    let kept = fingerprint_file(data_dir);
    match std::fs::read_to_string(&kept) {
        Ok(text) => {
            let fingerprint = text.trim().parse().map_err(|cause| Error::Protocol {
                server: server.to_owned(),
                cause,
            })?;
            return Ok(ServerTls::Pinned(fingerprint));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read", kept, e)),
    }
    if is_loopback_server(server)? {
        Ok(ServerTls::Off)
    } else {
        Err(Error::TlsRequired {
            server: server.to_owned(),
            fingerprint_file: kept,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINGERPRINT: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn a_remote_server_needs_a_fingerprint_or_an_explicit_opt_out() {
        let data = tempfile::tempdir().unwrap();
        let remote = "pilot.example.com:55001";
        let err = choose_tls(remote, None, false, data.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--tls-fingerprint") && err.contains("--no-tls"),
            "{err}"
        );
        assert_eq!(
            choose_tls(remote, None, true, data.path()).unwrap(),
            ServerTls::Off
        );
        let pinned: CertFingerprint = FINGERPRINT.parse().unwrap();
        assert_eq!(
            choose_tls(remote, Some(pinned), false, data.path()).unwrap(),
            ServerTls::Pinned(pinned)
        );
        assert_eq!(
            choose_tls("127.0.0.1:55001", None, false, data.path()).unwrap(),
            ServerTls::Off
        );
    }

    #[test]
    fn a_kept_fingerprint_is_used_when_none_is_given() {
        let data = tempfile::tempdir().unwrap();
        let file = fingerprint_file(data.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("{FINGERPRINT}\n")).unwrap();
        let tls = choose_tls("10.0.0.1:55001", None, false, data.path()).unwrap();
        assert_eq!(tls, ServerTls::Pinned(FINGERPRINT.parse().unwrap()));
        std::fs::write(&file, "nonsense").unwrap();
        assert!(choose_tls("10.0.0.1:55001", None, false, data.path()).is_err());
    }

    #[test]
    fn token_files_are_trimmed_and_errors_name_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let token = NodeToken::generate();
        std::fs::write(&path, format!("  {}\n", token.expose())).unwrap();
        assert_eq!(read_token_file(&path).unwrap(), token);
        std::fs::write(&path, "pilot_nt_short-secret").unwrap();
        let err = read_token_file(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!err.contains("short-secret"), "{err}");
        assert!(read_token_file(&dir.path().join("missing")).is_err());
    }
}
