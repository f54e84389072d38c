//! Whether Nix can build here, checked quickly: what `auto` rests on.
//!
//! `nix` on `PATH` is not enough. A build needs the pinned nixpkgs, which
//! is either in the store already (a machine that built before, or a local
//! mirror given as an override) or downloaded from GitHub. A machine with
//! `nix` installed but without that revision and without GitHub (offline,
//! or a network that allows package registries only) cannot build a
//! single release, so `auto` must not pick Nix there.

use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::catalog::Catalog;
use crate::nix::NixOptions;

/// How long the store is asked whether it holds the pinned nixpkgs.
const STORE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolving and connecting to the download host may take.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(3);
/// Where the pinned nixpkgs is downloaded from.
const DOWNLOAD_HOST: (&str, u16) = ("github.com", 443);

/// What the check found: whether Nix can build, and why (one sentence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Whether a release can get its toolchain from Nix.
    pub ready: bool,
    /// Why, in words a user can act on.
    pub reason: String,
}

impl Readiness {
    fn yes(reason: impl Into<String>) -> Self {
        Readiness {
            ready: true,
            reason: reason.into(),
        }
    }

    fn no(reason: impl Into<String>) -> Self {
        Readiness {
            ready: false,
            reason: reason.into(),
        }
    }
}

/// Checks whether Nix, as `options` call it, can build releases now: the
/// pinned nixpkgs is overridden, in the store, or downloadable. Checked
/// once per process and set of options; later calls answer from memory.
pub fn check(options: &NixOptions) -> Readiness {
    static CHECKED: Mutex<Vec<(NixOptions, Readiness)>> = Mutex::new(Vec::new());
    let mut checked = CHECKED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, found)) = checked.iter().find(|(o, _)| o == options) {
        return found.clone();
    }
    let found = check_now(options);
    checked.push((options.clone(), found.clone()));
    found
}

/// [`check`] without the memory.
fn check_now(options: &NixOptions) -> Readiness {
    let nixpkgs = Catalog::builtin().nixpkgs_url();
    if let Some(mirror) = options.overrides.get("nixpkgs") {
        return Readiness::yes(format!("nixpkgs comes from {mirror}"));
    }
    match in_store(options, nixpkgs) {
        Ok(()) => {
            return Readiness::yes(format!(
                "the pinned nixpkgs ({nixpkgs}) is in the Nix store"
            ));
        }
        Err(StoreAnswer::NoNix(why)) => return Readiness::no(why),
        Err(StoreAnswer::Missing) => {}
    }
    if options.offline {
        return Readiness::no(format!(
            "Nix runs offline and the pinned nixpkgs ({nixpkgs}) is not in its store"
        ));
    }
    match reachable(DOWNLOAD_HOST, NETWORK_TIMEOUT) {
        Ok(()) => Readiness::yes(format!(
            "the pinned nixpkgs ({nixpkgs}) can be downloaded from {}",
            DOWNLOAD_HOST.0
        )),
        Err(why) => Readiness::no(format!(
            "the pinned nixpkgs ({nixpkgs}) is not in the Nix store and {} cannot be reached ({why})",
            DOWNLOAD_HOST.0
        )),
    }
}

/// Why the store check did not say yes.
enum StoreAnswer {
    /// The revision is not there (or Nix would have to download it).
    Missing,
    /// `nix` itself does not run.
    NoNix(String),
}

/// Asks `nix flake metadata --offline` about `flake`: it answers from the
/// store and the fetcher cache only.
fn in_store(options: &NixOptions, flake: &str) -> Result<(), StoreAnswer> {
    let mut command = Command::new(&options.program);
    command
        .args(["flake", "metadata", "--offline", "--json", flake])
        .env("NIX_CONFIG", options.nix_config())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().map_err(|e| {
        StoreAnswer::NoNix(format!("{} does not run: {e}", options.program.display()))
    })?;
    let deadline = Instant::now() + STORE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(_)) => return Err(StoreAnswer::Missing),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StoreAnswer::Missing);
            }
            Err(e) => return Err(StoreAnswer::NoNix(format!("waiting for nix failed: {e}"))),
        }
    }
}

/// Whether a TCP connection to `host` opens within `timeout` (name
/// resolution included, which can hang on its own without a network).
fn reachable((host, port): (&str, u16), timeout: Duration) -> Result<(), String> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>()),
        );
    });
    let addresses = match rx.recv_timeout(timeout) {
        Ok(Ok(addresses)) if !addresses.is_empty() => addresses,
        Ok(Ok(_)) => return Err(format!("{host} has no address")),
        Ok(Err(e)) => return Err(format!("resolving {host} failed: {e}")),
        Err(_) => {
            return Err(format!(
                "resolving {host} took over {} s",
                timeout.as_secs()
            ));
        }
    };
    let mut last = String::new();
    for address in addresses {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&address, left) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("connecting to {address} failed: {e}"),
        }
    }
    Err(if last.is_empty() {
        format!("no answer within {} s", timeout.as_secs())
    } else {
        last
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::unix::fs::PermissionsExt;

    /// A `nix` that exits with `code` for every call.
    fn fake_nix(dir: &std::path::Path, code: i32) -> NixOptions {
        let program = dir.join("nix");
        std::fs::write(&program, format!("#!/bin/sh\nexit {code}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        NixOptions {
            program,
            ..NixOptions::default()
        }
    }

    #[test]
    fn a_nixpkgs_in_the_store_or_overridden_is_ready() {
        let dir = tempfile::tempdir().unwrap();
        let found = check(&fake_nix(dir.path(), 0));
        assert!(found.ready, "{found:?}");
        assert!(found.reason.contains("is in the Nix store"), "{found:?}");

        let mut mirror = fake_nix(dir.path(), 1);
        mirror
            .overrides
            .insert("nixpkgs".into(), "path:/srv/nixpkgs".into());
        let found = check(&mirror);
        assert!(
            found.ready && found.reason.contains("path:/srv/nixpkgs"),
            "{found:?}"
        );
    }

    #[test]
    fn offline_without_the_revision_is_not_ready_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = fake_nix(dir.path(), 1);
        options.offline = true;
        let found = check(&options);
        assert!(!found.ready);
        assert!(found.reason.contains("offline"), "{found:?}");
        assert!(
            found.reason.contains(Catalog::builtin().nixpkgs_url()),
            "{found:?}"
        );
    }

    #[test]
    fn a_nix_that_does_not_run_is_not_ready() {
        let options = NixOptions {
            program: "/nonexistent/nix".into(),
            ..NixOptions::default()
        };
        let found = check(&options);
        assert!(!found.ready);
        assert!(found.reason.contains("/nonexistent/nix"), "{found:?}");
    }

    #[test]
    fn reachability_is_a_connection_within_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            reachable(("127.0.0.1", port), Duration::from_secs(2)),
            Ok(())
        );
        drop(listener);
        let refused = reachable(("127.0.0.1", port), Duration::from_secs(2)).unwrap_err();
        assert!(refused.contains("connecting to 127.0.0.1"), "{refused}");
        let unknown = reachable(("no-such-host.invalid", 443), Duration::from_secs(2)).unwrap_err();
        assert!(unknown.contains("no-such-host.invalid"), "{unknown}");
    }
}
