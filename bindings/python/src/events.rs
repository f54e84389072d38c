//! Deployment progress to Python callbacks.
//!
//! The engine has one event sink for its whole life; each `deploy` or
//! `rollback` call registers its callback for its project for the duration
//! of the call. Events arrive on the runtime's threads, which take the GIL
//! only to call a callback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pilot_core::engine::{DeployEvent, EventSink};
use pyo3::prelude::*;

use crate::convert::json_to_py;

struct Listener {
    token: u64,
    callback: Py<PyAny>,
    /// The first exception the callback raised; it is not called again.
    error: Option<PyErr>,
}

/// Sends each event, as a dict, to the callbacks registered for its project.
#[derive(Default)]
pub(crate) struct PyEvents {
    listeners: Mutex<HashMap<String, Vec<Listener>>>,
    next_token: AtomicU64,
}

/// A registered callback; [`PyEvents::remove`] hands back what it raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Registration(u64);

impl PyEvents {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<Listener>>> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the events of `project` to `callback` until removed.
    pub(crate) fn add(&self, project: &str, callback: Py<PyAny>) -> Registration {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(project.to_string())
            .or_default()
            .push(Listener {
                token,
                callback,
                error: None,
            });
        Registration(token)
    }

    /// Stops sending to a callback; returns the first exception it raised.
    pub(crate) fn remove(&self, project: &str, registration: Registration) -> Option<PyErr> {
        let mut listeners = self.lock();
        let list = listeners.get_mut(project)?;
        let index = list.iter().position(|l| l.token == registration.0)?;
        let listener = list.remove(index);
        if list.is_empty() {
            listeners.remove(project);
        }
        listener.error
    }
}

impl EventSink for PyEvents {
    fn emit(&self, event: &DeployEvent) {
        let project = &event.project;
        // Most events have no listener: check before taking the GIL. The
        // GIL is always taken before the lock, never the other way round.
        if !self.lock().contains_key(project) {
            return;
        }
        let Ok(value) = serde_json::to_value(event) else {
            return;
        };
        Python::attach(|py| {
            let callbacks: Vec<(u64, Py<PyAny>)> = self
                .lock()
                .get(project)
                .map(|list| {
                    list.iter()
                        .filter(|l| l.error.is_none())
                        .map(|l| (l.token, l.callback.clone_ref(py)))
                        .collect()
                })
                .unwrap_or_default();
            for (token, callback) in callbacks {
                let result = json_to_py(py, &value).and_then(|event| callback.call1(py, (event,)));
                if let Err(error) = result {
                    let mut listeners = self.lock();
                    if let Some(listener) = listeners
                        .get_mut(project)
                        .and_then(|list| list.iter_mut().find(|l| l.token == token))
                    {
                        listener.error.get_or_insert(error);
                    }
                }
            }
        });
    }
}
