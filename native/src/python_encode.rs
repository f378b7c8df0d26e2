//! `otlp_arrow._native.Encoder`: a table handed over through the Arrow C Data Interface,
//! encoded as serialized OTLP export requests, one row range at a time, with the GIL released.
//!
//! ```python
//! encoder = Encoder("traces")
//! struct_array._export_to_c(encoder.array_address, encoder.schema_address)
//! data = encoder.encode(0, len(struct_array))
//! ```

use std::sync::{Mutex, OnceLock};

use arrow_array::StructArray;
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::DataType;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::encode::encode_caught;
use crate::Signal;

/// The export slots, until pyarrow has filled them and they were imported.
struct Slots {
    array: Box<FFI_ArrowArray>,
    schema: Box<FFI_ArrowSchema>,
    imported: bool,
}

/// One table of `signal`'s schema, imported once, encoded range by range.
#[pyclass(module = "otlp_arrow._native", frozen)]
pub struct Encoder {
    signal: Signal,
    array_address: usize,
    schema_address: usize,
    slots: Mutex<Slots>,
    /// The imported table: set once, then read without a lock (so that no thread waits for
    /// a lock while holding the GIL that an encoding thread needs back).
    table: OnceLock<StructArray>,
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
            slots: Mutex::new(Slots {
                array,
                schema,
                imported: false,
            }),
            table: OnceLock::new(),
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
        let table = match self.table.get() {
            Some(table) => table,
            None => self.import()?,
        };
        let signal = self.signal;
        // The imported buffers are immutable and owned by `table`, which outlives this call.
        let encoded = py
            .detach(|| encode_caught(signal, table, start..stop))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &encoded))
    }
}

impl Encoder {
    /// Import what pyarrow exported into the slots (once; the GIL is held throughout).
    fn import(&self) -> PyResult<&StructArray> {
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| PyValueError::new_err("encoder poisoned"))?;
        if let Some(table) = self.table.get() {
            return Ok(table);
        }
        if slots.imported || slots.array.is_released() {
            return Err(PyValueError::new_err(
                "no array was exported to the encoder",
            ));
        }
        slots.imported = true;
        let taken = std::mem::replace(&mut *slots.array, FFI_ArrowArray::empty());
        // SAFETY: `taken` and the schema were filled by pyarrow's `_export_to_c`, which writes
        // a valid C Data Interface array and its schema (checked as not released above); the
        // imported data owns the array (its release callback runs when it is dropped).
        let data = unsafe { arrow_array::ffi::from_ffi(taken, &slots.schema) }
            .map_err(|e| PyValueError::new_err(format!("cannot import the table: {e}")))?;
        if !matches!(data.data_type(), DataType::Struct(_)) {
            return Err(PyValueError::new_err(
                "the exported array is not a struct array",
            ));
        }
        Ok(self.table.get_or_init(|| StructArray::from(data)))
    }
}
