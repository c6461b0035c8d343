"""The measurements behind ``explorer bench``: how the app feels under the mouse, and how
long its users wait.

Each measurement runs in this process, or in a child process that it starts when only a
fresh process can tell (start-up time, peak memory), all on the same machine in the same
run, so that every ratio compares like with like. Shared machines are noisy, so
throughputs are the best of several interleaved rounds (what a stage can do, not the luck
of the moment) and latencies are percentiles of many samples. ``docs/performance.md``
explains each number and its target.

Only the standard library, numpy and the model guard (which needs nothing more) are
imported here at module level: ``python -m explorer.bench window`` is the start-up
measurement's child, and the app's own imports are what it times. Every model call goes
through the guard, so a model that misbehaves stops the bench with one line.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from explorer.errors import ExplorerError
from explorer.model import guard

Value = float | int | bool | str
Metrics = dict[str, Value]


@dataclass(frozen=True)
class Target:
    """A bound that ``metric`` must meet: ``value <= bound``, ``>= bound`` or ``== bound``."""

    metric: str
    relation: Literal["<=", ">=", "=="]
    bound: float | bool
    unit: str = ""

    def passes(self, value: Value) -> bool:
        if self.relation == "<=":
            return value <= self.bound
        if self.relation == ">=":
            return value >= self.bound
        return value == self.bound

    @property
    def text(self) -> str:
        if isinstance(self.bound, bool):
            return str(self.bound).lower()
        symbol = {"<=": "≤", ">=": "≥"}[self.relation]
        return f"{symbol} {self.bound:g}{self.unit}"


TARGETS = (
    Target("preview_overhead_ms_p95", "<=", 5.0, " ms"),
    Target("preview_queue_max", "<=", 1),
    Target("preview_last_is_latest", "==", True),
    Target("inverse_ms_p95", "<=", 1.0, " ms"),
    Target("inverse_speedup", ">=", 500),
    Target("encode_efficiency", ">=", 0.85),
    Target("export_efficiency", ">=", 0.85),
    Target("encode_peak_rss_growth", "<=", 1.1),
    Target("window_shown_s", "<=", 1.0, " s"),
    Target("demo_ready_s", "<=", 5.0, " s"),
    Target("ui_stall_ms_max", "<=", 50.0, " ms"),
)
"""Every target of issue 8, in the order of the table."""


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does: the full bench, or ``--quick``."""

    unique_frames: int = 240
    """Distinct frames of the synthetic clip; it loops them to ``clip_frames``."""
    clip_frames: int = 1920
    """Long enough that filling and draining a pipeline is a small part of its time."""
    rounds: int = 5
    """Timed rounds of each throughput, after one warm-up round."""
    export_frames: int = 480
    drag_seconds: float = 5.0
    startup_runs: int = 3
    """Measured app start-ups, after one that warms the caches."""
    inverse_points: int = 10_000
    umap_inverse_points: int = 10_000
    """Points of the UMAP whose own inverse is timed; the fast inverse is timed on it too
    when it has ``inverse_points``, on a PCA layout of ``inverse_points`` otherwise."""
    stall_points: int = 10_000


FULL = Sizes()
QUICK = Sizes(
    unique_frames=96,
    clip_frames=480,
    rounds=2,
    export_frames=96,
    drag_seconds=2.0,
    startup_runs=1,
    umap_inverse_points=500,
    stall_points=1_000,
)

SYNTHETIC_SIZE = 256
"""Side of the synthetic clip and of the exported clip, in pixels."""
DRAG_INTERVAL_MS = 16
"""A drag event every 16 ms: a little faster than 60 Hz."""
STALL_TICK_MS = 5
_SETTLE_MS = 250
_FRAME_BUDGET = 256 << 20
"""At most this many bytes of pre-decoded frames for the model-only throughput."""
_MARKER = "explorer-bench"
_TIMEOUT_S = 300
"""Longest wait for a child process or the worker, so that a hang fails the bench."""


@dataclass(frozen=True)
class BenchSettings:
    model: str
    """A model spec, as ``explorer --model`` takes it (a file, a folder, ``module:factory``);
    the bench uses the device the app would (CUDA, then MPS, then CPU)."""
    video: Path | None = None
    """The video to encode and to open in the app; None: a synthetic clip to encode, and
    the bundled demo clip to open."""
    quick: bool = False
    trust_code: bool = False
    """Allow models that run code (TorchScript, plugins), as ``--trust-code`` does."""


