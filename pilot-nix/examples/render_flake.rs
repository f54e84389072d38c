//! Prints the flake Pilot generates for an app.
//!
//! ```text
//! cargo run -p pilot-nix --example render_flake -- examples/apps/python-hello
//! ```

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: render_flake <app directory or config.vpspilot.json>")?;
    let config = pilot_core::config::load(&dir)?;
    let flake = pilot_nix::render_flake(&config, pilot_nix::Catalog::builtin())?;
    print!("{}", flake.text);
    Ok(())
}
