"""Connecting to Ray: a local Ray on this machine, reachable from it alone, or a running
cluster by its address."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from explorer.errors import ExplorerError, describe_error
from explorer.priority import available_cores

LOOPBACK = "127.0.0.1"
REACH_TIMEOUT_S = 5.0
_ADDRESS = re.compile(r"(?:ray://)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})")
_LOCAL_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Read when Ray is imported: "0" makes it take the loopback address as this node's, where
it would otherwise turn 127.0.0.1 into the machine's network address and listen on every
interface."""
_QUIET = {"logging_level": logging.ERROR, "log_to_driver": False}
"""Ray's own start-up messages and the workers' output stay out of the command's output:
a worker's failures come back as one-line reasons instead."""


@contextmanager
def ray_session(address: str | None) -> Iterator[ModuleType]:
    """The ``ray`` module, connected: to the cluster at ``address``, or else to a Ray
    started here on 127.0.0.1 (no dashboard, a CPU per core), which is shut down on
    leaving. A process that is connected already (a notebook, the tests) keeps its
    connection, whatever ``address`` says.
    """
    if address is not None:
        check_reachable(address)
    elif "ray" not in sys.modules:
        os.environ.setdefault(_LOCAL_ONLY, "0")
    import ray

    if ray.is_initialized():
        yield ray
        return
    try:
        if address is None:
            _init(ray, address="local", num_cpus=available_cores(), include_dashboard=False,
                  _node_ip_address=LOOPBACK, **_QUIET)
        else:
            _init(ray, address=address, **_QUIET)
    except Exception as exc:  # Ray raises many kinds (ConnectionError, RuntimeError...)
        where = f"the Ray cluster at {address}" if address else "Ray on this machine"
        raise ExplorerError(f"cannot connect to {where}: {describe_error(exc)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _init(ray: ModuleType, **options: Any) -> None:
    """``ray.init``, keeping the caller's SIGTERM handler: Ray's replaces it with one that
    exits wherever the program is, where :mod:`explorer.interrupts` stops between videos."""
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main else None
    ray.init(**options)
    if handler is not None:
        signal.signal(signal.SIGTERM, handler)


def check_reachable(address: str) -> None:
    """Fail in one line, and within seconds, when nothing answers at ``address``
    (``HOST:PORT``, ``ray://HOST:PORT``, or ``auto`` for the cluster this machine is part
    of): Ray itself would retry for minutes, printing as it goes."""
    if address == "auto":
        return
    match = _ADDRESS.fullmatch(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ExplorerError(f"--ray-address {address!r} is not an address: give HOST:PORT "
                            "(the head node's, as ray start --head printed it), "
                            "ray://HOST:PORT or auto")
    try:
        socket.create_connection((match["host"].strip("[]"), int(match["port"])),
                                 timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise ExplorerError(
            f"cannot reach a Ray cluster at {address} ({describe_error(exc, with_file=False)}): "
            "check that it runs and the address is right, or leave out --ray-address to run "
            "on this machine"
        ) from None
