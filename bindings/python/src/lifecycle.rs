//! The life of a `Deployer`'s parts: what an open one holds, how it shuts
//! down, and the registry that shuts every open one down when the
//! interpreter exits, so apps do not outlive a script that forgot `close()`.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use pilot_core::ServiceManager;
use pilot_core::engine::Engine;
use pilot_core::proxy::Proxy;
use pilot_core::supervisor::Supervisor;
use pyo3::prelude::*;

use crate::errors::core_error;
use crate::events::PyEvents;
use crate::runtime::wait;

/// An open deployer's parts; empty once closed.
pub(crate) type Slot = Mutex<Option<Arc<Inner>>>;

/// Every deployer not yet dropped, so that [`close_all`] can stop their
/// apps when the interpreter exits.
static OPEN: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

/// What an open deployer holds.
pub(crate) struct Inner {
    /// The deploy engine.
    pub(crate) engine: Arc<Engine>,
    /// Its service manager, kept to list, remove and detach services.
    pub(crate) supervisor: Arc<Supervisor>,
    /// Its router, kept to close every public port.
    pub(crate) proxy: Arc<Proxy>,
    /// Where deployment events go.
    pub(crate) events: Arc<PyEvents>,
    /// The address written into URLs.
    pub(crate) host: String,
}

/// Adds an open deployer to the registry [`close_all`] reads.
pub(crate) fn track(slot: &Arc<Slot>) {
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    open.retain(|slot| slot.strong_count() > 0);
    open.push(Arc::downgrade(slot));
}

/// Shuts down the deployer in `slot` if it is open, reporting a failure as
/// an unraisable exception (there is no caller to raise it to).
pub(crate) fn close_slot(py: Python<'_>, slot: &Slot) {
    let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(inner) = taken {
        match wait(py, shut_down(inner)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => core_error(py, e).write_unraisable(py, None),
            Err(e) => e.write_unraisable(py, None),
        }
    }
}

/// Closes every deployer still open; registered with `atexit`, so apps do
/// not outlive a script that forgot to close its deployer.
#[pyfunction]
pub(crate) fn close_all(py: Python<'_>) {
    let slots: Vec<Arc<Slot>> =
        std::mem::take(&mut *OPEN.lock().unwrap_or_else(PoisonError::into_inner))
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
    for slot in slots {
        close_slot(py, &slot);
    }
}

/// Removes every service, closes the proxy's ports and releases the
/// supervisor's directory; keeps going past errors and returns the first.
pub(crate) async fn shut_down(inner: Arc<Inner>) -> pilot_core::Result<()> {
    let mut first_error = None;
    match inner.supervisor.list().await {
        Ok(services) => {
            for status in services {
                if let Err(e) = inner.supervisor.remove(&status.name).await {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(e) => {
            first_error.get_or_insert(e);
        }
    }
    inner.proxy.close_all().await;
    inner.supervisor.detach().await;
    first_error.map_or(Ok(()), Err)
}
