"""A quick end-to-end check that an installation (or a frozen bundle) works.

Each step exercises one thing a bundle can get wrong: the model file and torch, video
decoding, encoding and decoding, interpolation, H.264 export read back with PyAV, a short
training run saved and loaded again (autograd and the optimizer), a UMAP layout in a child
process (numba and ``multiprocessing`` spawn, the parts of a frozen app that break most
often) and Qt drawing a widget. Every step prints one line::

    PASS step (details)
    FAIL step: reason
    SKIP step: needs <earlier step>

Heavy libraries are imported inside the steps, so a missing one fails its step with a
reason instead of ending the whole test with a traceback. Tracebacks are printed only
with ``EXPLORER_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from explorer import __version__, paths
from explorer.errors import describe_error
from explorer.model import guard  # numpy only: every model call in the steps goes through it

FRAME_COUNT = 24
"""Frames taken from the demo clip, evenly over its loop (enough for a UMAP layout)."""
INTERPOLATION_STEPS = 12
MIN_PSNR_DB = 20.0
"""The demo model reconstructs its own clip at about 32 dB; below this it is not working."""
TRAIN_FRAMES = 16
UMAP_TIMEOUT_S = 300.0
DEBUG_VARIABLE = "EXPLORER_DEBUG"


class CheckFailed(Exception):
    """A step ran but its result was wrong."""


@dataclass
class _Context:
    """What the steps hand on to later steps."""

    workdir: Path
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Step:
    name: str
    run: Callable[[_Context], str]
    """Does the work; returns details for the PASS line or raises."""
    needs: tuple[str, ...] = ()
    slow: bool = False
    """Takes seconds (training, or numba compiling UMAP's kernels on first use)."""


def run_self_test(stream: TextIO | None = None, *, quick: bool = False) -> bool:
    """Run the steps, report each on ``stream`` (default: stdout); True if all pass.

    ``quick`` leaves out the slow steps (training and UMAP: 10–30 s together).
    """
    stream = stream or sys.stdout
    debug = os.environ.get(DEBUG_VARIABLE) == "1"
    frozen = "frozen bundle" if getattr(sys, "frozen", False) else "source"
    _say(
        stream,
        f"Latent Explorer {__version__} self-test ({frozen}; resources: {paths.resources_dir()})",
    )
    steps = [step for step in _STEPS if not (quick and step.slow)]
    passed: set[str] = set()
    failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="explorer-selftest-") as workdir:
        context = _Context(Path(workdir))
        for step in steps:
            missing = [need for need in step.needs if need not in passed]
            if missing:
                skipped += 1
                _say(stream, f"SKIP {step.name}: needs {', '.join(missing)}")
                continue
            try:
                details = step.run(context)
            except Exception as exc:  # every failure becomes one report line
                failed += 1
                # unexpected errors are named; ours and failed checks speak for themselves
                reason = describe_error(exc, with_type=not isinstance(exc, CheckFailed))
                _say(stream, f"FAIL {step.name}: {reason}")
                if debug:
                    traceback.print_exc(file=stream)
                continue
            passed.add(step.name)
            _say(stream, f"PASS {step.name} ({details})")
    if failed or skipped:
        _say(stream, f"self-test FAILED ({failed} failed, {skipped} skipped of {len(steps)} steps)")
        return False
    _say(stream, f"self-test passed ({len(steps)} steps)")
    return True


def _load_model(context: _Context) -> str:
    from explorer.model.files import load_model

    vae = load_model(paths.demo_model_path(), device="auto")
    context.values["vae"] = vae
    height, width = vae.frame_size
    latents = "×".join(map(str, vae.latent_shape))
    return f"{vae.kind}, {width}×{height} px → {latents} latents, {vae.device}"


