"""Large video autoencoders stay usable: the precision they run in, advice when the GPU runs
out of memory, and a note in the Model panel when they decode on the CPU.

There is no GPU here, so the precision rule is tested as the pure function it is (device kind,
config and ``explorer.json`` in, dtype out), and on the CPU the models are checked to run in
float32 whatever ``explorer.json`` says.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QFormLayout

from explorer.errors import ModelFileError
from explorer.model import guard
from explorer.model.open import open_model
from explorer.model.video_vae.families import FAMILIES, Wan
from explorer.model.video_vae.rule import FrameRule
from explorer.ui.model_panel import ModelPanel
from tests.test_video_vaes import COGVIDEOX, SVD, WAN, clip, open_at_32, save

pytest.importorskip("diffusers")

F32, BF16, F16 = torch.float32, torch.bfloat16, torch.float16
UPCAST = {"force_upcast": True}


@pytest.mark.parametrize(
    ("class_name", "config", "expected"),
    [
        ("AutoencoderKLWan", {}, F32),  # its pipelines load the VAE in float32
        ("AutoencoderKLMochi", {}, F32),
        ("AutoencoderKLLTXVideo", {}, BF16),
        ("AutoencoderKLCosmos", {}, BF16),
        ("AutoencoderKLHunyuanVideo", {}, F16),
        ("AutoencoderKLCogVideoX", UPCAST, F32),  # the class's default config
        ("AutoencoderKLCogVideoX", {"force_upcast": False}, BF16),
        ("AutoencoderKLTemporalDecoder", UPCAST, F32),
        ("AutoencoderKLTemporalDecoder", {"force_upcast": False}, F16),
        ("AutoencoderKLAllegro", {"force_upcast": False}, F32),  # its example: a float32 VAE
    ],
)
def test_on_cuda_each_family_runs_as_its_pipelines_do(class_name, config, expected):
    assert FAMILIES[class_name].dtype("cuda", config) == expected


@pytest.mark.parametrize(
    ("class_name", "config", "half"),
    [
        ("AutoencoderKLWan", {}, BF16),
        ("AutoencoderKLCogVideoX", UPCAST, BF16),
        ("AutoencoderKLHunyuanVideo", {}, F16),
        ("AutoencoderKLTemporalDecoder", UPCAST, F16),
        ("AutoencoderKLAllegro", UPCAST, BF16),
    ],
)
def test_half_precision_overrides_the_default_either_way(class_name, config, half):
    family = FAMILIES[class_name]
    assert family.dtype("cuda", config, half_precision=True) == half
    assert family.dtype("cuda", {"force_upcast": False}, half_precision=False) == F32


def test_mochi_runs_only_in_float32(tmp_path):
    """Its encoder takes sines of the frames at high frequencies: 16-bit frames lose them."""
    assert FAMILIES["AutoencoderKLMochi"].dtype("cuda", {}, half_precision=True) == F32
    folder = tmp_path / "mochi"
    folder.mkdir()
    (folder / "config.json").write_text('{"_class_name": "AutoencoderKLMochi"}')
    (folder / "explorer.json").write_text('{"half_precision": true}')
    with pytest.raises(ModelFileError) as caught:
        open_model(folder, "cpu")
    message = str(caught.value)
    assert "runs only in float32" in message and "remove half_precision" in message
    assert "\n" not in message


@pytest.mark.parametrize("device_type", ["cpu", "mps"])
@pytest.mark.parametrize("class_name", sorted(FAMILIES))
def test_off_cuda_every_family_runs_in_float32(device_type, class_name):
    family = FAMILIES[class_name]
    for half_precision in (None, True, False):
        assert family.dtype(device_type, {"force_upcast": False}, half_precision) == F32


def test_half_precision_in_explorer_json_still_runs_float32_on_the_cpu(tmp_path):
    plain = open_at_32(save(tmp_path / "plain", "AutoencoderKLWan", WAN))
    folder = save(tmp_path / "half", "AutoencoderKLWan", WAN)
    (folder / "explorer.json").write_text(json.dumps({"frame_size": 32, "half_precision": True}))
    asked = open_model(folder, "cpu")
    assert asked.half_precision is True
    assert asked.describe()["precision"] == "float32"
    assert {p.dtype for p in asked.module.parameters()} == {F32}
    frames = clip(9)
    mu, logvar = asked.encode_clip(frames)
    np.testing.assert_array_equal(mu, plain.encode_clip(frames)[0])
    np.testing.assert_array_equal(asked.decode_steps(mu), plain.decode_steps(mu))
    assert mu.dtype == logvar.dtype == np.float32


def test_moving_the_model_reapplies_the_rule(tmp_path):
    """A module left in 16 bits (as on a GPU) is float32 again once moved to the CPU."""
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    vae.module.to(BF16)
    vae.to("cpu")
    assert {p.dtype for p in vae.module.parameters()} == {F32}
    assert vae.describe()["precision"] == "float32"


class BFloat16Everywhere(Wan):
    """Wan, run in bfloat16 even on the CPU: the 16-bit path without a GPU."""

    def dtype(self, device_type, config, half_precision=None):
        return BF16


def test_a_16_bit_module_takes_cast_inputs_and_gives_float32_latents(tmp_path):
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    frames = clip(9)
    mu32 = vae.encode_clip(frames)[0]
    vae.family = BFloat16Everywhere()
    vae.to("cpu")
    assert {p.dtype for p in vae.module.parameters()} == {BF16}
    assert vae.describe()["precision"] == "bfloat16"
    mu, logvar = vae.encode_clip(frames)
    assert mu.dtype == logvar.dtype == np.float32
    np.testing.assert_allclose(mu, mu32, atol=0.1 * np.abs(mu32).max())  # bf16: 3 digits
    decoded = vae.decode_steps(mu)
    assert decoded.dtype == np.uint8 and decoded.shape == (9, 32, 32, 3)


# --- out of GPU memory ----------------------------------------------------------------------


class OutOfMemoryError(RuntimeError):
    """Named as torch's is: the guard recognises the name."""


