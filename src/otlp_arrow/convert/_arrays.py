"""Arrow arrays built on numpy directly: null masks, and values scattered into slots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def null_mask(length: int, null_rows: Sequence[int]) -> pa.BooleanArray | None:
    """The ``mask`` argument of pyarrow's ``from_arrays`` for ``length`` rows of which those
    in ``null_rows`` are null: None when there are none (no validity buffer then)."""
    if not null_rows:
        return None
    mask = np.zeros(length, dtype=bool)
    mask[np.asarray(null_rows, dtype=np.intp)] = True
    return pa.array(mask)


def scatter(values: pa.Array, present: np.ndarray) -> pa.Array:
    """An array of ``len(present)`` slots holding ``values`` in order where ``present`` is
    true and null elsewhere. Built on the buffers directly: for fixed-width values a zeroed
    array is filled; for strings and binaries only the offsets are rebuilt, around the data
    buffer as it is. (``take`` with null indices does the same several times slower.)"""
    n = len(present)
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    type_ = values.type
    if pa.types.is_boolean(type_):
        data = np.zeros(n, dtype=bool)
        data[present] = values.to_numpy(zero_copy_only=False)
        return pa.Array.from_buffers(
            type_, n, [validity, pa.py_buffer(np.packbits(data, bitorder="little"))]
        )
    if pa.types.is_string(type_) or pa.types.is_binary(type_):
        source = np.frombuffer(
            values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4
        )
        lengths = np.zeros(n, dtype=np.int32)
        lengths[present] = np.diff(source)
        offsets = np.empty(n + 1, dtype=np.int32)
        offsets[0] = source[0]
        np.cumsum(lengths, out=offsets[1:])
        offsets[1:] += source[0]
        return pa.Array.from_buffers(
            type_, n, [validity, pa.py_buffer(offsets), values.buffers()[2]]
        )
    data_np = np.zeros(n, dtype=type_.to_pandas_dtype())
    data_np[present] = values.to_numpy(zero_copy_only=False)
    return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(data_np)])
