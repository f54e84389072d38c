//! `pilot.MetricsStore`: the timeseries store file of a Pilot server, read
//! from Python; and, for stores created here, written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use pilot_core::{MetricBatch, Sample};
use pilot_store::timeseries::{Aggregation, RangeQuery, SeriesPoints, SeriesSelector};
use pilot_store::{Database, SqliteDurability, TimeseriesOptions, TimeseriesStore};
use pyo3::prelude::*;
use pyo3::types::{PyList, PySequence};

use crate::convert::{duration_ms, repr, time_ms, type_name};
use crate::errors::{ErrorKind, invalid_argument, new_error, not_found, store_error};
use crate::runtime::wait;
use crate::store_results::{Series, as_arrays, as_points, import_numpy};

/// The timeseries store of a Pilot server (an SQLite file).
///
/// ``MetricsStore(path)`` opens an existing store for reading: nothing is
/// ever written to it, not even a schema upgrade, so it can be read while
/// the server writes it (a store written by another Pilot version raises
/// :class:`StoreError` naming both versions). ``MetricsStore.create(path)``
/// opens or creates one
/// that :meth:`write` may add samples to. The series and the not yet
/// compacted samples are read when the store is opened; open it again to
/// see what another process wrote since. Use it as a context manager, or
/// call :meth:`close`.
#[pyclass(module = "pilot", frozen)]
pub(crate) struct MetricsStore {
    store: Mutex<Option<Arc<TimeseriesStore>>>,
    path: PathBuf,
    writable: bool,
}

impl MetricsStore {
    fn open(py: Python<'_>, path: PathBuf, writable: bool) -> PyResult<Self> {
        let opened = wait(py, async {
            let db = if writable {
                Database::open_sqlite(&path, SqliteDurability::Full).await?
            } else {
                Database::open_sqlite_read_only(&path).await?
            };
            TimeseriesStore::open(db, TimeseriesOptions::default()).await
        })?
        .map_err(|e| store_error(py, e))?;
        Ok(MetricsStore {
            store: Mutex::new(Some(Arc::new(opened))),
            path,
            writable,
        })
    }

    fn store(&self, py: Python<'_>) -> PyResult<Arc<TimeseriesStore>> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                new_error(
                    py,
                    ErrorKind::Store,
                    format!(
                        "metrics store {} is closed; open it again",
                        self.path.display()
                    ),
                )
            })
    }

    /// Runs a query and hands each series' points to `convert`.
    #[allow(clippy::too_many_arguments)]
    fn run_query<T>(
        &self,
        py: Python<'_>,
        metric: String,
        node: Option<String>,
        labels: Option<BTreeMap<String, String>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
        agg: &str,
        mut convert: impl FnMut(SeriesPoints) -> PyResult<T>,
    ) -> PyResult<Vec<T>> {
        let query = RangeQuery {
            selector: SeriesSelector {
                name: metric,
                node,
                labels: labels.unwrap_or_default(),
            },
            start_ms: start
                .map(|s| time_ms("start", s))
                .transpose()?
                .unwrap_or(i64::MIN),
            end_ms: end
                .map(|e| time_ms("end", e))
                .transpose()?
                .unwrap_or(i64::MAX),
            step_ms: match step {
                None => 0,
                Some(step) => match duration_ms("step", step)? {
                    ms if ms > 0 => ms,
                    ms => {
                        return Err(invalid_argument(
                            py,
                            "step",
                            format!(
                                "step must be positive (got {ms} ms); leave it out for raw samples"
                            ),
                        ));
                    }
                },
            },
            aggregation: aggregation(py, agg)?,
        };
        let store = self.store(py)?;
        let result =
            wait(py, async { store.query(&query).await })?.map_err(|e| store_error(py, e))?;
        result.into_iter().map(&mut convert).collect()
    }
}