class Exhausted:
    """A temporal model whose every call runs out of GPU memory; ``facts`` is what it
    describes of itself."""

    fit_mode = "crop"
    rule = FrameRule(4, causal_first=True)
    frame_size, latent_shape, device = (480, 832), (16, 60, 104), "cuda"
    temporal_stride, causal_first_frame, window_steps = 4, True, 21

    def __init__(self, **facts) -> None:
        self.facts = {"kind": "diffusers AutoencoderKLWan", "path": "/models/wan", **facts}

    def frames_for(self, steps):
        return self.rule.frames_for(steps)

    def steps_for(self, frames):
        return self.rule.steps_for(frames)

    def decode_steps(self, latents):
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    encode_clip = decode_steps

    def describe(self):
        return self.facts


def oom_message(model, method=guard.decode_steps) -> str:
    inputs = (np.zeros((2, *model.latent_shape), np.float32) if method is guard.decode_steps
              else np.zeros((5, 8, 8, 3), np.uint8))
    with pytest.raises(guard.ModelRuntimeError) as caught:
        method(model, inputs)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("method", [guard.decode_steps, guard.encode_clip])
def test_out_of_memory_names_tiling_when_it_is_off(method):
    message = oom_message(Exhausted(tiling=False), method)
    assert message.startswith("out of GPU memory while ")
    assert '"tiling": true in /models/wan/explorer.json' in message
    assert 'a smaller "frame_size" there, such as [240, 416]' in message
    assert "smaller batches" not in message


def test_with_tiling_on_the_advice_is_a_smaller_frame():
    message = oom_message(Exhausted(tiling=True))
    assert '"tiling"' not in message
    assert 'put a smaller "frame_size" in /models/wan/explorer.json, such as [240, 416]' in message


def test_a_class_without_tiles_is_not_told_to_tile():
    message = oom_message(Exhausted(kind="diffusers AutoencoderKLTemporalDecoder"))
    assert '"tiling"' not in message and '"frame_size"' in message


def test_a_temporal_model_without_a_settings_folder_gets_the_cpu():
    message = oom_message(Exhausted(kind="my plugin", path=""))
    assert "explorer.json" not in message
    assert message.endswith("choose the CPU in the Device menu (or --device cpu)")


def test_a_real_video_autoencoder_names_its_own_folder(tmp_path, monkeypatch):
    folder = save(tmp_path / "wan", "AutoencoderKLWan", WAN)
    vae = open_at_32(folder)

    def exhausted(*args, **kwargs):
        raise OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(vae.module, "decode", exhausted)
    message = oom_message(vae)
    assert f'"tiling": true in {folder / "explorer.json"}' in message
    assert "such as [16, 16]" in message  # half of its 32 px frames


def test_svd_says_nothing_of_tiling_it_does_not_have(tmp_path):
    vae = open_at_32(save(tmp_path / "svd", "AutoencoderKLTemporalDecoder", SVD))
    assert "tiling" not in vae.describe()
    cog = open_at_32(save(tmp_path / "cog", "AutoencoderKLCogVideoX", COGVIDEOX))
    assert cog.describe()["tiling"] is False


# --- the Model panel ------------------------------------------------------------------------


def shown(panel: ModelPanel) -> dict[str, str]:
    """The Model panel's rows, label to text, as the user reads them."""
    form = panel.findChild(QFormLayout)
    role = QFormLayout.ItemRole
    return {form.itemAt(row, role.LabelRole).widget().text().rstrip(":"):
            form.itemAt(row, role.FieldRole).widget().text() for row in range(form.rowCount())}


def panel_for(qtbot, info: dict) -> dict[str, str]:
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.show_model(info, Path("clip.mp4"))
    return shown(panel)


def test_on_the_cpu_the_panel_says_a_video_autoencoder_is_slow(tmp_path, qtbot):
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    facts = vae.describe()
    assert facts["note"].startswith("on the CPU, a video autoencoder decodes slowly")
    rows = panel_for(qtbot, {**facts, "device_label": "CPU"})
    assert rows["Note"] == facts["note"]
    assert rows["Precision"] == "float32"


def test_the_note_goes_where_the_model_is_not_on_the_cpu(tmp_path, qtbot, monkeypatch):
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    monkeypatch.setattr(vae, "_device", torch.device("cuda"))  # as if moved to a GPU
    assert "note" not in vae.describe()
    rows = panel_for(qtbot, {**vae.describe(), "device_label": "CUDA (a GPU)"})
    assert "Note" not in rows


def test_info_says_the_precision_and_why_the_cpu_is_slow_as_the_panel_does(wan_folder, run_cli):
    result = run_cli("info", wan_folder)
    assert result.returncode == 0, result.stderr
    facts = open_model(wan_folder, device="cpu").describe()
    text = " ".join(result.stdout.split())
    assert "Precision float32" in text
    assert " ".join(facts["note"].split()) in text
