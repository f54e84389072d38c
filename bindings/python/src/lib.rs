//! The native part of the `pilot` Python package (`pilot._native`).
//!
//! ```python
//! import pilot
//!
//! try:
//!     config = pilot.load_config("examples/apps/python-hello")
//! except pilot.ConfigError as error:
//!     for problem in error.problems:
//!         print(problem.path, problem.message, problem.hint)
//!
//! with pilot.Deployer("./pilot-data") as deployer:
//!     done = deployer.deploy("examples/apps/python-hello")
//!     print(done.url)
//! ```
//!
//! The Python package (`python/pilot/`) re-exports everything defined here
//! next to its exception classes (`pilot.errors`), type stubs and `py.typed`.
//! Every call that waits (queries, deploys) releases the GIL while the
//! module's tokio runtime works.

mod client;
mod client_deploy;
mod client_errors;
mod client_types;
mod config;
mod config_sections;
mod convert;
mod deployer;
mod deployment;
mod errors;
mod events;
mod lifecycle;
mod nix;
mod runtime;
mod server;
mod store;
mod store_results;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    config::register(m)?;
    nix::register(m)?;
    store::register(m)?;
    deployer::register(m)?;
    client::register(m)?;
    server::register(m)?;
    Ok(())
}
