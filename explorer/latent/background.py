"""Fitting a slow projection (UMAP) in a child process.

umap-learn's numba kernels hold the GIL for long stretches, so a fit on a thread of the
app's own process stalls its event loop. A separate process cannot: the window keeps
drawing while the layout is computed, and cancelling simply ends the child. Only plain
arrays cross the process boundary: the latents go in, the projection's ``state()`` and
progress messages come out.
"""

from __future__ import annotations

import multiprocessing
import queue
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.latent.projection import Projection, projection_from_state

_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process that runs Qt


@dataclass(frozen=True)
class FitProgress:
    done: int
    total: int


class BackgroundFit:
    """One projection fit running in a child process; poll it from the GUI's timer."""

    def __init__(self, kind: str, latents: np.ndarray, **options: Any) -> None:
        self.kind = kind
        self._latents = np.ascontiguousarray(latents, dtype=np.float32)
        self._messages = _CONTEXT.Queue()
        self._process = _CONTEXT.Process(
            target=_fit_in_child,
            args=(kind, self._latents, options, self._messages),
            name=f"explorer-{kind}-fit",
            daemon=True,
        )
        self._process.start()
        self._finished = False

    def poll(self) -> FitProgress | Projection | Exception | None:
        """The newest news: progress, the fitted projection, an error, or None (no news).

        A projection or an error is returned once; after that the fit is finished.
        """
        latest: FitProgress | None = None
        while not self._finished:
            try:
                kind, *payload = self._messages.get_nowait()
            except queue.Empty:
                if not self._process.is_alive() and self._messages.empty():
                    self._finished = True
                    return RuntimeError(f"the {self.kind} fit stopped unexpectedly")
                return latest
            if kind == "progress":
                latest = FitProgress(*payload)
            elif kind == "done":
                self._finish()
                return projection_from_state(payload[0], self._latents)
            else:
                self._finish()
                return Exception(payload[0])
        return None

    @property
    def finished(self) -> bool:
        return self._finished

    def cancel(self) -> None:
        """End the child at once; nothing it computed is kept."""
        if not self._finished:
            self._process.terminate()
            self._finish()

    def _finish(self) -> None:
        self._finished = True
        self._process.join(timeout=5)


def _fit_in_child(kind: str, latents: np.ndarray, options: dict, messages) -> None:
    from explorer.errors import ExplorerError
    from explorer.latent.projection import fit_projection

    def progress(done: int, total: int) -> None:
        messages.put(("progress", done, total))

    try:
        projection = fit_projection(kind, latents, on_progress=progress, **options)
        messages.put(("done", projection.state()))
    except ExplorerError as exc:
        messages.put(("error", str(exc)))
    except Exception as exc:  # reported to the parent, which keeps running
        messages.put(("error", f"{kind} fit failed: {type(exc).__name__}: {exc}"))
