//! The NixOS host of a Pilot node, for the layout where the server is
//! disposable and its state lives on a persistent volume: the volume is
//! mounted, `/nix` is bind-mounted from it (packages survive a rebuild of
//! the server), a system user owns the agent's data dir on the volume, and
//! `pilot-agent` runs as a hardened systemd service.
//!
//! [`render_host`] produces a `flake.nix` (nixpkgs pinned by the catalog,
//! the agent from Pilot's flake) and `pilot-host.nix`, a module to put next
//! to the machine's own `configuration.nix`:
//!
//! ```
//! use pilot_nix::host::{HostSpec, render_host};
//!
//! let spec = HostSpec {
//!     volume_device: "/dev/disk/by-id/scsi-0HC_Volume_103912881".into(),
//!     server: "pilot.example.com:55001".into(),
//!     ..HostSpec::new("node-1")
//! };
//! let files = render_host(&spec, pilot_nix::Catalog::builtin()).unwrap();
//! assert!(files.flake.contains("nixosConfigurations.node-1"));
//! assert!(files.module.contains(r#"fileSystems."/nix""#));
//! assert!(files.module.contains(r#"device = "/home/pilot/nix";"#));
//! // Write both next to the machine's configuration.nix, then:
//! //   nixos-rebuild switch --flake .#node-1
//! ```

mod spec;

use askama::Template;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::escape::{NixLiteral, nix_attr};
pub use spec::HostSpec;

/// The generated files of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFiles {
    /// `flake.nix`: the NixOS system of the node.
    pub flake: String,
    /// `pilot-host.nix`: the module with the volume, the user and the agent.
    pub module: String,
}

/// Checked values, printed as they are in comments.
struct Plain<'a> {
    hostname: &'a str,
    volume_device: &'a str,
    volume_mount: &'a str,
    nix_dir: &'a str,
    data_dir: &'a str,
}

/// What the host templates print.
struct HostView<'a> {
    plain: Plain<'a>,
    hostname: String,
    description: NixLiteral,
    nixpkgs_url: NixLiteral,
    agent_flake: NixLiteral,
    system: NixLiteral,
    volume_device: NixLiteral,
    volume_fs_type: NixLiteral,
    volume_mount: NixLiteral,
    nix_dir: NixLiteral,
    user: String,
    user_value: NixLiteral,
    data_dir: NixLiteral,
    agent_args: Vec<NixLiteral>,
}

#[derive(Template)]
#[template(path = "host/flake.nix", escape = "none")]
struct HostFlake<'a> {
    h: &'a HostView<'a>,
}

#[derive(Template)]
#[template(path = "host/pilot-host.nix", escape = "none")]
struct HostModule<'a> {
    h: &'a HostView<'a>,
}

/// Renders the host's `flake.nix` and `pilot-host.nix` after checking the spec.
pub fn render_host(spec: &HostSpec, catalog: &Catalog) -> Result<HostFiles> {
    spec.validate()?;
    let h = HostView {
        plain: Plain {
            hostname: &spec.hostname,
            volume_device: &spec.volume_device,
            volume_mount: &spec.volume_mount,
            nix_dir: &spec.nix_dir,
            data_dir: &spec.data_dir,
        },
        hostname: nix_attr(&spec.hostname),
        description: NixLiteral::of(&format!("Pilot node {}", spec.hostname)),
        nixpkgs_url: NixLiteral::of(catalog.nixpkgs_url()),
        agent_flake: NixLiteral::of(&spec.agent_flake),
        system: NixLiteral::of(&spec.system),
        volume_device: NixLiteral::of(&spec.volume_device),
        volume_fs_type: NixLiteral::of(&spec.volume_fs_type),
        volume_mount: NixLiteral::of(&spec.volume_mount),
        nix_dir: NixLiteral::of(&spec.nix_dir),
        user: nix_attr(&spec.user),
        user_value: NixLiteral::of(&spec.user),
        data_dir: NixLiteral::of(&spec.data_dir),
        agent_args: spec
            .agent_args()
            .iter()
            .map(|a| NixLiteral::of(a))
            .collect(),
    };
    let render_error = |cause| Error::Render {
        template: "host",
        cause,
    };
    Ok(HostFiles {
        flake: HostFlake { h: &h }.render().map_err(render_error)?,
        module: HostModule { h: &h }.render().map_err(render_error)?,
    })
}
