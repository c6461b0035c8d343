"""Fitting a slow projection (UMAP) in a child process.

umap-learn's numba kernels hold the GIL for long stretches, so a fit on a thread of the
app's own process stalls its event loop. A separate process cannot: the window keeps
drawing while the layout is computed, and cancelling simply ends the child. Only plain
arrays cross the process boundary: the latents go in through a pipe once the child has
started (:mod:`explorer.pipes`; in its start-up message, a window closed while the child
was starting cut them short and the child printed a traceback), the projection's
``state()`` and progress messages come out.

The GUI thread never waits either: a relay thread starts the child (spawning takes tens
of milliseconds), passes its messages on, rebuilds the projection from its state (a
Delaunay triangulation: about 70 ms for 10,000 points) and waits for its search index
(:func:`~explorer.latent.projection.settled`), and reaps the child when it ends
(its interpreter takes about half a second to shut down). :meth:`BackgroundFit.poll`
only reads what the relay has passed on.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from explorer.latent.projection import Projection, projection_from_state, settled
from explorer.pipes import receive_arrays, send_arrays
from explorer.priority import start_quietly

_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
_WAKE_S = 0.2  # how often the relay checks that the child is still alive


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
        self._latents_in, self._latents_out = _CONTEXT.Pipe(duplex=False)
        self._process = _CONTEXT.Process(
            target=_fit_in_child,
            args=(kind, options, self._latents_in, self._messages),
            name=f"explorer-{kind}-fit",
            daemon=True,
        )
        self._news: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()  # start and cancel never overlap
        self._cancelled = False
        self._finished = False
        threading.Thread(target=self._relay, name=f"explorer-{kind}-relay", daemon=True).start()

    def poll(self) -> FitProgress | Projection | Exception | None:
        """The newest news: progress, the fitted projection, an error, or None (no news).

        A projection or an error is returned once; after that the fit is finished.
        """
        latest: FitProgress | None = None
        while not self._finished:
            try:
                news = self._news.get_nowait()
            except queue.Empty:
                return latest
            if not isinstance(news, FitProgress):
                self._finished = True
                return news
            latest = news
        return None

    @property
    def finished(self) -> bool:
        return self._finished

    def cancel(self) -> None:
        """End the child at once; nothing it computed is kept."""
        if self._finished:
            return
        self._finished = True
        with self._lock:
            self._cancelled = True
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)

    def _relay(self) -> None:
        """Runs on the relay thread: start the child, send it the latents, pass its news
        on, reap it."""
        with self._lock:
            if self._cancelled:
                self._latents_out.close()
                return
            start_quietly(self._process)
            self._latents_in.close()  # the child's copy is its own
        try:
            with self._latents_out:
                send_arrays(self._latents_out, [self._latents])
        except OSError:  # the child is gone (cancelled): _follow says so, or nobody asks
            pass
        try:
            self._news.put(self._follow())
        finally:
            self._process.join()

    def _follow(self) -> Projection | Exception:
        while True:
            try:
                kind, *payload = self._messages.get(timeout=_WAKE_S)
            except queue.Empty:
                if not self._process.is_alive() and self._messages.empty():
                    return RuntimeError(f"the {self.kind} fit stopped unexpectedly")
                continue
            if kind == "progress":
                self._news.put(FitProgress(*payload))
            elif kind == "done":
                return settled(projection_from_state(payload[0], self._latents))
            else:
                return Exception(payload[0])


def _fit_in_child(kind: str, options: dict, latents_in: Connection, messages) -> None:
    from explorer.priority import lower_process_priority

    lower_process_priority()  # before numba starts its threads: they inherit it
    try:
        (latents,) = receive_arrays(latents_in)
    except (EOFError, OSError):  # nobody waits for the fit any more
        return
    from explorer.errors import ExplorerError, describe_error
    from explorer.latent.landmarks import umap_state
    from explorer.latent.projection import fit_projection

    def progress(done: int, total: int) -> None:
        messages.put(("progress", done, total))

    try:
        if kind == "umap":  # on landmarks, for long videos
            state = umap_state(latents, on_progress=progress, **options)
        else:
            state = fit_projection(kind, latents, **options).state()
        messages.put(("done", state))
    except ExplorerError as exc:
        messages.put(("error", describe_error(exc)))
    except Exception as exc:  # reported to the parent, which keeps running
        messages.put(("error", f"{kind} fit failed: {describe_error(exc, with_type=True)}"))
