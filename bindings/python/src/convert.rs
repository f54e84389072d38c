//! Conversions between Rust values and Python objects: JSON values, times
//! and durations.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::invalid_argument;

/// A JSON value as the Python object `json.loads` would return.
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    match value {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)
            }
        }
        Value::String(s) => s.into_bound_py_any(py),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            Ok(list.into_any())
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            Ok(dict.into_any())
        }
    }
}

/// The serde name of a unit enum value, e.g. `"blue-green"` for
/// `Strategy::BlueGreen`.
pub(crate) fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// A point in time given as Unix milliseconds (`int`) or a
/// `datetime.datetime` (naive ones are local time, as `datetime.timestamp`
/// reads them), as Unix milliseconds.
pub(crate) fn time_ms(field: &str, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = value.py();
    if let Ok(ms) = value.extract::<i64>() {
        return Ok(ms);
    }
    let datetime = py.import("datetime")?.getattr("datetime")?;
    if value.is_instance(&datetime)? {
        let seconds: f64 = value.call_method0("timestamp")?.extract()?;
        return Ok((seconds * 1000.0).round() as i64);
    }
    Err(invalid_argument(
        py,
        field,
        format!(
            "{field} must be Unix milliseconds (int) or a datetime.datetime, not {}",
            type_name(value)
        ),
    ))
}

/// A duration given as milliseconds (`int`) or a `datetime.timedelta`, in
/// milliseconds.
pub(crate) fn duration_ms(field: &str, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = value.py();
    if let Ok(ms) = value.extract::<i64>() {
        return Ok(ms);
    }
    let timedelta = py.import("datetime")?.getattr("timedelta")?;
    if value.is_instance(&timedelta)? {
        let seconds: f64 = value.call_method0("total_seconds")?.extract()?;
        return Ok((seconds * 1000.0).round() as i64);
    }
    Err(invalid_argument(
        py,
        field,
        format!(
            "{field} must be milliseconds (int) or a datetime.timedelta, not {}",
            type_name(value)
        ),
    ))
}

/// The Python type name of a value, for messages.
pub(crate) fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".to_string())
}

/// Python's `repr()` of a Rust value, for `__repr__` methods.
pub(crate) fn repr<'py, T>(py: Python<'py>, value: &T) -> String
where
    T: Clone + IntoPyObject<'py>,
{
    value
        .clone()
        .into_bound_py_any(py)
        .and_then(|object| object.repr().map(|r| r.to_string()))
        .unwrap_or_else(|_| "<unprintable>".to_string())
}
