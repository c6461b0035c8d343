"""Ctrl-C and SIGTERM during train, encode and export: exit 130 / 143 with one line, no
traceback, no temporary file or training scratch folder left, an existing output kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from explorer import interrupts
from explorer.pipeline.export import ExportSettings, export_clip
from explorer.video import writer as writer_module
from explorer.video.writer import ClipWriter
from tests.conftest import PROJECT_ROOT
from tests.factories import make_vae, random_frames

DEMO_MODEL = PROJECT_ROOT / "resources" / "demo" / "demo_vae.safetensors"
DEMO_VIDEO = PROJECT_ROOT / "resources" / "demo" / "demo.mp4"
OLD = b"an existing file that must survive"


class _Child:
    """``python -m explorer ARGS`` with TMPDIR in ``scratch``; its stderr is collected."""

    def __init__(self, args: list[str], scratch: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "explorer", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "TMPDIR": str(scratch)},
        )
        self._stderr: list[str] = []
        self._reader = threading.Thread(
            target=lambda: self._stderr.extend(iter(lambda: self.process.stderr.read(1), ""))
        )
        self._reader.start()

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in "".join(self._stderr):
            assert self.process.poll() is None, f"ended before {text!r}: {self.stderr}"
            assert time.monotonic() < deadline, f"no {text!r} in {self.stderr}"
            time.sleep(0.01)

    def wait_for_handler(self, timeout: float = 60) -> None:
        """Until SIGTERM is caught (by interrupts.install): the earliest it is handled."""
        deadline = time.monotonic() + timeout
        while not _catches_sigterm(self.process.pid):
            assert self.process.poll() is None, self.stderr
            assert time.monotonic() < deadline, "SIGTERM is never handled"
            time.sleep(0.005)

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=10)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)


def _catches_sigterm(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1]


def _assert_clean_stop(code: int, signum: int, child: _Child, folder: Path, scratch: Path):
    assert code == 128 + signum, child.stderr
    assert "Traceback" not in child.stderr and "terminate called" not in child.stderr
    assert _last_line(child.stderr).startswith("explorer: interrupted"), child.stderr
    left = [p.name for p in scratch.iterdir() if not p.name.startswith("torchinductor")]
    assert left == [], "training buffers or temporary files left behind"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    return folder


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc")


def _signal_at(child: _Child, moment: str) -> None:
    """Wait for ``moment``: "start" (as soon as signals are handled) or a stderr text."""
    if moment == "start":
        child.wait_for_handler()
    else:
        child.wait_for(moment)


# Ctrl-C between batches worked before (mostly): the in-process tests below cover it.
@needs_proc
@pytest.mark.parametrize(
    ("signum", "moment"),
    [(signal.SIGINT, "start"), (signal.SIGTERM, "start"), (signal.SIGTERM, "exporting:")],
)
def test_export_stops_cleanly_and_keeps_the_existing_clip(tmp_path, scratch, signum, moment):
    out = tmp_path / "out"
    out.mkdir()
    clip = out / "x.mp4"
    clip.write_bytes(OLD)
    child = _Child(
        ["export", "--model", str(DEMO_MODEL), "--video", str(DEMO_VIDEO), "--keyframes",
         "0,60,120", "--steps", "2000", "--size", "256", "-o", str(clip), "--overwrite",
         "--device", "cpu"],
        scratch,
    )
    _signal_at(child, moment)
    _assert_clean_stop(child.stop(signum), signum, child, out, scratch)
    assert [p.name for p in out.iterdir()] == ["x.mp4"] and clip.read_bytes() == OLD


@needs_proc
@pytest.mark.parametrize(
    ("signum", "moment"), [(signal.SIGINT, "start"), (signal.SIGTERM, "encoding:")]
)
def test_encode_stops_cleanly(tmp_path, scratch, signum, moment):
    out = tmp_path / "out"
    out.mkdir()
    trajectory = out / "t.npz"
    trajectory.write_bytes(OLD)
    child = _Child(
        ["encode", str(DEMO_VIDEO), "--model", str(DEMO_MODEL), "-o", str(trajectory),
         "--overwrite", "--no-cache", "--batch-size", "2", "--device", "cpu"],
        scratch,
    )
    _signal_at(child, moment)
    _assert_clean_stop(child.stop(signum), signum, child, out, scratch)
    assert trajectory.read_bytes() == OLD


@needs_proc
@pytest.mark.parametrize(
    ("signum", "moment"),
    [(signal.SIGINT, "start"), (signal.SIGTERM, "reading frames"), (signal.SIGTERM, "epoch 2/")],
)
def test_train_stops_cleanly_and_removes_its_buffers(tmp_path, scratch, signum, moment):
    out = tmp_path / "out"
    out.mkdir()
    model = out / "m.safetensors"
    child = _Child(
        ["train", str(DEMO_VIDEO), "-o", str(model), "--epochs", "500", "--latent-dim", "4",
         "--batch-size", "8", "--max-frames", "48", "--device", "cpu"],
        scratch,
    )
    _signal_at(child, moment)
    _assert_clean_stop(child.stop(signum), signum, child, out, scratch)
    if moment == "epoch 2/":  # an epoch was complete: it is saved, the rest is not
        assert "saved the model after epoch" in child.stderr
        assert [p.name for p in out.iterdir()] == ["m.safetensors"]
    else:
        assert list(out.iterdir()) == []


@pytest.fixture
def installed():
    """interrupts.install() in this process, undone afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in interrupts.HANDLED}
    interrupts.install()
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_signal_during_the_writers_finish_discards_the_clip(tmp_path, installed, monkeypatch):
    target = tmp_path / "clip.mp4"
    target.write_bytes(OLD)
    finish = writer_module._EncoderSink.close

    def finish_then_signal(sink) -> None:
        finish(sink)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(writer_module._EncoderSink, "close", finish_then_signal)
    with pytest.raises(interrupts.Interrupted) as stopped, ClipWriter(
        target, 24.0, overwrite=True
    ) as writer:
        for frame in random_frames(8, 32, 32):
            writer.write(frame)
    assert stopped.value.exit_code == 143
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"] and target.read_bytes() == OLD


def test_a_signal_mid_export_joins_every_thread_and_removes_the_temporary_file(
    tmp_path, installed
):
    target = tmp_path / "clip.webm"
    target.write_bytes(OLD)

    def progress(update) -> None:
        if update.done == 4:
            os.kill(os.getpid(), signal.SIGINT)
        interrupts.check()

    latents = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    settings = ExportSettings(overwrite=True, batch_size=4)
    with pytest.raises(interrupts.Interrupted):
        export_clip(latents, make_vae(), target, settings, on_progress=progress)
    names = {thread.name for thread in threading.enumerate()}
    assert not names & {"prefetch", "clip-encoder"}
    assert [p.name for p in tmp_path.iterdir()] == ["clip.webm"] and target.read_bytes() == OLD
