"""CPU priority for background work, so that the window keeps the CPU when it wants it.

On a 2-core machine a background job that keeps both cores busy (UMAP's numba kernels, a
triangulation) starves the GUI thread of CPU time: its event loop then stalls for a
quarter of a second at a time although it holds no lock. Background work runs at a low
priority instead, and takes what the window leaves.
"""

from __future__ import annotations

import os
import sys
import threading
from multiprocessing.process import BaseProcess

LOWEST_NICE = 19
BACKGROUND_NICE = 5
"""A child process's: low, not the lowest. Beside a busy process of normal priority (the
app's own encoding, another program's training on both cores) a 120-point UMAP made no
progress in 100 s at 19 or 10, and took 80 s at 5. At 5 the window still gets three
quarters of a core it shares with the child."""
_BELOW_NORMAL_PRIORITY_CLASS = 0x4000  # Windows' SetPriorityClass


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def leave_the_window_a_core() -> None:
    """Run BLAS (numpy's and scipy's) on all cores but one in the window's process.

    OpenBLAS's threads spin for a while after each call before they sleep. On 2 cores,
    one small product on the worker thread (a PCA fit) left a thread spinning on the core
    the GUI thread wanted: as a 1,000-frame trajectory opened (previews already leaving a
    core), the event loop stalled 19–45 ms, and 17–26 ms with BLAS on one thread. The
    window's products are small (a latent's 16–64 columns); the heavy numerical work
    (UMAP, triangulations) runs in child processes, which keep their own settings.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max(1, available_cores() - 1), user_api="blas")


def lower_thread_priority(nice: int = LOWEST_NICE) -> bool:
    """Give the calling thread a low CPU priority (``nice``, the lowest by default);
    whether that was possible.

    Only on Linux, where each thread has a nice value of its own; elsewhere it is the
    process's, and lowering it would slow the whole app.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        return False
    return True


def lower_process_priority() -> bool:
    """Give the calling process (a child that works for the window) a low CPU priority
    (:data:`BACKGROUND_NICE`); whether that was possible. Call it first thing: on Linux
    the nice value is the calling thread's, and the threads it starts later (numba's,
    OpenMP's) inherit it."""
    try:
        if sys.platform == "win32":
            import ctypes

            kernel32 = ctypes.windll.kernel32
            return bool(kernel32.SetPriorityClass(kernel32.GetCurrentProcess(),
                                                  _BELOW_NORMAL_PRIORITY_CLASS))
        os.setpriority(os.PRIO_PROCESS, 0, BACKGROUND_NICE)
    except (OSError, AttributeError):
        return False
    return True


def start_quietly(process: BaseProcess) -> None:
    """Start ``process``, a child that works for the window, at a low CPU priority
    (:data:`BACKGROUND_NICE`) from its first instruction: its interpreter's start-up and
    imports take half a second of CPU, which the window would otherwise share with it.

    On Linux a child takes the nice value of the thread that starts it, so a thread
    lowered for the purpose starts it (no thread may raise its priority again, so the
    caller's is left alone). Elsewhere the child lowers itself with
    :func:`lower_process_priority` once its own code runs.
    """
    if not sys.platform.startswith("linux"):
        process.start()
        return
    failures: list[BaseException] = []

    def start() -> None:
        lower_thread_priority(BACKGROUND_NICE)
        try:
            process.start()
        except BaseException as exc:  # the caller's to handle, as if it had started it
            failures.append(exc)

    starter = threading.Thread(target=start, name=f"start-{process.name}")
    starter.start()
    starter.join()
    if failures:
        raise failures[0]