#[pymethods]
impl MetricsStore {
    /// Opens the existing store file at ``path`` for reading only.
    ///
    /// Raises :class:`NotFoundError` when there is no such file and
    /// :class:`StoreError` when it is not a Pilot store.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        if !path.is_file() {
            return Err(not_found(
                py,
                "store",
                path.display().to_string(),
                format!(
                    "metrics store {} does not exist; give the path of a Pilot server's database \
                     file, or use MetricsStore.create(path) for a new one",
                    path.display()
                ),
            ));
        }
        MetricsStore::open(py, path, false)
    }

    /// Opens the store at ``path`` for reading and writing, creating the
    /// file (and its schema) when it does not exist.
    #[staticmethod]
    fn create(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        MetricsStore::open(py, path, true)
    }

    /// The store file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Whether :meth:`write` is allowed (stores opened with :meth:`create`).
    #[getter]
    fn writable(&self) -> bool {
        self.writable
    }

    /// Every series, or those of ``metric`` and/or ``node``, sorted by
    /// metric name, then id.
    #[pyo3(signature = (metric=None, node=None))]
    fn series(
        &self,
        py: Python<'_>,
        metric: Option<String>,
        node: Option<String>,
    ) -> PyResult<Vec<Series>> {
        let store = self.store(py)?;
        let names = match metric {
            Some(metric) => vec![metric],
            None => wait(py, async { store.metric_names().await })?.map_err(|e| {
                new_error(
                    py,
                    ErrorKind::Store,
                    format!(
                        "cannot list the metrics of {}: {e}; check that it is a Pilot store",
                        self.path.display()
                    ),
                )
            })?,
        };
        let mut out = Vec::new();
        for name in names {
            let selector = SeriesSelector {
                name,
                node: node.clone(),
                labels: BTreeMap::new(),
            };
            out.extend(store.series(&selector).into_iter().map(Series::from));
        }
        Ok(out)
    }

    /// Adds samples of ``node`` and returns how many were written; durable
    /// when it returns.
    ///
    /// ``samples`` is an iterable of ``(metric, timestamp_ms, value)`` or
    /// ``(metric, timestamp_ms, value, labels)`` tuples. Only for stores
    /// opened with :meth:`create`; raises :class:`StoreError` otherwise.
    fn write(&self, py: Python<'_>, node: String, samples: &Bound<'_, PyAny>) -> PyResult<usize> {
        if !self.writable {
            return Err(new_error(
                py,
                ErrorKind::Store,
                format!(
                    "metrics store {} was opened read-only; open it with MetricsStore.create(path) to write",
                    self.path.display()
                ),
            ));
        }
        let samples = extract_samples(samples)?;
        let count = samples.len();
        let batch = MetricBatch { node, samples };
        let store = self.store(py)?;
        wait(py, async { store.write(&batch).await })?.map_err(|e| store_error(py, e))?;
        Ok(count)
    }

    /// The points of every series of ``metric`` (narrowed to ``node`` and
    /// to series carrying all of ``labels``) in ``[start, end)``.
    ///
    /// ``start``/``end`` are Unix milliseconds or ``datetime`` objects
    /// (default: everything). Without ``step`` the raw samples come back;
    /// with ``step`` (milliseconds or ``timedelta``) one point per step,
    /// combined by ``agg``: ``"avg"``, ``"min"``, ``"max"``, ``"sum"`` or
    /// ``"count"``. Returns one :class:`SeriesPoints` per series.
    #[pyo3(signature = (metric, node=None, labels=None, start=None, end=None, step=None, agg="avg"))]
    #[allow(clippy::too_many_arguments)]
    fn query<'py>(
        &self,
        py: Python<'py>,
        metric: String,
        node: Option<String>,
        labels: Option<BTreeMap<String, String>>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
        step: Option<&Bound<'py, PyAny>>,
        agg: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let items = self.run_query(py, metric, node, labels, start, end, step, agg, |s| {
            as_points(py, s.series, s.resolution_ms, &s.points)
        })?;
        PyList::new(py, items)
    }

    /// Like :meth:`query`, but each series' points come as numpy arrays
    /// (``timestamps``: int64 ms, ``values``: float64), built without a
    /// Python-level loop. Needs numpy; raises ``ImportError`` without it.
    #[pyo3(signature = (metric, node=None, labels=None, start=None, end=None, step=None, agg="avg"))]
    #[allow(clippy::too_many_arguments)]
    fn query_numpy<'py>(
        &self,
        py: Python<'py>,
        metric: String,
        node: Option<String>,
        labels: Option<BTreeMap<String, String>>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
        step: Option<&Bound<'py, PyAny>>,
        agg: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let numpy = import_numpy(py)?;
        let items = self.run_query(py, metric, node, labels, start, end, step, agg, |s| {
            as_arrays(&numpy, s.series, s.resolution_ms, &s.points)
        })?;
        PyList::new(py, items)
    }

    /// Closes the store; later calls raise :class:`StoreError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(store) = taken {
            wait(py, async move { store.database().close().await })?;
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "MetricsStore({}, writable={})",
            repr(py, &self.path.display().to_string()),
            repr(py, &self.writable)
        )
    }
}

/// The aggregation named `agg`.
fn aggregation(py: Python<'_>, agg: &str) -> PyResult<Aggregation> {
    match agg {
        "avg" => Ok(Aggregation::Avg),
        "min" => Ok(Aggregation::Min),
        "max" => Ok(Aggregation::Max),
        "sum" => Ok(Aggregation::Sum),
        "count" => Ok(Aggregation::Count),
        other => Err(invalid_argument(
            py,
            "agg",
            format!(
                "unknown aggregation {other:?}; use \"avg\", \"min\", \"max\", \"sum\" or \"count\""
            ),
        )),
    }
}

/// Samples from `(metric, ts, value[, labels])` tuples.
fn extract_samples(samples: &Bound<'_, PyAny>) -> PyResult<Vec<Sample>> {
    let py = samples.py();
    let mut out = Vec::with_capacity(samples.len().unwrap_or(0));
    for (i, item) in samples.try_iter()?.enumerate() {
        let item = item?;
        let item = match item.cast::<PySequence>() {
            Ok(sequence) => sequence.to_tuple()?.into_any(),
            Err(_) => item,
        };
        let sample = match item.len().ok() {
            Some(3) => item
                .extract::<(String, i64, f64)>()
                .map(|(name, timestamp_ms, value)| (name, timestamp_ms, value, None)),
            Some(4) => item.extract::<(String, i64, f64, Option<BTreeMap<String, String>>)>(),
            _ => {
                return Err(invalid_argument(
                    py,
                    "samples",
                    format!(
                        "samples[{i}] is a {}; each sample is a (metric, timestamp_ms, value) or \
                         (metric, timestamp_ms, value, labels) tuple",
                        type_name(&item)
                    ),
                ));
            }
        };
        let (name, timestamp_ms, value, labels) = sample.map_err(|e| {
            invalid_argument(
                py,
                "samples",
                format!(
                    "samples[{i}] is not (metric: str, timestamp_ms: int, value: float[, labels: dict]): {e}"
                ),
            )
        })?;
        out.push(Sample {
            name,
            labels: labels.unwrap_or_default(),
            timestamp_ms,
            value,
        });
    }
    Ok(out)
}

/// Registers the store classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MetricsStore>()?;
    m.add_class::<Series>()?;
    m.add_class::<crate::store_results::SeriesPoints>()?;
    m.add_class::<crate::store_results::SeriesArrays>()?;
    Ok(())
}
