"""The model guard on every path that runs a model: encode, export, train, bench, self-test.

A model that raises (``sys.exit()`` included), returns the wrong type, dtype or shape,
returns NaNs or handles one frame at a time gives one line naming the cause, and nothing
is cached or written from its output. Ctrl-C still stops everything.

The faulty models are :class:`Toy`, a numpy video VAE; the command-line tests open them as
plugins (``tests.test_model_guard:make_...``, with ``--trust-code``).
"""

from __future__ import annotations

import argparse
import io
import sys

import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.model import guard
from explorer.model.guard import ModelRuntimeError
from explorer.paths import demo_model_path

BATCH = 4


class Toy:
    """A frame's latent is its mean colour; ``fault`` (``"encode:exit"``, ``"decode:nan"``…)
    makes one method misbehave."""

    batch_size = 8
    fit_mode = "crop"
    frame_size = (8, 8)
    latent_shape = (3,)
    device = "cpu"
    kind = "toy"

    def __init__(self, fault: str = "") -> None:
        self.method, _, self.fault = fault.partition(":")

    def to(self, device: str) -> None:
        pass

    def describe(self) -> dict:
        return {"kind": f"toy ({self.method}:{self.fault})"}

    def encode(self, frames: np.ndarray):
        mu = frames.reshape(len(frames), -1, 3).mean(axis=1).astype(np.float32) / 255
        if self.method != "encode":
            return mu, np.zeros_like(mu)
        if self.fault == "not-a-pair":
            return mu
        return tuple(self._misbehave(len(frames), [mu, np.zeros_like(mu)]))

    def decode(self, latents: np.ndarray):
        colours = (np.clip(latents, 0, 1) * 255).round().astype(np.uint8)
        frames = np.repeat(np.repeat(colours[:, None, None], 8, axis=1), 8, axis=2)
        return self._misbehave(len(latents), [frames])[0] if self.method == "decode" else frames

    def _misbehave(self, count: int, arrays: list[np.ndarray]) -> list:
        if self.fault == "exit":
            sys.exit(3)
        if self.fault == "generator-exit":
            raise GeneratorExit
        if self.fault == "ctrl-c":
            raise KeyboardInterrupt
        if self.fault == "batch-1-raise" and count > 1:
            raise RuntimeError("shape '[1, 192]' is invalid for input of size 768")
        change = {
            "float64": lambda a: a.astype(np.float64),
            "int": lambda a: a.astype(np.int64),
            "float": lambda a: a.astype(np.float32) / 255,
            "nan": lambda a: np.full(a.shape, np.nan, np.float32),
            "list": lambda a: a.tolist(),
            "none": lambda a: None,
            "batch-1": lambda a: a[:1],
        }.get(self.fault, lambda a: a)
        return [change(array) for array in arrays]


def _factory(fault: str):
    def make() -> Toy:
        return Toy(fault)

    return make


# plugins for the command-line tests: tests.test_model_guard:make_...
make_encode_exit = _factory("encode:exit")
make_encode_float64 = _factory("encode:float64")
make_decode_exit = _factory("decode:exit")
make_decode_nan = _factory("decode:nan")

ENCODE_FAULTS = {
    "exit": "the model tried to exit the program while encoding (SystemExit: 3)",
    "generator-exit": "the model failed while encoding: GeneratorExit",
    "float64": "the model encoded float64 latent means; expected float32",
    "int": "the model encoded int64 latent means; expected float32",
    "list": "the model returned a list as latent means; expected a numpy array",
    "not-a-pair": "the model's encode returned a ndarray; expected a pair of numpy arrays",
    "batch-1": f"the model returned latent means for a batch of 1, not {BATCH}: it seems to "
    "handle only one at a time",
    "batch-1-raise": f"the model failed on a batch of {BATCH} but works on one at a time",
}
DECODE_FAULTS = {
    "exit": "the model tried to exit the program while decoding (SystemExit: 3)",
    "generator-exit": "the model failed while decoding: GeneratorExit",
    "int": "the model decoded int64 frames; expected uint8 (0–255) RGB frames",
    "none": "the model returned None as decoded frames; expected a numpy array",
    "batch-1": f"the model returned decoded frames for a batch of 1, not {BATCH}: it seems "
    "to handle only one at a time",
    "batch-1-raise": f"the model failed on a batch of {BATCH} but works on one at a time",
}


