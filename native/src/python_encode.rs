//! `otlp_arrow._native.Encoder`: a table handed over through the Arrow C Data Interface,
//! encoded as serialized OTLP export requests, one row range at a time, with the GIL released.
//!
//! ```python
//! encoder = Encoder("traces")
//! struct_array._export_to_c(encoder.array_address, encoder.schema_address)
//! data = encoder.encode(0, len(struct_array))
//! ```

use std::sync::Mutex;

use arrow_array::{Array, StructArray};
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::DataType;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::encode::encode_caught;
use crate::Signal;

enum State {
    /// Waiting for pyarrow to export into these (their addresses are handed out).
    Empty(Box<FFI_ArrowArray>, Box<FFI_ArrowSchema>),
    Imported(StructArray),
    Failed,
}

/// One table of `signal`'s schema, imported once, encoded range by range.
#[pyclass(module = "otlp_arrow._native", frozen)]
pub struct Encoder {
    signal: Signal,
    array_address: usize,
    schema_address: usize,
    state: Mutex<State>,
}

#[pymethods]
impl Encoder {
    #[new]
    fn new(signal: &str) -> PyResult<Self> {
        let signal = Signal::parse(signal)
            .ok_or_else(|| PyValueError::new_err(format!("unknown signal {signal:?}")))?;
        let array = Box::new(FFI_ArrowArray::empty());
        let schema = Box::new(FFI_ArrowSchema::empty());
        Ok(Encoder {
            signal,
            array_address: std::ptr::from_ref::<FFI_ArrowArray>(&array) as usize,
            schema_address: std::ptr::from_ref::<FFI_ArrowSchema>(&schema) as usize,
            state: Mutex::new(State::Empty(array, schema)),
        })
    }

    /// The address of the `struct ArrowArray` for `_export_to_c`.
    #[getter]
    fn array_address(&self) -> usize {
        self.array_address
    }

    /// The address of the `struct ArrowSchema` for `_export_to_c`.
    #[getter]
    fn schema_address(&self) -> usize {
        self.schema_address
    }

    /// The serialized export request of rows `start..stop`. ValueError for a table that is
    /// not of the signal's schema (naming the column), or when nothing was exported.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| PyValueError::new_err("encoder poisoned"))?;
        if let State::Empty(array, schema) = &mut *state {
            if array.is_released() {
                return Err(PyValueError::new_err(
                    "no array was exported to the encoder",
                ));
            }
            let taken = std::mem::replace(&mut **array, FFI_ArrowArray::empty());
            // SAFETY: `taken` and `schema` were filled by pyarrow's `_export_to_c`, which
            // writes a valid C Data Interface array and its schema (checked as not released
            // above); the imported data owns the array (its release runs when dropped).
            let data = unsafe { arrow_array::ffi::from_ffi(taken, schema) };
            *state = match data {
                Ok(data) if matches!(data.data_type(), DataType::Struct(_)) => {
                    State::Imported(StructArray::from(data))
                }
                Ok(_) => State::Failed,
                Err(e) => {
                    *state = State::Failed;
                    return Err(PyValueError::new_err(format!(
                        "cannot import the table: {e}"
                    )));
                }
            };
        }
        let State::Imported(table) = &*state else {
            return Err(PyValueError::new_err(
                "the exported array is not a struct array",
            ));
        };
        let signal = self.signal;
        // The imported buffers are immutable and owned by `table`, which outlives this call.
        let encoded = py
            .detach(|| encode_caught(signal, table, start..stop))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let _ = table.len();
        Ok(PyBytes::new(py, &encoded))
    }
}