@dataclass
class BenchResult:
    metrics: Metrics
    notes: list[str] = field(default_factory=list)
    """How this run differs from the definitions (e.g. ``--quick`` sizes)."""

    def verdicts(self) -> dict[str, bool]:
        """Whether each target's metric passed."""
        return {t.metric: t.passes(self.metrics[t.metric]) for t in TARGETS}


def run_bench(settings: BenchSettings, log: Callable[[str], None] = lambda _: None) -> BenchResult:
    """Run every measurement once, in order, and collect their metrics.

    The UMAP fitted in this process for the inverse comes last: the app itself never
    imports umap-learn, whose import leaves much for the garbage collector to walk.
    ``log`` hears what is being measured (the whole bench takes minutes).
    """
    sizes = QUICK if settings.quick else FULL
    app_video = settings.video or _demo_video()
    result = BenchResult({"quick": settings.quick})
    model = ModelSpec(settings.model, settings.trust_code)
    vae = model.open()  # first: a model that fails does so at once, not minutes in
    check_model(vae)
    log("opened the model")
    with tempfile.TemporaryDirectory(prefix="explorer-bench-") as folder:
        work = Path(folder)
        log("preparing the clip")
        clip = settings.video or write_synthetic_clip(work / "synthetic.mp4", sizes)
        count = _count_frames(clip, sizes.clip_frames)
        result.metrics["device"] = vae.device
        steps: list[tuple[str, Callable[[], Metrics]]] = [
            ("preview latency", lambda: measure_preview(app_video, model, vae, sizes)),
            ("start-up", lambda: measure_startup(app_video, model, sizes)),
            ("encode throughput", lambda: measure_encode(clip, count, vae, sizes)),
            ("encode memory", lambda: measure_encode_memory(clip, count, model)),
            ("export throughput", lambda: measure_export(vae, work, sizes)),
            ("UI stalls during a UMAP fit", lambda: measure_ui_stall(sizes)),
            ("inverse", lambda: measure_inverse(sizes)),
        ]
        for name, step in steps:
            log(f"measuring {name}")
            gc.collect()  # no measurement pays for the garbage of the one before
            result.metrics.update(step())
    result.notes = _notes(sizes, vae)
    return result


def _notes(sizes: Sizes, vae: Any) -> list[str]:
    from explorer.model.contract import is_temporal

    notes = []
    if is_temporal(vae):
        notes.append(
            f"a video autoencoder ({vae.temporal_stride} frames a latent step): decode_ms "
            "decodes a step after one step of context, and every rate counts frames"
        )
    if sizes.umap_inverse_points != sizes.inverse_points:
        notes.append(
            f"inverse_ms_p95 on a PCA layout of {sizes.inverse_points:,} points; "
            f"umap_inverse_ms on a UMAP of {sizes.umap_inverse_points:,} (--quick)"
        )
    if sizes.stall_points != FULL.stall_points:
        notes.append(f"ui_stall_ms_max while UMAP fits {sizes.stall_points:,} points (--quick)")
    return notes


# --- inputs -------------------------------------------------------------------------------


def write_synthetic_clip(path: Path, sizes: Sizes) -> Path:
    """The demo loop at 256 px, played round until ``clip_frames`` (H.264)."""
    from explorer.demo import demo_frames
    from explorer.video.writer import ClipWriter

    frames = list(demo_frames(sizes.unique_frames, SYNTHETIC_SIZE))
    with ClipWriter(path, fps=24.0, quality=18, overwrite=True) as writer:
        for index in range(sizes.clip_frames):
            writer.write(frames[index % len(frames)])
    return path


