"""Arrays across a process pipe, without pickling them: each array's shape and type, then
its bytes straight from (and into) the array's own memory.

Pickled whole, a million-point triangulation arrived as a copy of its bytes beside the
arrays unpickled from them: 120 MB at once, the window's peak memory. Sent this way, only
the arrays themselves are ever held.
"""

from __future__ import annotations

from collections.abc import Sequence
from multiprocessing.connection import Connection

import numpy as np


def send_arrays(connection: Connection, arrays: Sequence[np.ndarray | None]) -> None:
    """Send ``arrays`` (None stands for itself) for :func:`receive_arrays`."""
    connection.send([None if array is None else (array.shape, array.dtype.str)
                     for array in arrays])
    for array in arrays:
        if array is not None and array.size:
            connection.send_bytes(np.ascontiguousarray(array))


def receive_arrays(connection: Connection) -> list[np.ndarray | None]:
    """What :func:`send_arrays` sent, each array read into its own memory."""
    arrays = []
    for layout in connection.recv():
        array = None if layout is None else np.empty(layout[0], np.dtype(layout[1]))
        if array is not None and array.size:  # as bytes: [T, 3] would be T items of 12
            connection.recv_bytes_into(memoryview(array).cast("B"))
        arrays.append(array)
    return arrays