def frames(count: int = BATCH) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, 8, 8, 3), np.uint8)


def latents(count: int = BATCH) -> np.ndarray:
    return np.random.default_rng(0).random((count, 3), np.float32)


def assert_one_line(error: pytest.ExceptionInfo, expected: str) -> None:
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("fault", sorted(ENCODE_FAULTS))
def test_guard_names_each_encode_fault(fault):
    with pytest.raises(ModelRuntimeError) as error:
        guard.encode(Toy(f"encode:{fault}"), frames())
    assert_one_line(error, ENCODE_FAULTS[fault])


@pytest.mark.parametrize("fault", sorted(DECODE_FAULTS))
def test_guard_names_each_decode_fault(fault):
    with pytest.raises(ModelRuntimeError) as error:
        guard.decode(Toy(f"decode:{fault}"), latents())
    assert_one_line(error, DECODE_FAULTS[fault])


@pytest.mark.parametrize("method", ["encode", "decode"])
def test_sys_exit_is_the_models_failure_but_ctrl_c_still_stops(method):
    call = {"encode": lambda vae: guard.encode(vae, frames()),
            "decode": lambda vae: guard.decode(vae, latents())}[method]
    with pytest.raises(ModelRuntimeError, match="tried to exit the program"):
        call(Toy(f"{method}:exit"))
    with pytest.raises(KeyboardInterrupt):
        call(Toy(f"{method}:ctrl-c"))


# --- encode ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["exit", "float64", "batch-1"])
def test_a_failing_encode_caches_nothing(fault, demo_clip, tmp_path):
    from explorer.pipeline.cache import TrajectoryCache
    from explorer.pipeline.encode import Selection, encode_with_cache

    cache = TrajectoryCache(tmp_path / "cache")
    # the demo model's file stands in for the model's identity, so the encode may be cached
    encode = lambda vae: encode_with_cache(  # noqa: E731
        demo_clip, demo_model_path(), vae, Selection(max_frames=12), cache, batch_size=BATCH
    )
    with pytest.raises(ModelRuntimeError) as error:
        encode(Toy(f"encode:{fault}"))
    assert_one_line(error, ENCODE_FAULTS[fault])
    assert not cache.folder.exists() or not any(cache.folder.iterdir())
    encode(Toy())  # a model that works is cached there
    assert len(list(cache.folder.iterdir())) == 1


def assert_one_line_error(result, fragment: str, progress: str = "\0") -> None:
    """Exit 1 and one line on stderr, besides lines starting with ``progress``."""
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith(progress)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("explorer: error: ") and fragment in lines[0]


@pytest.mark.parametrize("fault", ["exit", "float64"])
def test_encode_command_with_a_faulty_plugin(fault, run_cli, demo_clip, tmp_path):
    output = tmp_path / "trajectory.npz"
    result = run_cli("encode", demo_clip, "--model", f"tests.test_model_guard:make_encode_{fault}",
                     "--trust-code", "--max-frames", "8", "-o", output)
    assert_one_line_error(result, ENCODE_FAULTS[fault])
    assert list(tmp_path.iterdir()) == []


# --- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["exit", "generator-exit", "batch-1-raise"])
def test_a_failing_export_writes_nothing(fault, tmp_path):
    from explorer.pipeline.export import ExportSettings, export_clip

    with pytest.raises(ModelRuntimeError) as error:
        export_clip(latents(12), Toy(f"decode:{fault}"), tmp_path / "clip.mp4",
                    ExportSettings(batch_size=BATCH))
    assert_one_line(error, DECODE_FAULTS[fault])
    assert list(tmp_path.iterdir()) == [], "no clip and no temporary file"


def test_export_command_with_a_plugin_that_exits(run_cli, tmp_path):
    source = tmp_path / "latents.npy"
    np.save(source, latents(12))
    output = tmp_path / "out" / "clip.mp4"
    output.parent.mkdir()
    result = run_cli("export", "--model", "tests.test_model_guard:make_decode_exit",
                     "--trust-code", "--latents", source, "-o", output)
    assert_one_line_error(result, DECODE_FAULTS["exit"])
    assert list(output.parent.iterdir()) == []


# --- train -----------------------------------------------------------------------------------


