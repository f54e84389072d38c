//! The NixOS host module: snapshots, real Nix parses both files, and the
//! module evaluates to the volume layout and the hardened agent service.

use crate::support::NixTestbed;
use pilot_nix::Catalog;
use pilot_nix::host::{HostSpec, render_host};
use serde_json::Value;

fn spec() -> HostSpec {
    HostSpec {
        volume_device: "/dev/disk/by-id/scsi-0HC_Volume_103912881".into(),
        server: "pilot.example.com:55001".into(),
        ..HostSpec::new("node-1")
    }
}

#[test]
fn snapshots() {
    let files = render_host(&spec(), Catalog::builtin()).unwrap();
    insta::assert_snapshot!("host_flake", files.flake);
    insta::assert_snapshot!("host_module", files.module);
}

#[test]
fn both_files_parse_and_the_module_evaluates_to_the_layout() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let files = render_host(&spec(), Catalog::builtin()).unwrap();
    let dir = bed.scratch("host");
    std::fs::write(dir.join("flake.nix"), &files.flake).unwrap();
    std::fs::write(dir.join("pilot-host.nix"), &files.module).unwrap();
    for file in ["flake.nix", "pilot-host.nix"] {
        let (ok, err) = bed.parse(&dir.join(file));
        assert!(ok, "{file}: {err}");
    }
    let expr = format!(
        "let m = import {}/pilot-host.nix {{ config = {{ nix.package = \"/nix-pkg\"; }}; \
         pkgs = {{ git = \"/git\"; }}; pilotAgent = \"/agent\"; }}; \
         in {{ inherit (m) fileSystems users nix; tmpfiles = m.systemd.tmpfiles.rules; \
         agent = m.systemd.services.pilot-agent; }}",
        dir.display()
    );
    let out = std::process::Command::new("nix")
        .env("NIX_CONFIG", bed.options.nix_config())
        .args(["eval", "--impure", "--json", "--expr", &expr])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let home = &v["fileSystems"]["/home"];
    assert_eq!(home["device"], "/dev/disk/by-id/scsi-0HC_Volume_103912881");
    assert_eq!(home["neededForBoot"], true);
    let nix = &v["fileSystems"]["/nix"];
    assert_eq!(nix["device"], "/home/pilot/nix");
    assert_eq!(nix["options"], serde_json::json!(["bind"]));
    assert_eq!(nix["depends"], serde_json::json!(["/home"]));
    assert_eq!(v["users"]["users"]["pilot"]["isSystemUser"], true);
    assert_eq!(v["users"]["users"]["pilot"]["home"], "/home/pilot/data");
    assert_eq!(
        v["tmpfiles"],
        serde_json::json!(["d /home/pilot/data 0750 pilot pilot -"])
    );
    let service = &v["agent"]["serviceConfig"];
    assert_eq!(
        service["ExecStart"],
        "/agent/bin/pilot-agent --data-dir /home/pilot/data --server pilot.example.com:55001 \
         --token-file /home/pilot/agent.token"
    );
    assert_eq!(service["User"], "pilot");
    assert_eq!(service["ProtectSystem"], "strict");
    assert_eq!(
        service["ReadWritePaths"],
        serde_json::json!(["/home/pilot/data"])
    );
    assert_eq!(service["NoNewPrivileges"], true);
    assert_eq!(
        v["agent"]["unitConfig"]["RequiresMountsFor"],
        serde_json::json!(["/home/pilot/data", "/nix"])
    );
}

#[test]
fn invalid_settings_are_refused_before_rendering() {
    let bad = HostSpec {
        data_dir: "/var/lib/pilot".into(),
        ..spec()
    };
    let err = render_host(&bad, Catalog::builtin())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "host module setting data_dir = \"/var/lib/pilot\" is invalid: it must be inside \
         volume_mount, on the persistent volume"
    );
}

#[test]
fn a_pinned_server_fingerprint_reaches_the_agent_command_line() {
    let fingerprint = "ab".repeat(32);
    let pinned = HostSpec {
        server_fingerprint: Some(fingerprint.clone()),
        ..spec()
    };
    let files = render_host(&pinned, Catalog::builtin()).unwrap();
    assert!(
        files.module.contains("--tls-fingerprint") && files.module.contains(&fingerprint),
        "{}",
        files.module
    );
    let bad = HostSpec {
        server_fingerprint: Some("not-hex".into()),
        ..spec()
    };
    let err = render_host(&bad, Catalog::builtin())
        .unwrap_err()
        .to_string();
    assert!(err.contains("server_fingerprint"), "{err}");
}
