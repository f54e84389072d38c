//! Rust errors as the Python exceptions of `pilot.errors`.
//!
//! The exception classes are plain Python (so they can also derive from
//! `ValueError` or `LookupError`); this file builds instances of them with
//! their details as keyword attributes, keeping the Rust message as `str(e)`.

use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::Problem;

/// The exception classes of `pilot.errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// `PilotError`, the base class.
    Pilot,
    /// `ConfigError`: an unreadable or invalid config.
    Config,
    /// `ValidationError`: a rejected argument.
    Validation,
    /// `NotFoundError`: an unknown project, generation or store.
    NotFound,
    /// `BusyError`: another deployment of the project runs.
    Busy,
    /// `NixError`: flake generation failed.
    Nix,
    /// `StoreError`: the metrics store failed.
    Store,
    /// `DeployError`: the deploy engine failed.
    Deploy,
    /// `DeploymentFailed`: a deployment ended without succeeding.
    DeploymentFailed,
    /// `ApiError`: the server answered with an error.
    Api,
    /// `AuthError`: not logged in, or the credentials were refused.
    Auth,
    /// `ForbiddenError`: the user's role does not allow the call.
    Forbidden,
    /// `UnreachableError`: the server could not be reached.
    Unreachable,
}

impl ErrorKind {
    fn class_name(self) -> &'static str {
        match self {
            ErrorKind::Pilot => "PilotError",
            ErrorKind::Config => "ConfigError",
            ErrorKind::Validation => "ValidationError",
            ErrorKind::NotFound => "NotFoundError",
            ErrorKind::Busy => "BusyError",
            ErrorKind::Nix => "NixError",
            ErrorKind::Store => "StoreError",
            ErrorKind::Deploy => "DeployError",
            ErrorKind::DeploymentFailed => "DeploymentFailed",
            ErrorKind::Api => "ApiError",
            ErrorKind::Auth => "AuthError",
            ErrorKind::Forbidden => "ForbiddenError",
            ErrorKind::Unreachable => "UnreachableError",
        }
    }
}

/// An exception of `kind` with `message`; `fill` adds its keyword
/// attributes (e.g. `project`). When building it fails, that failure is
/// returned instead, so nothing is lost silently.
pub(crate) fn raise(
    py: Python<'_>,
    kind: ErrorKind,
    message: String,
    fill: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = py.import("pilot.errors")?.getattr(kind.class_name())?;
        let kwargs = PyDict::new(py);
        fill(&kwargs)?;
        let instance = class.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|e| e)
}

/// An exception of `kind` with `message` and no attributes.
pub(crate) fn new_error(py: Python<'_>, kind: ErrorKind, message: String) -> PyErr {
    raise(py, kind, message, |_| Ok(()))
}

/// A `ValidationError` about the argument `field`.
pub(crate) fn invalid_argument(py: Python<'_>, field: &str, message: String) -> PyErr {
    raise(py, ErrorKind::Validation, message, |kw| {
        kw.set_item("field", field)
    })
}

/// A `ConfigError` carrying every problem (and the file, when known).
pub(crate) fn config_error(
    py: Python<'_>,
    error: pilot_core::config::ConfigError,
    file: Option<&Path>,
) -> PyErr {
    use pilot_core::config::ConfigError;
    let message = error.to_string();
    let (problems, path) = match error {
        ConfigError::Read { path, .. } => (Vec::new(), Some(path)),
        other => (other.problems().to_vec(), file.map(Path::to_path_buf)),
    };
    raise(py, ErrorKind::Config, message, |kw| {
        let problems: Vec<Problem> = problems.into_iter().map(Problem::from).collect();
        kw.set_item("problems", problems)?;
        kw.set_item("path", path.map(|p| p.display().to_string()))
    })
}

/// The exception of a pilot-core error.
pub(crate) fn core_error(py: Python<'_>, error: pilot_core::Error) -> PyErr {
    use pilot_core::Error;
    let message = error.to_string();
    match error {
        Error::Config(e) => config_error(py, e, None),
        Error::InvalidProjectName { .. } => invalid_argument(py, "project", message),
        Error::UnknownProject { project } => not_found(py, "project", project, message),
        Error::UnknownGeneration { generation, .. } => {
            not_found(py, "generation", generation.to_string(), message)
        }
        Error::Busy { project, .. } => raise(py, ErrorKind::Busy, message, |kw| {
            kw.set_item("project", project)
        }),
        Error::DeployFailed { project, .. } | Error::RolledBack { project, .. } => {
            raise(py, ErrorKind::Deploy, message, |kw| {
                kw.set_item("project", project)
            })
        }
        _ => new_error(py, ErrorKind::Deploy, message),
    }
}

/// A `NotFoundError` for the `kind` named `name`.
pub(crate) fn not_found(py: Python<'_>, kind: &str, name: String, message: String) -> PyErr {
    raise(py, ErrorKind::NotFound, message, |kw| {
        kw.set_item("kind", kind)?;
        kw.set_item("name", name)
    })
}

/// The exception of a pilot-store error.
pub(crate) fn store_error(py: Python<'_>, error: pilot_store::Error) -> PyErr {
    use pilot_store::Error;
    let message = error.to_string();
    match error {
        Error::Core(e) => core_error(py, e),
        Error::NotFound { kind, key } => not_found(py, kind, key, message),
        Error::Invalid { field, .. } | Error::Options { field, .. } => {
            invalid_argument(py, field, message)
        }
        _ => new_error(py, ErrorKind::Store, message),
    }
}

/// The exception of a pilot-nix error: config problems become a
/// `ConfigError` pointing at the field, the rest a `NixError`.
pub(crate) fn nix_error(py: Python<'_>, error: pilot_nix::Error) -> PyErr {
    use pilot_core::config::{ConfigError, Problem as CoreProblem};
    use pilot_nix::Error;
    let message = error.to_string();
    let field = match &error {
        Error::UnsupportedVersion { language, .. } | Error::MissingRuntime { language, .. } => {
            Some(format!("runtime.{language}"))
        }
        Error::InvalidEnvName { name } => Some(format!("env.{name}")),
        _ => None,
    };
    match (error, field) {
        (Error::Core(e), _) => core_error(py, e),
        (_, Some(field)) => config_error(
            py,
            ConfigError::from_problems(vec![CoreProblem::new(field, message)]),
            None,
        ),
        (_, None) => new_error(py, ErrorKind::Nix, message),
    }
}