def test_training_whose_weights_blow_up_returns_no_model(demo_clip):
    """The one step's loss is finite; the weights after it are not."""
    from explorer.model.training import TrainSettings, train_beta_vae

    settings = TrainSettings(epochs=1, max_frames=16, batch_size=16, latent_dim=4,
                             learning_rate=1e20, device="cpu")
    with pytest.raises(ExplorerError) as error:
        train_beta_vae(demo_clip, settings)
    assert_one_line(error, "training diverged at epoch 1: the weights or reconstructions are "
                    "NaN or infinite (learning rate 1e+20, β 1)")


def test_train_command_stops_on_a_nan_loss_and_saves_nothing(demo_clip, tmp_path, monkeypatch,
                                                            capsys):
    import explorer.model.training as training
    from explorer.cli import main

    real_loss = training.beta_vae_loss

    def nan_loss(*args, **kwargs):
        terms = real_loss(*args, **kwargs)
        return type(terms)(terms.total * float("nan"), terms.reconstruction, terms.kl)

    monkeypatch.setattr(training, "beta_vae_loss", nan_loss)
    output = tmp_path / "model.safetensors"
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(demo_clip), "-o", str(output), "--epochs", "2", "--max-frames", "16",
              "--batch-size", "8", "--latent-dim", "4", "--device", "cpu"])
    assert exit_.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "explorer:" in line]
    assert errors == [
        "explorer: error: training diverged at epoch 1, step 1: the loss is nan (learning rate "
        "0.0005, β 1); try a smaller --learning-rate (default 0.0005) or --beta"
    ]
    assert list(tmp_path.iterdir()) == []


# --- bench -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, trust", [(str(demo_model_path()), False), ("my_models.vae:build", True)]
)
def test_bench_command_takes_any_model_spec(spec, trust, monkeypatch, capsys):
    """``explorer bench --model X`` used to fail on every X (a str has no ``exists``)."""
    import explorer.commands.bench as command
    from explorer.bench import BenchResult

    seen = []
    monkeypatch.setattr(command, "run_bench",
                        lambda settings, log: seen.append(settings) or BenchResult({"quick": True}))
    args = argparse.Namespace(model=spec, video=None, quick=True, json=True, trust_code=trust)
    assert command.bench_command(args) == 0
    assert (seen[0].model, seen[0].trust_code) == (spec, trust)


def test_bench_stops_at_once_on_a_faulty_plugin(run_cli):
    result = run_cli("bench", "--quick", "--model", "tests.test_model_guard:make_decode_nan",
                     "--trust-code", timeout=60)
    assert_one_line_error(result, "the model's decoder returned NaN or infinite values",
                          progress="bench: ")
    assert "measuring" not in result.stderr, "it failed before measuring anything"


@pytest.mark.parametrize("measurement", ["check", "encode", "export", "preview decode"])
def test_bench_measurements_refuse_bad_output(measurement, demo_clip, tmp_path):
    from explorer import bench

    run = {
        "check": lambda: bench.check_model(Toy("decode:nan")),
        "encode": lambda: bench.measure_encode(demo_clip, 8, Toy("encode:float64"), bench.QUICK),
        "export": lambda: bench.measure_export(Toy("decode:nan"), tmp_path, bench.QUICK),
        "preview decode": lambda: bench.decode_row_ms(
            Toy("decode:nan"),
            Trajectory(latents(), latents(), np.arange(BATCH), np.arange(BATCH) / 24.0), 0),
    }[measurement]
    with pytest.raises(ModelRuntimeError):
        run()


# --- self-test -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault, line",
    [
        ("encode:exit", f"FAIL encode: {ENCODE_FAULTS['exit']}"),
        ("encode:batch-1-raise", "FAIL encode: the model failed on a batch of 24 but works on one"),
        ("decode:float", "FAIL decode: the model decoded float32 frames; expected uint8"),
    ],
)
def test_self_test_reports_a_faulty_model_in_one_line(fault, line, monkeypatch):
    from explorer.selftest import run_self_test

    monkeypatch.setattr("explorer.model.files.load_model", lambda *args, **kwargs: Toy(fault))
    report = io.StringIO()
    assert run_self_test(report, quick=True) is False
    lines = report.getvalue().splitlines()
    assert any(text.startswith(line) for text in lines), report.getvalue()
    assert "Traceback" not in report.getvalue()
    assert lines[-1].startswith("self-test FAILED"), "every step ran and was reported"

