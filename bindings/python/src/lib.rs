//! The `pilot` Python module.
//!
//! ```python
//! import pilot
//! problems = pilot.validate_config(open("config.vpspilot.json").read())
//! for p in problems:
//!     print(p["path"], p["message"], p.get("hint"))
//! ```

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Checks the text of a `config.vpspilot.json` and returns every problem as a
/// dict with `path`, `message`, `hint`, `line` and `column` (an empty list
/// when the config is valid).
#[pyfunction]
fn validate_config<'py>(py: Python<'py>, text: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let problems = match pilot_core::config::parse(text) {
        Ok(_) => Vec::new(),
        Err(error) => error.problems().to_vec(),
    };
    problems
        .into_iter()
        .map(|p| {
            let d = PyDict::new(py);
            d.set_item("path", p.path)?;
            d.set_item("message", p.message)?;
            d.set_item("hint", p.hint)?;
            d.set_item("line", p.line)?;
            d.set_item("column", p.column)?;
            Ok(d)
        })
        .collect()
}

/// The `pilot` module.
#[pymodule]
fn pilot(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    Ok(())
}