def trajectory_like(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    """``count`` float32 latents [count, dim] along a smooth random closed curve, plus noise.

    Like a video's trajectory: consecutive points are close, and the curve comes back near
    where it has been.
    """
    rng = np.random.default_rng(seed)
    phase = np.linspace(0.0, 2 * np.pi, count, endpoint=False)[:, None]
    frequencies = rng.integers(1, 5, dim)
    offsets = rng.uniform(0.0, 2 * np.pi, dim)
    curve = np.sin(phase * frequencies + offsets)
    return (curve + 0.05 * rng.standard_normal((count, dim))).astype(np.float32)


def check_model(vae: Any) -> None:
    """Encode two frames and decode their latents through the model guard (a temporal
    model: as a clip, into latent steps): a model that raises or returns something unusable
    stops the bench with the guard's one line."""
    from explorer.demo import demo_frames
    from explorer.model.contract import is_temporal

    frames = np.stack(list(demo_frames(2, SYNTHETIC_SIZE)))
    if is_temporal(vae):
        mu, _ = guard.encode_clip(vae, frames)
        guard.decode_steps(vae, mu)
    else:
        mu, _ = guard.encode(vae, frames)
        guard.decode(vae, mu)


def _demo_video() -> Path:
    from explorer.paths import demo_video_path

    return demo_video_path()


@dataclass(frozen=True)
class ModelSpec:
    """The model as the user named it, and whether its code may run: enough to open it here
    or in a child process."""

    spec: str
    trust_code: bool = False

    def open(self) -> Any:
        from explorer.model.open import open_model

        return open_model(self.spec, device="auto", trust_code=self.trust_code)

    @property
    def arguments(self) -> list[str]:
        """The model's options on the ``explorer`` command line."""
        return ["--model", self.spec, *(["--trust-code"] if self.trust_code else [])]


# --- throughput -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A stage's best round: items a second, and the CPU time it took an item."""

    per_s: float
    cpu_s: float
    """CPU seconds an item, all of the process's threads together."""


def best_rates(stages: dict[str, Callable[[], Any]], count: int, rounds: int) -> dict[str, Rate]:
    """Best rate of each stage (``count`` items a call) over ``rounds`` interleaved rounds.

    One untimed round first warms every stage up. Interleaving gives each stage the same
    share of a noisy machine's quiet moments, and the best round is what the stage can do.
    """
    best = dict.fromkeys(stages, Rate(0.0, 0.0))
    for round_number in range(rounds + 1):
        for name, stage in stages.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            stage()
            rate = count / (time.perf_counter() - started)
            if round_number and rate > best[name].per_s:
                best[name] = Rate(rate, (time.process_time() - cpu_started) / count)
    return best


def overlap_limit(stages: list[Rate], cores: int) -> float:
    """The best efficiency any overlap of ``stages`` could reach on ``cores`` cores.

    A pipeline runs no faster than its slowest stage alone, nor faster than the cores can
    do every stage's CPU work: where each stage alone keeps the cores busy, overlapping
    them saves nothing, and the ratio to the slowest stage falls towards one half. (A
    stage that waits for a GPU counts its waiting as CPU time, so there it reads low.)
    """
    slowest = min(stage.per_s for stage in stages)
    cpu_bound = cores / sum(stage.cpu_s for stage in stages)
    return min(1.0, cpu_bound / slowest)


def _at_both_thread_counts(name: str, run: Callable[[], None]) -> dict[str, Callable[[], None]]:
    """``run`` as two stages: with torch's usual threads, and with a core left (as the
    pipelines run it, beside the stage they overlap it with)."""
    from explorer.pipeline.prefetch import leave_cores

    def core_left() -> None:
        with leave_cores():
            run()

    return {name: run, f"{name}_core_left": core_left}


def _faster_thread_count(rates: dict[str, Rate], name: str) -> Rate:
    """The better of the two stages :func:`_at_both_thread_counts` made of ``name``."""
    return max(rates[name], rates[f"{name}_core_left"], key=lambda rate: rate.per_s)


def measure_encode(
    video: Path, count: int, vae: Any, sizes: Sizes, batch_size: int = 32
) -> Metrics:
    """Encoding against its two stages alone: reading the frames, and the model on them.

    All three work through the video's first ``count`` frames. Reading includes fitting
    the frames to the model's input, which the reader does as it decodes them, in the
    encode as here. The model alone gets frames read beforehand (going round the first
    ones again when they would not all fit in memory), in the pieces the encode hands it
    (:func:`model_inputs`). It is timed with torch's usual threads and with the core the
    encode leaves to the reader, and counts at its better speed.
    """
    from explorer.model.contract import is_temporal
    from explorer.pipeline.encode import Selection, encode_video
    from explorer.pipeline.prefetch import available_cores

    def read(limit: int) -> list[np.ndarray]:
        return _read_frames(video, limit, vae.frame_size, vae.fit_mode)

    pieces = model_inputs(vae, count, batch_size)
    longest = max(stop - start for start, stop in pieces)
    height, width = vae.frame_size
    frames = np.stack(read(max(longest, _FRAME_BUDGET // (3 * height * width))))
    inputs = [_wrapped(frames, start, stop - start) for start, stop in pieces]
    encode = guard.encode_clip if is_temporal(vae) else guard.encode

    def model_alone() -> None:
        for piece in inputs:
            encode(vae, piece)

    stages = {
        "reader": lambda: read(count),
        **_at_both_thread_counts("model", model_alone),
        "encode": lambda: encode_video(video, vae, Selection(max_frames=count), batch_size),
    }
    rates = best_rates(stages, count, sizes.rounds)
    model = _faster_thread_count(rates, "model")
    return {
        "encode_efficiency": rates["encode"].per_s / min(rates["reader"].per_s, model.per_s),
        "encode_overlap_limit": overlap_limit([rates["reader"], model], available_cores()),
        "reader_fps": rates["reader"].per_s,
        "model_fps": model.per_s,
        "encode_fps": rates["encode"].per_s,
        "encode_frames": count,
    }


def model_inputs(vae: Any, count: int, batch_size: int) -> list[tuple[int, int]]:
    """The frames ``(start, stop)`` that :func:`~explorer.pipeline.encode.encode_video`
    hands the model at each call for a video's first ``count`` frames: batches of
    ``batch_size``, or a temporal model's windows, each after the first with its context."""
    from explorer.model.contract import is_temporal
    from explorer.pipeline.encode import Windowing

    if is_temporal(vae):
        windowing = Windowing.for_model(vae)
        windows = vae.rule.windows(count, windowing.steps, windowing.context)
        return [(window.start, window.stop) for window in windows]
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def _wrapped(frames: np.ndarray, start: int, length: int) -> np.ndarray:
    """``length`` consecutive frames standing for frames ``start:start + length`` of a
    video of which only the first ``len(frames)`` were read: a view, going round them."""
    offset = start % (len(frames) - length + 1)
    return frames[offset : offset + length]


def _read_frames(
    video: Path, limit: int, size: tuple[int, int], fit_mode: str
) -> list[np.ndarray]:
    """The video's first ``limit`` frames, fitted to ``size`` as the encode reads them."""
    from explorer.video.reader import open_video

    with open_video(video) as reader:
        stream = reader.frames(max_frames=limit, size=size, fit_mode=fit_mode)
        return [frame for _, frame in stream]


def _count_frames(video: Path, limit: int) -> int:
    """How many frames the video has, up to ``limit`` (reading them all)."""
    from explorer.video.reader import open_video

    with open_video(video) as reader:
        return sum(1 for _ in reader.frames(max_frames=limit))


def measure_export(vae: Any, folder: Path, sizes: Sizes) -> Metrics:
    """Exporting a 256×256 H.264 clip against decoding alone and writing alone.

    The clip is ``export_frames`` latents of a per-frame model, or the latent steps that
    decode to about as many frames for a temporal one; every rate counts the frames
    decoded and written. Decoding alone decodes the path in the export's own batches
    (:func:`~explorer.pipeline.decode.decode_path`). The writer alone gets finished
    256×256 frames, scaled up from the decoded ones beforehand; inside the export the
    writer scales them as it converts their colours. Decoding alone counts at its better
    thread count, as in :func:`measure_encode`.
    """
    from explorer.model.contract import is_temporal
    from explorer.pipeline.decode import decode_path, latents_per_batch
    from explorer.pipeline.export import ExportSettings, clip_size, export_clip
    from explorer.pipeline.prefetch import available_cores
    from explorer.video.writer import ClipWriter, resize_frame

    settings = ExportSettings(size=SYNTHETIC_SIZE, overwrite=True)
    steps = vae.steps_for(sizes.export_frames) if is_temporal(vae) else sizes.export_frames
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((steps, *vae.latent_shape)).astype(np.float32)
    batch = latents_per_batch(vae, settings.batch_size)
    decoded = np.concatenate([frames for _, frames in decode_path(vae, latents, batch)])
    size = clip_size(vae.frame_size, settings)
    finished = [resize_frame(image, size, settings.resize_filter) for image in decoded]

    def decode_alone() -> None:
        for _ in decode_path(vae, latents, batch):
            pass

    def write_alone() -> None:
        target = folder / "writer.mp4"
        with ClipWriter(target, settings.fps, quality=settings.quality, overwrite=True) as out:
            for frame in finished:
                out.write(frame)

    stages = {
        **_at_both_thread_counts("decode", decode_alone),
        "writer": write_alone,
        "export": lambda: export_clip(latents, vae, folder / "export.mp4", settings),
    }
    rates = best_rates(stages, len(decoded), sizes.rounds)
    decode = _faster_thread_count(rates, "decode")
    return {
        "export_efficiency": rates["export"].per_s / min(decode.per_s, rates["writer"].per_s),
        "export_overlap_limit": overlap_limit([decode, rates["writer"]], available_cores()),
        "decode_fps": decode.per_s,
        "writer_fps": rates["writer"].per_s,
        "export_fps": rates["export"].per_s,
        "export_frames": len(decoded),
    }


# --- memory ---------------------------------------------------------------------------------


def measure_encode_memory(video: Path, count: int, model: ModelSpec) -> Metrics:
    """Peak memory encoding the first ``count`` frames of a video against a quarter of them,
    each in a new process.

    Both include the interpreter, torch and the model; a pipeline that kept frames would
    grow with the video, one that streams stays flat.
    """
    short = _child_json("encode-peak", str(video), str(count // 4), *model.arguments)
    long = _child_json("encode-peak", str(video), str(count), *model.arguments)
    return {
        "encode_peak_rss_growth": long["peak_rss_mb"] / short["peak_rss_mb"],
        "encode_rss_short_mb": short["peak_rss_mb"],
        "encode_rss_long_mb": long["peak_rss_mb"],
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    On Linux this is ``VmHWM``: ``ru_maxrss`` there survives ``exec``, so in a child it
    can be the peak of the parent that started it.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    try:
        import resource
    except ImportError:  # Windows
        return _windows_peak_rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)  # bytes on macOS


def _windows_peak_rss_mb() -> float:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [
            ("cb", wintypes.DWORD),
            ("PageFaultCount", wintypes.DWORD),
            ("PeakWorkingSetSize", ctypes.c_size_t),
            ("WorkingSetSize", ctypes.c_size_t),
        ]

    counters = Counters(cb=ctypes.sizeof(Counters))
    process = ctypes.windll.kernel32.GetCurrentProcess()
    ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb)
    return counters.PeakWorkingSetSize / (1 << 20)


# --- start-up -------------------------------------------------------------------------------


def measure_startup(video: Path, model: ModelSpec, sizes: Sizes) -> Metrics:
    """Seconds from starting ``explorer VIDEO --model MODEL`` to its first paint and to ready.

    Each start is a new process, offscreen; the first one only warms the caches (the
    trajectory cache and the operating system's file cache), as a second launch finds them.
    """
    _startup_times(video, model)
    runs = [_startup_times(video, model) for _ in range(sizes.startup_runs)]
    return {
        "window_shown_s": float(np.median([run["shown"] for run in runs])),
        "demo_ready_s": float(np.median([run["ready"] for run in runs])),
    }


def _startup_times(video: Path, model: ModelSpec) -> dict[str, float]:
    started = time.time()
    output = _run_child("window", str(video), *model.arguments)
    markers = {}
    for line in output.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == _MARKER:
            name, stamp = rest.split()
            markers[name] = float(stamp) - started
    if set(markers) != {"shown", "ready"}:
        raise ExplorerError(f"the app did not report its start-up: {output[-500:]}")
    return markers


# --- preview ------------------------------------------------------------------------------


def decode_row_ms(vae: Any, trajectory: Any, row: int, calls: int = 200,
                  budget_s: float = 2.0) -> float:
    """Median milliseconds of the model decoding trajectory ``row`` as a preview does
    (:func:`~explorer.pipeline.decode.decode_row`: one latent, or a temporal model's step
    after one step of context): the floor of any preview. ``calls`` decodes after an
    untimed one, or as many as ``budget_s`` seconds allow (at least three): a video
    autoencoder's can take seconds each."""
    from explorer.pipeline.decode import decode_row

    decode_row(vae, trajectory, row)  # the first call of a shape sets up torch's kernels
    times: list[float] = []
    ends = time.perf_counter() + budget_s
    while len(times) < calls and (len(times) < 3 or time.perf_counter() < ends):
        started = time.perf_counter()
        decode_row(vae, trajectory, row)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3)


def measure_preview(video: Path, model: ModelSpec, vae: Any, sizes: Sizes) -> Metrics:
    """Latency of drag previews through the app's inference worker, at 60 drag events/s.

    The worker opens ``video`` with ``model`` as the app does, but is handed ``vae`` rather
    than loading it again; then a timer moves a probe across the PCA map every
    :data:`DRAG_INTERVAL_MS` and asks for the image under it. A temporal model decodes the
    probe as the trajectory's middle step would be, after the step before it, as the window
    decodes it at the current step. The time from each request to its image arriving on
    the GUI thread, less the model's own decode time for that (:func:`decode_row_ms`, on
    the worker's thread: torch's thread settings are per thread, and on a busy machine two
    of its threads can take many times as long as one), is the overhead of the worker's
    plumbing.
    """
    from explorer.model.video_vae.rule import CONTEXT_STEPS
    from explorer.ui.worker import WorkerThread

    _qt_app()
    thread = WorkerThread(model_loader=lambda _spec, _device: vae)
    try:
        trajectory, projection = _open_in_worker(thread.worker, video, Path(model.spec))
        row = len(trajectory) // 2
        context = (trajectory.latents(slice(max(0, row - CONTEXT_STEPS), row))
                   if trajectory.is_temporal else None)
        decode_ms = _in_thread_of(thread.worker, lambda: decode_row_ms(vae, trajectory, row))
        drag = _drag(thread.worker, projection.embedding, projection.inverse,
                     sizes.drag_seconds, context)
    finally:
        thread.close()
    latency_p95 = float(np.percentile(drag["latencies_ms"], 95))
    return {
        "preview_overhead_ms_p95": latency_p95 - decode_ms,
        "preview_latency_ms_p95": latency_p95,
        "decode_ms": decode_ms,
        "preview_queue_max": max(drag["waiting"]),
        "preview_last_is_latest": drag["last_shown"] == drag["last_requested"],
        "preview_requests": drag["requests"],
        "preview_decoded": len(drag["latencies_ms"]),
    }


def _qt_app() -> Any:
    """The process's QApplication, offscreen unless the caller chose a platform."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([sys.argv[0]])


def _in_thread_of(owner: Any, work: Callable[[], float]) -> float:
    """``work()``, run on the thread of the idle QObject ``owner`` (the worker's); waits
    for it and raises what it raised."""
    from PySide6.QtCore import QTimer

    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised on the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    QTimer.singleShot(0, owner, run)
    if not done.wait(_TIMEOUT_S):
        raise ExplorerError(f"the worker did not run the measurement in {_TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _open_in_worker(worker: Any, video: Path, model: Path) -> tuple[Any, Any]:
    """Open ``video`` with ``model`` on the worker; its trajectory and PCA projection."""
    from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot

    class Inbox(QObject):
        answer: tuple[Any, Any] | None = None
        problem = "timed out"

        @Slot(object, object)
        def ready(self, trajectory: Any, projection: Any) -> None:
            self.answer = (trajectory, projection)

        @Slot(str)
        def failed(self, message: str) -> None:
            self.problem = message

    loop = QEventLoop()
    inbox = Inbox()
    worker.trajectoryReady.connect(inbox.ready)
    worker.failed.connect(inbox.failed)
    worker.jobFinished.connect(loop.quit)
    QTimer.singleShot(_TIMEOUT_S * 1000, loop.quit)
    worker.open(video, model)
    loop.exec()
    if inbox.answer is None:
        raise ExplorerError(f"the worker could not open {video.name}: {inbox.problem}")
    return inbox.answer


def _drag(worker: Any, embedding: np.ndarray, inverse: Callable, seconds: float,
          context: np.ndarray | None = None) -> dict:
    """Stream cursor requests along a looping path over ``embedding`` for ``seconds``
    (with a temporal model, each decoded after the ``context`` steps).

    Records each answer's latency, and how many requests were waiting in the worker's
    slot right after each new one (the most that can ever wait: the worker may already
    have taken it).
    """
    from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot

    path = _drag_path(embedding, round(seconds * 1000 / DRAG_INTERVAL_MS))
    requested: dict[int, float] = {}
    record: dict[str, Any] = {"latencies_ms": [], "waiting": [], "last_shown": None}

    class Probe(QObject):
        @Slot()
        def move(self) -> None:
            if len(requested) == len(path):
                timer.stop()
                return
            latent = inverse(path[len(requested)][None])[0]
            stamp_time = time.perf_counter()
            stamp = worker.request_cursor(latent, context=context)
            requested[stamp] = stamp_time
            record["waiting"].append(int(worker.cursor_requests.pending))

        @Slot(object)
        def arrived(self, preview: Any) -> None:
            record["latencies_ms"].append((time.perf_counter() - requested[preview.stamp]) * 1e3)
            record["last_shown"] = preview.stamp
            if len(requested) == len(path) and preview.stamp == max(requested):
                loop.quit()

    loop = QEventLoop()
    probe = Probe()
    worker.cursorReady.connect(probe.arrived)
    timer = QTimer(interval=DRAG_INTERVAL_MS, timerType=Qt.TimerType.PreciseTimer)
    timer.timeout.connect(probe.move)
    timer.start()
    QTimer.singleShot(round(seconds * 1000) + 10_000, loop.quit)  # never wait for ever
    loop.exec()
    timer.stop()
    worker.cursorReady.disconnect(probe.arrived)
    return {**record, "requests": len(requested), "last_requested": max(requested)}


def _drag_path(embedding: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` points [steps, 2] of a Lissajous loop over the embedding's extent."""
    low, high = embedding.min(axis=0), embedding.max(axis=0)
    centre, half = (low + high) / 2, (high - low) / 2
    phase = np.linspace(0.0, 2 * np.pi, steps, endpoint=False)
    wave = np.column_stack([np.sin(phase), np.sin(1.7 * phase)])
    return (centre + 0.9 * half * wave).astype(np.float64)


# --- inverse --------------------------------------------------------------------------------


def measure_inverse(sizes: Sizes, queries: int = 2000) -> Metrics:
    """The fast inverse (one drag event) against umap-learn's ``inverse_transform``.

    The fast inverse maps single points, inside and around the layout, to latents; umap's
    is timed on one point inside the layout, after an untimed call compiles its kernels.
    """
    from explorer.latent.projection import PCAProjection, UMAPProjection

    latents = trajectory_like(sizes.inverse_points)
    umap = UMAPProjection.fit(latents[:: sizes.inverse_points // sizes.umap_inverse_points])
    fast = umap if len(umap.latents) == len(latents) else PCAProjection.fit(latents)
    fast_ms = _inverse_times_ms(fast, queries)
    inside = umap.embedding[:3].mean(axis=0, dtype=np.float64)[None]
    umap.refine_inverse(inside)
    started = time.perf_counter()
    umap.refine_inverse(inside)
    umap_ms = (time.perf_counter() - started) * 1e3
    fast_p95 = float(np.percentile(fast_ms, 95))
    return {
        "inverse_ms_p95": fast_p95,
        "umap_inverse_ms": umap_ms,
        "inverse_speedup": umap_ms / fast_p95,
        "inverse_points": len(fast.latents),
        "umap_inverse_points": len(umap.latents),
    }


def _inverse_times_ms(projection: Any, count: int) -> np.ndarray:
    """Milliseconds of ``count`` one-point inverses over and around the layout."""
    low, high = projection.embedding.min(axis=0), projection.embedding.max(axis=0)
    margin = 0.1 * (high - low)
    points = np.random.default_rng(1).uniform(low - margin, high + margin, (count, 2))
    times = np.empty(count)
    for index, point in enumerate(points):
        started = time.perf_counter()
        projection.inverse(point[None])
        times[index] = time.perf_counter() - started
    return times * 1e3


# --- UI stalls ------------------------------------------------------------------------------


def measure_ui_stall(sizes: Sizes) -> Metrics:
    """The event loop's longest gap while a UMAP layout is fitted the way the app does it.

    A :data:`STALL_TICK_MS` timer runs on the GUI thread from before the fit starts until
    the layout has arrived; the fit is :class:`~explorer.latent.background.BackgroundFit`,
    polled as often as the projection bar polls it.
    """
    from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot

    from explorer.latent.background import BackgroundFit, FitProgress
    from explorer.ui.projection_bar import POLL_MS

    latents = trajectory_like(sizes.stall_points)
    _qt_app()
    state: dict[str, Any] = {"last": time.perf_counter(), "gap": 0.0, "fit": None}

    class Watch(QObject):
        @Slot()
        def tick(self) -> None:
            now = time.perf_counter()
            state["gap"] = max(state["gap"], now - state["last"])
            state["last"] = now

        @Slot()
        def start(self) -> None:
            state["started"] = time.perf_counter()
            state["fit"] = BackgroundFit("umap", latents, seed=0)
            poller.start()

        @Slot()
        def poll(self) -> None:
            news = state["fit"].poll()
            if news is not None and not isinstance(news, FitProgress):
                state["news"], state["seconds"] = news, time.perf_counter() - state["started"]
                poller.stop()
                QTimer.singleShot(_SETTLE_MS, loop.quit)  # a stall now shows at the next tick

    loop = QEventLoop()
    watch = Watch()
    ticker = QTimer(interval=STALL_TICK_MS, timerType=Qt.TimerType.PreciseTimer)
    ticker.timeout.connect(watch.tick)
    poller = QTimer(interval=POLL_MS)
    poller.timeout.connect(watch.poll)
    ticker.start()
    QTimer.singleShot(100, watch.start)  # the ticker is running when the child starts
    QTimer.singleShot(_TIMEOUT_S * 1000, loop.quit)
    loop.exec()
    ticker.stop()
    poller.stop()
    news = state.get("news", TimeoutError(f"no layout after {_TIMEOUT_S} s"))
    if isinstance(news, Exception):
        state["fit"].cancel()
        raise ExplorerError(f"the background UMAP fit failed: {news}")
    return {
        "ui_stall_ms_max": state["gap"] * 1e3,
        "umap_fit_s": state["seconds"],
        "ui_stall_points": sizes.stall_points,
    }


# --- child processes -----------------------------------------------------------------------


def _run_child(*args: str) -> str:
    """Run ``python -m explorer.bench ARGS`` (offscreen); its standard output."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "explorer.bench", *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise ExplorerError(f"bench child {args[0]} did not finish in {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise ExplorerError(f"bench child {args[0]} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def _child_json(*args: str) -> dict[str, Any]:
    return json.loads(_run_child(*args).strip().splitlines()[-1])


def _encode_peak_child(video: str, frames: str, *model: str) -> None:
    """Encode the first ``frames`` frames of ``video`` with the model that ``model`` (its
    command-line options) names; print the peak memory as JSON."""
    from explorer.pipeline.encode import Selection, encode_video

    spec = ModelSpec(model[model.index("--model") + 1], "--trust-code" in model)
    encode_video(video, spec.open(), Selection(max_frames=int(frames)))
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def _window_child(video: str, *model: str) -> None:
    """Start the app as ``explorer VIDEO --model MODEL`` (``model``: the model's options)
    does; mark its first paint and ready.

    An application-wide event filter sees the first paint of the main window (or of any
    widget in it) and then waits for the window's ``ready`` signal; the window is then
    closed, which ends the app.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from explorer.cli import main

    class StartupWatch(QObject):
        shown = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if self.shown or event.type() != QEvent.Type.Paint:
                return False
            window = watched.window() if isinstance(watched, QWidget) else None
            if window is not None and hasattr(window, "ready"):
                self.shown = True
                _mark("shown")

                def ready() -> None:
                    _mark("ready")
                    QTimer.singleShot(0, window.close)

                window.ready.connect(ready)
            return False

    app = QApplication(sys.argv[:1])
    watch = StartupWatch()
    app.installEventFilter(watch)
    main([video, *model])


def _mark(name: str) -> None:
    print(f"{_MARKER} {name} {time.time():.6f}", flush=True)


_CHILDREN = {"encode-peak": _encode_peak_child, "window": _window_child}

if __name__ == "__main__":
    _CHILDREN[sys.argv[1]](*sys.argv[2:])
