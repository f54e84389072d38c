//! `config.vpspilot.json` from Python: `load_config`, `validate_config`, the
//! `Config` object and its `Problem`s.

use std::collections::BTreeSet;
use std::path::PathBuf;

use pilot_core::config::{self as model, AppConfig};
use pyo3::prelude::*;

use crate::config_sections::{
    BuildSection, CommandSection, DeploymentSection, NixSection, Resources, Runtimes,
    build_section, command_section, nix_section,
};
use crate::convert::{json_to_py, repr};
use crate::errors::{ErrorKind, config_error, new_error};

/// One problem found in a config: where it is and what to write instead.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// JSON path of the offending value, e.g. ``"runtime.node"`` or
    /// ``"build.commands[1]"``; ``""`` for the whole document.
    path: String,
    /// What is wrong.
    message: String,
    /// What to write instead, when Pilot can tell.
    hint: Option<String>,
    /// 1-based line of the offending text, when known.
    line: Option<usize>,
    /// 1-based column of the offending text, when known.
    column: Option<usize>,
}

#[pymethods]
impl Problem {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Problem(path={}, message={}, hint={}, line={}, column={})",
            repr(py, &self.path),
            repr(py, &self.message),
            repr(py, &self.hint),
            repr(py, &self.line),
            repr(py, &self.column)
        )
    }

    fn __str__(&self) -> String {
        model::Problem {
            path: self.path.clone(),
            message: self.message.clone(),
            hint: self.hint.clone(),
            line: self.line,
            column: self.column,
        }
        .to_string()
    }
}

impl From<model::Problem> for Problem {
    fn from(p: model::Problem) -> Self {
        Problem {
            path: p.path,
            message: p.message,
            hint: p.hint,
            line: p.line,
            column: p.column,
        }
    }
}

/// A valid ``config.vpspilot.json``: how Pilot builds, starts, checks and
/// rolls out an app. Get one from :func:`load_config` or
/// :func:`validate_config`; every field is a read-only property.
#[pyclass(module = "pilot", frozen)]
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) inner: AppConfig,
}

#[pymethods]
impl Config {
    /// Human-readable name of the app.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The app type: ``"laravel"``, ``"nodejs"``, ``"go"``, ``"python"``,
    /// ``"django"``, ``"static"``, ``"ruby"`` or ``"custom"``.
    #[getter]
    fn get_type(&self) -> &'static str {
        self.inner.app_type.as_str()
    }

    /// Requested runtime versions.
    #[getter]
    fn runtime(&self) -> Runtimes {
        Runtimes::from(&self.inner.runtime)
    }

    /// The build commands.
    #[getter]
    fn build(&self) -> BuildSection {
        build_section(&self.inner.build)
    }

    /// How the app starts (it must listen on ``$PORT``).
    #[getter]
    fn start(&self) -> CommandSection {
        command_section(&self.inner.start.command)
    }

    /// The test command, if any.
    #[getter]
    fn test(&self) -> Option<CommandSection> {
        self.inner
            .test
            .as_ref()
            .map(|t| command_section(&t.command))
    }

    /// The app's environment; values may hold ``{{NAME}}`` secret placeholders.
    #[getter]
    fn env(&self) -> std::collections::BTreeMap<String, String> {
        self.inner.env.clone()
    }

    /// Nix settings, if any.
    #[getter]
    fn nix(&self) -> Option<NixSection> {
        self.inner.nix.as_ref().map(nix_section)
    }

    /// Rollout strategy, health check and timings.
    #[getter]
    fn deployment(&self) -> DeploymentSection {
        DeploymentSection::from(&self.inner.deployment)
    }

    /// Resource limits.
    #[getter]
    fn resources(&self) -> Resources {
        Resources::from(&self.inner.resources)
    }

    /// The stable public port, when configured.
    #[getter]
    fn port(&self) -> Option<u16> {
        self.inner.port
    }

    /// Names of every secret the env values refer to with ``{{NAME}}``.
    #[getter]
    fn secret_names(&self) -> BTreeSet<String> {
        self.inner.secret_names()
    }

    /// The config as plain Python data (what ``json.loads`` of the
    /// normalised file gives), defaults filled in.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(&self.inner).map_err(|e| serialize_error(py, e))?;
        json_to_py(py, &value)
    }

    /// The config as pretty-printed JSON text, defaults filled in.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        serde_json::to_string_pretty(&self.inner).map_err(|e| serialize_error(py, e))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Config>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Config(name={}, type={})",
            repr(py, &self.inner.name),
            repr(py, &self.inner.app_type.as_str())
        )
    }
}

fn serialize_error(py: Python<'_>, e: serde_json::Error) -> PyErr {
    new_error(
        py,
        ErrorKind::Pilot,
        format!("cannot serialise the config: {e}; report this to the Pilot maintainers"),
    )
}

/// Reads and validates a ``config.vpspilot.json``.
///
/// ``path`` is the file or the app directory holding it. Returns a
/// :class:`Config`; raises :class:`ConfigError` carrying every problem
/// (with its JSON path, line and column) when the config is invalid, or
/// with ``path`` set and no problems when the file cannot be read.
#[pyfunction]
pub(crate) fn load_config(py: Python<'_>, path: PathBuf) -> PyResult<Config> {
    let file = if path.is_dir() {
        path.join(model::CONFIG_FILE_NAME)
    } else {
        path.clone()
    };
    model::load(&path)
        .map(|inner| Config { inner })
        .map_err(|e| config_error(py, e, Some(&file)))
}

/// Validates the text of a ``config.vpspilot.json``.
///
/// Returns a :class:`Config`; raises :class:`ConfigError` whose
/// ``problems`` list every problem at once, each with its JSON path, what
/// is wrong, a hint, and its line and column in ``text``.
#[pyfunction]
pub(crate) fn validate_config(py: Python<'_>, text: &str) -> PyResult<Config> {
    model::parse(text)
        .map(|inner| Config { inner })
        .map_err(|e| config_error(py, e, None))
}

/// Registers the config functions and classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load_config, m)?)?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    m.add_class::<Config>()?;
    m.add_class::<Problem>()?;
    m.add_class::<Runtimes>()?;
    m.add_class::<BuildSection>()?;
    m.add_class::<CommandSection>()?;
    m.add_class::<NixSection>()?;
    m.add_class::<DeploymentSection>()?;
    m.add_class::<Resources>()?;
    Ok(())
}
