"""A VQ model says how many of its codebook entries a video uses: the model, the guard,
``explorer encode`` and the Model panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.demo import demo_frames
from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.model import diffusers_vae, guard
from explorer.model.open import open_model
from tests.conftest import write_mjpg
from tests.gui_helpers import ready_window
from tests.test_diffusers_families import frames, save_tiny
from tests.test_video_vae_memory import OutOfMemoryError, panel_for, shown

pytest.importorskip("diffusers")


@pytest.fixture
def vq(tmp_path):
    """A random-weight VQModel with 16 entries, latents 4 × 16 × 16 at 32 px."""
    return open_model(save_tiny(tmp_path / "vq", "VQModel"), device="cpu")


def codebook(vae) -> np.ndarray:
    return vae.module.autoencoder.quantize.embedding.weight.detach().numpy()


def latents_of(vae, codes: np.ndarray) -> np.ndarray:
    """Latents ``[N, C, h, w]`` whose every vector is exactly codebook entry ``codes[n, y, x]``."""
    return np.ascontiguousarray(np.moveaxis(codebook(vae)[codes], -1, 1))


@pytest.mark.parametrize("chunk", [None, 16 * 5, 16 * 600])  # the default; 5 vectors; 2 frames
def test_latents_on_entries_0_3_and_5_use_3_codes(vq, monkeypatch, chunk):
    if chunk is not None:
        monkeypatch.setattr(diffusers_vae, "_DISTANCES_PER_CHUNK", chunk)
    codes = np.zeros((3, 16, 16), np.int64)
    codes[1, 4:9, 2] = 3
    codes[2, 15, 15] = 5  # the very last vector: every chunk is counted
    assert vq.codes_used(latents_of(vq, codes)) == 3


def test_the_count_is_what_decoding_snaps_to(vq):
    mu, _ = vq.encode(frames(4))
    with torch.no_grad():
        _, _, (_, _, indices) = vq.module.autoencoder.quantize(torch.from_numpy(mu))
    expected = len(np.unique(indices.numpy()))
    assert vq.codes_used(mu) == expected
    codes = np.arange(16).reshape(1, 4, 4).repeat(4, axis=1).repeat(4, axis=2)
    assert vq.codes_used(latents_of(vq, codes) + 1e-4) == 16  # near each entry: all of them


def test_a_trajectory_s_flat_latents_count_the_same(vq):
    codes = np.zeros((2, 16, 16), np.int64)
    codes[1, 0, :4] = [1, 2, 3, 4]
    latents = latents_of(vq, codes)
    assert vq.codes_used(latents.reshape(2, -1)) == vq.codes_used(latents) == 5


@pytest.mark.parametrize("shape", [(2, 4, 8, 8), (2, 4, 8, 32), (2, 100)])
def test_latents_of_another_shape_are_refused(vq, shape):
    with pytest.raises(ExplorerError, match="do not fit this model"):
        vq.codes_used(np.zeros(shape, np.float32))


def test_the_guard_asks_only_models_that_can_say(vq, tmp_path):
    tiny = open_model(save_tiny(tmp_path / "tiny", "AutoencoderTiny"), device="cpu")
    latents = np.zeros((1, *tiny.latent_shape), np.float32)
    assert guard.codes_used(tiny, latents) is None
    codes = np.full((2, 16, 16), 7)
    assert guard.codes_used(vq, latents_of(vq, codes)) == 1


class Counting:
    """A model whose ``codes_used`` answers ``answer`` (or raises it)."""

    latent_shape = (4,)

    def __init__(self, answer) -> None:
        self.answer = answer

    def codes_used(self, latents):
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(("answer", "complaint"), [
    (-1, "returned -1;"), ("3", "returned '3';"), (True, "returned True;"),
    (None, "returned None;"),
    (OutOfMemoryError("CUDA out of memory"), "out of GPU memory while counting the codes it uses"),
])
def test_a_bad_count_is_one_line(answer, complaint):
    with pytest.raises(guard.ModelRuntimeError) as caught:
        guard.codes_used(Counting(answer), np.zeros((1, 4), np.float32))
    assert complaint in str(caught.value) and "\n" not in str(caught.value)


def test_a_numpy_count_is_an_int():
    assert guard.codes_used(Counting(np.int64(9)), np.zeros((1, 4), np.float32)) == 9


def test_encode_command_says_how_many_codes_the_video_uses(tmp_path, run_cli, demo_clip):
    folder = save_tiny(tmp_path / "vq", "VQModel")
    output = tmp_path / "out.npz"
    result = run_cli("encode", demo_clip, "--model", folder, "--max-frames", "5", "-o", output)
    assert result.returncode == 0, result.stderr
    used = open_model(folder, device="cpu").codes_used(Trajectory.load(output).latents())
    assert 1 <= used <= 16
    # ", in 0.3 s" or ", from the cache" (another test may have encoded the same frames)
    assert f"latent shape 4×16×16, using {used} of 16 codebook entries, " in result.stdout


def test_encode_command_says_nothing_of_codes_for_other_models(tmp_path, run_cli, demo_clip):
    folder = save_tiny(tmp_path / "tiny", "AutoencoderTiny")
    result = run_cli("encode", demo_clip, "--model", folder, "--max-frames", "2",
                     "-o", tmp_path / "out.npz")
    assert result.returncode == 0, result.stderr
    assert "codebook" not in result.stdout


# --- the Model panel ------------------------------------------------------------------------

VQ_INFO = {"kind": "diffusers VQModel", "path": str(Path("vq")), "frame_size": (32, 32),
           "latent_shape": (4, 16, 16), "parameters": 1234, "device_label": "CPU",
           "deterministic": True, "codebook_size": 16384, "quantize": True}


def test_the_panel_shows_the_codes_this_video_uses(qtbot):
    rows = panel_for(qtbot, {**VQ_INFO, "codes_used": 1021})
    assert rows["Codebook"] == (
        "16,384 entries, this video uses 1,021; decoded through the quantiser"
    )


def test_before_the_count_the_panel_shows_the_codebook_size(qtbot):
    rows = panel_for(qtbot, {**VQ_INFO, "quantize": False})
    assert rows["Codebook"] == "16,384 entries; decoded without the quantiser"


def test_the_window_shows_how_many_codes_the_opened_video_uses(qtbot, tmp_path):
    folder = save_tiny(tmp_path / "vq", "VQModel")
    clip = write_mjpg(tmp_path / "clip.avi", demo_frames(6, 32))
    window = ready_window(qtbot, video=clip, model=folder)
    vae = open_model(folder, device="cpu")
    expected = vae.codes_used(window.state.trajectory.latents())
    qtbot.waitUntil(lambda: "this video uses" in shown(window.model_panel).get("Codebook", ""),
                    timeout=30_000)
    assert shown(window.model_panel)["Codebook"].startswith(f"16 entries, this video uses "
                                                            f"{expected};")