def _read_video(context: _Context) -> str:
    from explorer.video.reader import open_video

    with open_video(paths.demo_video_path()) as reader:
        total = reader.count_frames()
        stride = max(1, total // FRAME_COUNT)
        frames = [rgb for _, rgb in reader.frames(stride=stride, max_frames=FRAME_COUNT)]
        info = reader.info
    _check(len(frames) == FRAME_COUNT, f"read {len(frames)} frames, expected {FRAME_COUNT}")
    context.values["frames"] = np.stack(frames)
    return f"{total} frames of {info.width}×{info.height} {info.codec} via {info.backend}"


def _encode(context: _Context) -> str:
    vae, frames = context.values["vae"], context.values["frames"]
    started = time.perf_counter()
    mu, _ = guard.encode(vae, frames)  # checks the latents' type, shape and values
    elapsed = time.perf_counter() - started
    context.values["latents"] = mu
    return f"{len(frames)} frames in {elapsed * 1000:.0f} ms"


def _decode(context: _Context) -> str:
    from explorer.video.fitting import fit_frames

    vae, frames, latents = (context.values[k] for k in ("vae", "frames", "latents"))
    decoded = guard.decode(vae, latents)  # checks the frames' type, shape and dtype
    reference = fit_frames(frames, vae.frame_size, vae.fit_mode).astype(np.float64)
    mse = float(np.mean((decoded.astype(np.float64) - reference) ** 2))
    psnr = 10 * np.log10(255.0**2 / max(mse, 1e-12))
    _check(psnr >= MIN_PSNR_DB, f"reconstruction PSNR {psnr:.1f} dB < {MIN_PSNR_DB:g} dB")
    return f"reconstruction PSNR {psnr:.1f} dB"


def _interpolate(context: _Context) -> str:
    from explorer.latent.interpolate import interpolate

    vae, latents = context.values["vae"], context.values["latents"]
    ends = latents[[0, len(latents) // 2]]
    path = interpolate(ends, INTERPOLATION_STEPS, method="slerp")
    _check(path.shape == (INTERPOLATION_STEPS, *vae.latent_shape), f"path shape {path.shape}")
    _check(
        bool(np.array_equal(path[0], ends[0]) and np.array_equal(path[-1], ends[1])),
        "the path does not start and end at its keyframes",
    )
    context.values["clip"] = guard.decode(vae, path)
    return f"{INTERPOLATION_STEPS} slerp steps decoded"


def _export(context: _Context) -> str:
    import av

    from explorer.video.writer import ClipWriter

    clip = context.values["clip"]
    target = context.workdir / "self-test.mp4"
    with ClipWriter(target, fps=24.0) as writer:
        for frame in clip:
            writer.write(frame)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        count = sum(1 for _ in container.decode(stream))
    _check(codec == "h264", f"the clip's codec is {codec}, not h264")
    _check(count == len(clip), f"{count} frames decode back, {len(clip)} were written")
    return f"{count} frames of H.264, {target.stat().st_size} bytes"


def _train(context: _Context) -> str:
    from explorer.model.files import load_model, save_model
    from explorer.model.training import TrainSettings, train_beta_vae

    settings = TrainSettings(epochs=1, max_frames=TRAIN_FRAMES, batch_size=TRAIN_FRAMES)
    result = train_beta_vae(paths.demo_video_path(), settings)
    loss = result.history[-1].loss if result.history else float("nan")
    _check(result.epochs_completed == 1, f"{result.epochs_completed} epochs completed, not 1")
    _check(bool(np.isfinite(loss)), f"the training loss is {loss}")
    target = save_model(result.vae, context.workdir / "trained.safetensors", result.record)
    reloaded = load_model(target)
    _check(reloaded.latent_shape == result.vae.latent_shape, "the saved model reloads wrong")
    return f"1 epoch on {TRAIN_FRAMES} frames in {result.record['seconds']:g} s, saved and reloaded"


def _umap(context: _Context) -> str:
    from explorer.latent.background import BackgroundFit, FitProgress

    latents = context.values["latents"]
    started = time.perf_counter()
    fit = BackgroundFit("umap", latents, seed=0)
    while (news := fit.poll()) is None or isinstance(news, FitProgress):
        if time.perf_counter() - started > UMAP_TIMEOUT_S:
            fit.cancel()
            raise CheckFailed(f"no layout after {UMAP_TIMEOUT_S:g} s")
        time.sleep(0.05)
    if isinstance(news, Exception):
        raise news
    _check(news.embedding.shape == (len(latents), 2), f"layout shape {news.embedding.shape}")
    _check(bool(np.isfinite(news.embedding).all()), "the layout is not finite")
    elapsed = time.perf_counter() - started
    return f"{len(latents)} points laid out in a child process in {elapsed:.1f} s"


def _qt(context: _Context) -> str:
    """Draw a small window holding the app icon and a pyqtgraph plot, and grab it.

    This step comes last: a Qt platform plugin that cannot load ends the process from
    inside Qt, and by then every other step has been reported.
    """
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

    from explorer.ui.about_dialog import app_icon

    app = QApplication.instance() or QApplication(_qt_arguments())
    icon = app_icon()
    _check(not icon.isNull(), "the application icon did not load")
    window = QWidget()
    layout = QVBoxLayout(window)
    label = QLabel()
    label.setPixmap(icon.pixmap(48, 48))
    plot = pg.PlotWidget()
    plot.plot(np.sin(np.linspace(0.0, 6.0, 50)))
    layout.addWidget(label)
    layout.addWidget(plot)
    window.resize(240, 200)
    try:
        window.show()
        app.processEvents()
        image = window.grab().toImage()
        shown = (window.width(), window.height())
    finally:
        window.close()
        window.deleteLater()
    grabbed = (image.width(), image.height())
    _check(not image.isNull(), "grabbing the window gave no image")
    _check(grabbed == shown, f"grabbed {grabbed}, but the window is {shown}")
    return f"platform {app.platformName()}, grabbed {grabbed[0]}×{grabbed[1]}"


def _qt_arguments() -> list[str]:
    """Arguments for a new QApplication: offscreen on a Linux machine without a display.

    Without a display, the default xcb plugin would abort the process instead of failing
    the step; an explicit ``QT_QPA_PLATFORM`` is always obeyed.
    """
    arguments = [sys.argv[0] if sys.argv and sys.argv[0] else "explorer"]
    no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and no_display and "QT_QPA_PLATFORM" not in os.environ:
        arguments += ["-platform", "offscreen"]
    return arguments


_STEPS = (
    _Step("model", _load_model),
    _Step("video", _read_video),
    _Step("encode", _encode, ("model", "video")),
    _Step("decode", _decode, ("encode",)),
    _Step("interpolate", _interpolate, ("encode",)),
    _Step("export", _export, ("interpolate",)),
    _Step("train", _train, slow=True),
    _Step("umap", _umap, ("encode",), slow=True),
    _Step("qt", _qt),
)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _say(stream: TextIO, line: str) -> None:
    print(line, file=stream, flush=True)
