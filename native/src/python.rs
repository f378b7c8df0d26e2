//! The CPython extension module `otlp_arrow._native` (abi3, CPython >= 3.11).
//!
//! `decode(signal, data)` reads an immutable `bytes` object in place, with the GIL released,
//! and returns the columns as one Arrow C Data Interface struct array for pyarrow to import
//! (`pa.RecordBatch._import_from_c(holder.address, schema)`): no copies, no Python object per
//! item. Errors are `ValueError`s (the Python bridge makes them `ConversionError`s); a panic
//! is caught before it reaches Python.

use arrow_data::ffi::FFI_ArrowArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::columns::struct_of_len;
use crate::{decode_caught, decode_json_caught, Signal};

use crate::python_encode::Encoder;

/// An exported Arrow array, owned until pyarrow imports (moves) it; freed with this object.
#[pyclass(module = "otlp_arrow._native", frozen)]
struct ExportedArray {
    array: Box<FFI_ArrowArray>,
}

#[pymethods]
impl ExportedArray {
    /// The address of the `struct ArrowArray`, for `pa.RecordBatch._import_from_c`.
    #[getter]
    fn address(&self) -> usize {
        std::ptr::from_ref::<FFI_ArrowArray>(&self.array) as usize
    }
}

/// Decode a serialized OTLP export request of `signal` ("traces", "metrics", "logs").
///
/// Returns `(array, bad_rows, first_error)`: the columns as one struct array, the rows that
/// cannot be stored losslessly, and the first one's message. Raises ValueError for input
/// that is not a valid request.
#[pyfunction]
fn decode(
    py: Python<'_>,
    signal: &str,
    data: &Bound<'_, PyBytes>,
) -> PyResult<(ExportedArray, Vec<u32>, Option<String>)> {
    let signal = Signal::parse(signal)
        .ok_or_else(|| PyValueError::new_err(format!("unknown signal {signal:?}")))?;
    // `bytes` is immutable and `data` keeps it alive: reading it without the GIL is sound.
    let buf: &[u8] = data.as_bytes();
    let decoded = py
        .detach(|| {
            decode_caught(signal, buf).and_then(|d| {
                let rows = d.rows;
                struct_of_len(d.columns, None, rows).map(|a| (a, d.bad_rows, d.first_error))
            })
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let (array, bad_rows, first_error) = decoded;
    let exported = ExportedArray {
        array: Box::new(FFI_ArrowArray::new(&array)),
    };
    Ok((exported, bad_rows, first_error))
}

/// What `decode` returns: the columns, the bad rows, the first one's message.
type DecodedTuple = (ExportedArray, Vec<u32>, Option<String>);

/// Decode an OTLP/JSON export request of `signal`, as [`decode`] does; `None` when the
/// body is for the reference route to decide (it may be invalid: the reference says why).
#[pyfunction]
fn decode_json(
    py: Python<'_>,
    signal: &str,
    data: &Bound<'_, PyBytes>,
) -> PyResult<Option<DecodedTuple>> {
    let signal = Signal::parse(signal)
        .ok_or_else(|| PyValueError::new_err(format!("unknown signal {signal:?}")))?;
    // `bytes` is immutable and `data` keeps it alive: reading it without the GIL is sound.
    let buf: &[u8] = data.as_bytes();
    let decoded = py.detach(|| {
        decode_json_caught(signal, buf).and_then(|d| {
            let rows = d.rows;
            struct_of_len(d.columns, None, rows)
                .ok()
                .map(|a| (a, d.bad_rows, d.first_error))
        })
    });
    Ok(decoded.map(|(array, bad_rows, first_error)| {
        let exported = ExportedArray {
            array: Box::new(FFI_ArrowArray::new(&array)),
        };
        (exported, bad_rows, first_error)
    }))
}

/// SDK `ReadableSpan`s to the traces columns (`crate::sdk_spans`), as [`decode`] returns
/// them; `None` when the Python collector must convert them (what is not certain here, and
/// spans the decoder would refuse a row of: the collector says why in its own words).
#[pyfunction]
fn sdk_spans(py: Python<'_>, spans: &Bound<'_, PyAny>) -> PyResult<Option<DecodedTuple>> {
    let request = walk(|| crate::sdk_spans::encode_spans(spans));
    Ok(decode_sdk(py, Signal::Traces, request))
}

/// An SDK `MetricsData` to the metrics columns (`crate::sdk_metrics`), as [`sdk_spans`].
#[pyfunction]
fn sdk_metrics(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Option<DecodedTuple>> {
    let request = walk(|| crate::sdk_metrics::encode_metrics(data));
    Ok(decode_sdk(py, Signal::Metrics, request))
}

/// SDK `ReadableLogRecord`s to the logs columns (`crate::sdk_logs`), as [`sdk_spans`].
#[pyfunction]
fn sdk_logs(py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<Option<DecodedTuple>> {
    let request = walk(|| crate::sdk_logs::encode_logs(records));
    Ok(decode_sdk(py, Signal::Logs, request))
}

/// Run an SDK reader; `None` when it leaves the objects to the Python collector, and also if
/// it panicked (a defect: the collector converts them instead; no panic reaches Python).
fn walk(read: impl FnOnce() -> crate::sdk::Walk<Vec<u8>>) -> Option<Vec<u8>> {
    // AssertUnwindSafe: on a panic the reader's half-written buffer is dropped, unused
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
        .ok()
        .and_then(Result::ok)
}

/// Decode the request an SDK reader wrote, with the GIL released; `None` if there is none,
/// or if the decoder would refuse a row of it (the Python collector then says why).
fn decode_sdk(py: Python<'_>, signal: Signal, request: Option<Vec<u8>>) -> Option<DecodedTuple> {
    let request = request?;
    let decoded = py.detach(|| {
        decode_caught(signal, &request)
            .ok()
            .filter(|d| d.bad_rows.is_empty())
            .and_then(|d| {
                let rows = d.rows;
                struct_of_len(d.columns, None, rows).ok()
            })
    });
    decoded.map(|array| {
        let exported = ExportedArray {
            array: Box::new(FFI_ArrowArray::new(&array)),
        };
        (exported, Vec::new(), None)
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode_json, m)?)?;
    m.add_function(wrap_pyfunction!(sdk_spans, m)?)?;
    m.add_function(wrap_pyfunction!(sdk_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(sdk_logs, m)?)?;
    m.add_class::<ExportedArray>()?;
    m.add("SIGNALS", ("traces", "logs", "metrics"))?;
    m.add_class::<Encoder>()?;
    m.add("ENCODE_SIGNALS", crate::encode::SIGNALS.to_vec())?;
    Ok(())
}

/// mimalloc for the extension's allocations: the column vectors grow and are freed once per
/// request, and glibc's malloc, sharing its heap with the interpreter, spent ~18% of the
/// decode in `malloc`/`free`/`realloc`/consolidation (perf, 512-span requests).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
