"""A library's videos encoded by a pool of Ray actors.

Each actor (:class:`~explorer.library.worker.EncodeWorker`) opens the model once and is
given one video at a time, the next as soon as it is done, so a long video holds up no
other. Plain Ray actors rather than Ray Data: the unit of work is a whole video, whose
frames must stay in order through one streaming encoder, and Ray core needs none of
Ray Data's extra packages.

Ray restarts an actor whose process dies (out of memory, a crash in a decoder, a node
lost) and gives it the video again (``max_restarts``, ``max_task_retries``). A video
that kills its worker every time is recorded as failed and the worker replaced. Actors
are spread over the cluster's nodes, a CPU each, and the GPUs asked for.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from explorer.errors import ExplorerError, describe_error
from explorer.library.catalog import VideoEntry
from explorer.library.cluster import ray_session
from explorer.library.worker import (
    EncodeWorker,
    Job,
    Tally,
    WorkerConfig,
    WorkerInfo,
    failed_entry,
)

RETRIES = 2
"""Times a video is given again to a worker that died encoding it (restarted each time)."""
POLL_S = 0.2
"""How often the driver reads the progress (and so notices Ctrl-C)."""

_RAISED = re.compile(r"\w+(Error|Exception): ")
Counts = dict[int, tuple[int, int | None]]
"""Per job key, frames done and expected, as the workers last reported them."""


@dataclass(frozen=True)
class PoolOptions:
    address: str | None = None
    """A Ray cluster's address; None starts Ray on this machine."""
    workers: int | None = None
    """None: as many as the cluster has CPUs (or GPUs for ``gpus_per_worker``)."""
    gpus_per_worker: float = 0.0


@contextmanager
def encoder_pool(config: WorkerConfig, options: PoolOptions, jobs: int,
                 on_tick: Callable[[Counts], None]) -> Iterator[EncoderPool]:
    """A started pool of at most ``jobs`` workers, each with the model open; ``on_tick``
    is called while they start (it may raise to stop)."""
    with ray_session(options.address) as ray:
        pool = EncoderPool(ray, config, worker_count(ray, options, jobs),
                           options.gpus_per_worker)
        try:
            pool.start(on_tick)
            yield pool
        finally:
            pool.close()


def worker_count(ray: ModuleType, options: PoolOptions, jobs: int) -> int:
    """The workers to start: as many as asked (by default, all the cluster can hold), and
    no more than there are videos; a request the cluster cannot hold is a one-line error."""
    resources = ray.cluster_resources()
    cpus = int(resources.get("CPU", 0))
    fit, have, each = cpus, f"{cpus} CPUs", "a CPU"
    if options.gpus_per_worker:
        gpus = resources.get("GPU", 0)
        fit = min(cpus, int(gpus / options.gpus_per_worker + 1e-9))
        have = f"{gpus:g} GPUs and {cpus} CPUs"
        each = f"a CPU and {options.gpus_per_worker:g} GPU"
    if fit < 1:
        raise ExplorerError(f"the Ray cluster has {have}: not enough for one worker ({each})")
    wanted = options.workers or fit
    if wanted > fit:
        raise ExplorerError(f"--workers {wanted} is more than the Ray cluster can hold: it has "
                            f"{have}, and a worker takes {each}; give --workers {fit} or fewer")
    return min(wanted, jobs)


class EncoderPool:
    """Ray actors encoding videos; see the module docstring."""

    def __init__(self, ray: ModuleType, config: WorkerConfig, count: int, gpus: float) -> None:
        self._ray = ray
        self._config = config
        self._tally = ray.remote(Tally).options(num_cpus=0).remote()
        self._actor_class = ray.remote(EncodeWorker).options(
            num_cpus=1, num_gpus=gpus, max_restarts=RETRIES, max_task_retries=RETRIES,
            scheduling_strategy="SPREAD",
        )
        self._actors = [self._new_actor() for _ in range(count)]
        self.info = WorkerInfo(None)

    def _new_actor(self) -> Any:
        return self._actor_class.remote(self._config)

    def start(self, on_tick: Callable[[Counts], None]) -> None:
        """Wait until every worker has opened the model; the first that could not is a
        one-line error (a model file that some node cannot read, a plugin missing there)."""
        answers = [actor.ready.remote() for actor in self._actors]
        pending = answers
        while pending:
            _, pending = self._ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
            on_tick({})
        try:
            infos = self._ray.get(answers)
        except self._ray.exceptions.RayActorError as exc:  # not an error of the model's
            raise ExplorerError(f"a Ray worker did not start ({_reason(exc)}): every node needs "
                                "Latent Explorer installed, as here") from None
        for info in infos:
            if info.error is not None:
                raise ExplorerError(f"the model did not open on a Ray worker: {info.error}")
        self.info = infos[0]

    def encode(self, jobs: Iterable[Job], on_tick: Callable[[Counts], None]
               ) -> Iterator[tuple[Job, VideoEntry]]:
        """Each job with its outcome, as soon as it is known; ``on_tick`` gets the progress
        every :data:`POLL_S` seconds."""
        ray = self._ray
        queue = deque(jobs)
        running: dict[Any, tuple[Any, Job]] = {}

        def give(actor: Any) -> None:
            if queue:
                job = queue.popleft()
                running[actor.encode.remote(job, self._tally)] = (actor, job)

        for actor in self._actors:
            give(actor)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            on_tick(ray.get(self._tally.read.remote()))
            for reference in ready:
                actor, job = running.pop(reference)
                try:
                    entry = ray.get(reference)
                except ray.exceptions.RayActorError:
                    entry = failed_entry(job, "its Ray worker died while encoding it, and "
                                              "Ray's retries ran out (out of memory? a crash "
                                              "in the decoder?)")
                    actor = self._replace(actor)
                except ray.exceptions.RayError as exc:  # the task's own error, or Ray's
                    entry = failed_entry(job, _reason(exc))
                yield job, entry
                give(actor)

    def _replace(self, actor: Any) -> Any:
        self._ray.kill(actor, no_restart=True)
        fresh = self._new_actor()
        self._actors[self._actors.index(actor)] = fresh
        return fresh

    def close(self) -> None:
        """Stop the workers (a video half encoded leaves no file: writes are atomic)."""
        for actor in [*self._actors, self._tally]:
            self._ray.kill(actor)


def _reason(exc: Exception) -> str:
    """One line for an exception raised in a worker: its own, not Ray's wrapper's (whose
    message, in colour, holds a traceback ending with it when there is no cause)."""
    cause = getattr(exc, "cause", None)
    if cause is not None:
        return describe_error(cause, with_type=True)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()
    raised = [line.strip() for line in lines if _RAISED.match(line.strip())]
    return raised[-1] if raised else describe_error(exc, with_type=True)
