//! The tokio runtime every async call of the module runs on, and the one
//! way Python threads wait for it: with the GIL released.

use std::future::Future;
use std::sync::OnceLock;

use pyo3::prelude::*;

use crate::errors::{ErrorKind, new_error};

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Builds the runtime on first use: two worker threads keep the services'
/// supervision and the traffic proxy running between calls.
fn runtime(py: Python<'_>) -> PyResult<&'static tokio::runtime::Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pilot-runtime")
        .enable_all()
        .build()
        .map_err(|e| {
            new_error(
                py,
                ErrorKind::Pilot,
                format!(
                    "cannot start Pilot's async runtime: {e}; check the process's thread limit"
                ),
            )
        })?;
    // Another thread may have won the race; its runtime is the one kept.
    Ok(RUNTIME.get_or_init(|| built))
}

/// Runs `future` to completion on the module's runtime while this thread
/// does not hold the GIL, so other Python threads (and progress callbacks)
/// keep running. Fails on the runtime's own threads (a progress callback
/// calling back into Pilot), where blocking would stall the runtime.
pub(crate) fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(new_error(
            py,
            ErrorKind::Pilot,
            "Pilot cannot be called from a progress callback; keep the events and act on them \
             after the call that reports them returns"
                .to_string(),
        ));
    }
    let runtime = runtime(py)?;
    Ok(py.detach(|| runtime.block_on(future)))
}
