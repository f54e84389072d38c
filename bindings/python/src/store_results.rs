//! What `MetricsStore` queries return: series identities, points as lists
//! of tuples, and points as numpy arrays built without a Python loop.

use std::collections::BTreeMap;

use pilot_store::timeseries::{Point, SeriesInfo};
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyList};

use crate::convert::repr;

/// One series of the store: a metric on a node with a set of labels.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// Numeric id in the store.
    id: i64,
    /// The node the samples come from.
    node: String,
    /// The metric name, e.g. ``"cpu_usage_percent"``.
    metric: String,
    /// Labels besides the node, e.g. ``{"project": "shop"}``.
    labels: BTreeMap<String, String>,
}

#[pymethods]
impl Series {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Series(id={}, node={}, metric={}, labels={})",
            self.id,
            repr(py, &self.node),
            repr(py, &self.metric),
            repr(py, &self.labels)
        )
    }
}

impl From<SeriesInfo> for Series {
    fn from(s: SeriesInfo) -> Self {
        Series {
            id: s.id,
            node: s.node,
            metric: s.name,
            labels: s.labels,
        }
    }
}

/// The points of one series as a list of ``(timestamp_ms, value)`` tuples.
#[pyclass(module = "pilot", frozen, get_all)]
pub(crate) struct SeriesPoints {
    /// The series.
    series: Py<Series>,
    /// Width the points were computed from in ms: 0 for raw samples, a
    /// rollup tier's bucket width, or the step.
    resolution_ms: i64,
    /// ``[(timestamp_ms, value), ...]`` by time; for stepped queries the
    /// timestamp is the start of the step.
    points: Py<PyList>,
}

#[pymethods]
impl SeriesPoints {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.points.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SeriesPoints(series={}, resolution_ms={}, points=<{} points>)",
            self.series.get().__repr__(py),
            self.resolution_ms,
            self.points.bind(py).len()
        )
    }
}

/// The points of one series as two numpy arrays.
#[pyclass(module = "pilot", frozen, get_all)]
pub(crate) struct SeriesArrays {
    /// The series.
    series: Py<Series>,
    /// Width the points were computed from in ms (see ``SeriesPoints``).
    resolution_ms: i64,
    /// ``numpy.ndarray`` of ``int64``: Unix milliseconds, by time.
    timestamps: Py<PyAny>,
    /// ``numpy.ndarray`` of ``float64``: the values.
    values: Py<PyAny>,
}

#[pymethods]
impl SeriesArrays {
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.values.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SeriesArrays(series={}, resolution_ms={}, points=<{} points>)",
            self.series.get().__repr__(py),
            self.resolution_ms,
            self.values.bind(py).len().unwrap_or(0)
        )
    }
}

/// Points as a list of tuples.
pub(crate) fn as_points(
    py: Python<'_>,
    series: SeriesInfo,
    resolution_ms: i64,
    points: &[Point],
) -> PyResult<SeriesPoints> {
    let list = PyList::new(py, points.iter().map(|p| (p.timestamp_ms, p.value)))?;
    Ok(SeriesPoints {
        series: Py::new(py, Series::from(series))?,
        resolution_ms,
        points: list.unbind(),
    })
}

/// Imports numpy, or explains how to get it.
pub(crate) fn import_numpy(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("numpy").map_err(|e| {
        PyImportError::new_err(format!(
            "query_numpy needs numpy, which cannot be imported ({e}); install it with \
             `pip install numpy` or use query() for lists"
        ))
    })
}

/// Points as numpy arrays: the bytes are written once into a `bytearray`
/// that `numpy.frombuffer` wraps without copying.
pub(crate) fn as_arrays(
    numpy: &Bound<'_, PyModule>,
    series: SeriesInfo,
    resolution_ms: i64,
    points: &[Point],
) -> PyResult<SeriesArrays> {
    let py = numpy.py();
    let timestamps = PyByteArray::new_with(py, points.len() * 8, |buf| {
        for (bytes, p) in buf.chunks_exact_mut(8).zip(points) {
            bytes.copy_from_slice(&p.timestamp_ms.to_ne_bytes());
        }
        Ok(())
    })?;
    let values = PyByteArray::new_with(py, points.len() * 8, |buf| {
        for (bytes, p) in buf.chunks_exact_mut(8).zip(points) {
            bytes.copy_from_slice(&p.value.to_ne_bytes());
        }
        Ok(())
    })?;
    let frombuffer = numpy.getattr("frombuffer")?;
    Ok(SeriesArrays {
        series: Py::new(py, Series::from(series))?,
        resolution_ms,
        timestamps: frombuffer
            .call1((timestamps, numpy.getattr("int64")?))?
            .unbind(),
        values: frombuffer
            .call1((values, numpy.getattr("float64")?))?
            .unbind(),
    })
}
