//! Writes the NixOS configuration of a Pilot node whose state lives on a
//! persistent volume: `flake.nix` and `pilot-host.nix`.
//!
//! ```text
//! cargo run -p pilot-nix --example nixos_host -- node-1 /dev/disk/by-id/scsi-0HC_Volume_1 pilot.example.com:55001 ./node-1
//! ```
//!
//! Put your machine's own `configuration.nix` (hardware, network, SSH keys)
//! next to the two files, copy the directory to `/etc/nixos` on the server,
//! and run `nixos-rebuild switch --flake /etc/nixos#node-1`.

use std::path::PathBuf;

use pilot_nix::host::{HostSpec, render_host};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [hostname, device, server, out] = args.as_slice() else {
        return Err(
            "usage: nixos_host <hostname> <volume device> <server host:port> <output dir>".into(),
        );
    };
    let spec = HostSpec {
        volume_device: device.clone(),
        server: server.clone(),
        ..HostSpec::new(hostname.as_str())
    };
    let files = render_host(&spec, pilot_nix::Catalog::builtin())?;
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("flake.nix"), files.flake)?;
    std::fs::write(out.join("pilot-host.nix"), files.module)?;
    println!("wrote {0}/flake.nix and {0}/pilot-host.nix", out.display());
    Ok(())
}
