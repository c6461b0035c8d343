"""Bring your own VAE: every kind opens through open_model, the path the CLI and GUI take."""

from __future__ import annotations

import json
import pickle
import secrets
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.errors import ModelFileError
from explorer.latent.interpolate import interpolate
from explorer.model.files import save_model
from explorer.model.open import open_model
from explorer.pipeline.encode import Selection, encode_video
from explorer.video.fitting import fit_frames
from explorer.video.writer import ClipWriter
from tests.factories import make_vae, random_frames
from tests.test_model_files import RunsCode

# torch 2.13 deprecates TorchScript, which still saves and loads as before.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")


def autoencoder_kl(folder: Path, blocks: int = 2, **config) -> Path:
    """A tiny randomly initialised AutoencoderKL saved with save_pretrained into ``folder``.

    ``blocks`` encoder blocks downsample by 2 ** (blocks - 1).
    """
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    model = diffusers.AutoencoderKL(
        block_out_channels=(8,) * blocks,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        layers_per_block=1,
        norm_num_groups=4,
        latent_channels=4,
        **{"sample_size": 32, **config},
    )
    model.save_pretrained(folder)
    return folder


class PoolingAutoencoder(nn.Module):
    """Latents are 4 × 4 average pools of the image; decoding repeats each one."""

    @torch.jit.export
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = F.avg_pool2d(images, 4)
        return mu, torch.full_like(mu, -2.0)

    @torch.jit.export
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return F.interpolate(latents, scale_factor=4.0, mode="nearest")


class DescribedPoolingAutoencoder(PoolingAutoencoder):
    """The same, saying its sizes in attributes, and encoding to mu alone."""

    def __init__(self) -> None:
        super().__init__()
        self.frame_size = (16, 16)
        self.latent_shape = [3, 4, 4]

    @torch.jit.export
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(images, 4)


def script(module: nn.Module, path: Path, settings: dict | None = None) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    if settings is not None:
        path.with_suffix(".json").write_text(json.dumps(settings))
    return path


PLUGIN_SOURCE = '''
import numpy as np


class MeanColour:
    """A toy video VAE without torch: a frame's latent is its mean colour."""

    batch_size = 8
    fit_mode = "crop"
    frame_size = (8, 8)
    latent_shape = (3,)

    def __init__(self, device="cpu"):
        self._device = device

    @property
    def device(self):
        return self._device

    def to(self, device):
        self._device = device
        self.moved = True

    def encode(self, frames):
        mu = frames.reshape(len(frames), -1, 3).mean(axis=1).astype(np.float32) / 255
        return mu, np.zeros_like(mu)

    def decode(self, latents):
        colours = np.clip(np.asarray(latents) * 255, 0, 255).round().astype(np.uint8)
        return np.repeat(np.repeat(colours[:, None, None], 8, axis=1), 8, axis=2)

    def describe(self):
        return {"kind": "mean colour"}


class NoDecode(MeanColour):
    decode = None


def make_vae(device):
    return MeanColour(device)


def make_plain():
    return MeanColour("nowhere yet")


def make_broken():
    raise ValueError("no weights here\\nsecond line")


def make_incomplete():
    return NoDecode()


def load(argument, device):
    vae = MeanColour(device)
    vae.argument = argument
    return vae
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch) -> str:
    """The name of a fresh plugin module on sys.path."""
    name = f"byo_plugin_{secrets.token_hex(4)}"
    (tmp_path / f"{name}.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def register(monkeypatch, **loaders: str) -> None:
    """Stand in for installed packages that register ``name = "module:function"``."""
    points = [EntryPoint(name, value, "explorer.models") for name, value in loaders.items()]
    monkeypatch.setattr(
        "explorer.model.kinds.entry_points",
        lambda group: [p for p in points if p.group == group],
    )


def test_latent_explorer_files_open_as_before(tmp_path):
    file = save_model(make_vae(size=64, latent_dim=8), tmp_path / "own.safetensors", {})
    vae = open_model(file, device="cpu")
    assert vae.kind == "β-VAE (built-in)" and vae.latent_shape == (8,)


# diffusers AutoencoderKL


def test_autoencoder_kl_folder_opens_and_fits_odd_frames(tmp_path):
    folder = autoencoder_kl(tmp_path / "vae")
    from diffusers import AutoencoderKL

    vae = open_model(folder, device="cpu")
    assert vae.frame_size == (32, 32) and vae.latent_shape == (4, 16, 16)
    with torch.no_grad():
        direct = AutoencoderKL.from_pretrained(folder).encode(torch.zeros(1, 3, 32, 32))
    assert tuple(direct.latent_dist.mean.shape[1:]) == vae.latent_shape

    mu, logvar = vae.encode(random_frames(3, 50, 70))
    assert mu.shape == logvar.shape == (3, 4, 16, 16) and mu.dtype == np.float32
    frames = vae.decode(mu)
    assert frames.shape == (3, 32, 32, 3) and frames.dtype == np.uint8
    assert vae.describe()["kind"] == "diffusers AutoencoderKL"


def test_scaling_and_shift_match_diffusers_own_round_trip(tmp_path):
    folder = autoencoder_kl(tmp_path / "vae", scaling_factor=0.5, shift_factor=0.25)
    from diffusers import AutoencoderKL

    vae = open_model(str(folder), device="cpu")
    frames = fit_frames(random_frames(2, 40, 56), vae.frame_size)
    mu, logvar = vae.encode(frames)

    model = AutoencoderKL.from_pretrained(folder)
    images = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        posterior = model.encode(images * 2 - 1).latent_dist
        decoded = model.decode(posterior.mean).sample
    np.testing.assert_allclose(mu, (posterior.mean.numpy() - 0.25) * 0.5, atol=1e-5)
    np.testing.assert_allclose(logvar, posterior.logvar.numpy() + 2 * np.log(0.5), atol=1e-5)
    expected = ((decoded + 1) / 2).clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1)
    difference = np.abs(vae.decode(mu).astype(int) - expected.numpy().astype(int))
    assert difference.max() <= 1


def test_settings_file_sets_frame_size_and_precision(tmp_path):
    folder = autoencoder_kl(tmp_path / "vae", blocks=3, force_upcast=False)
    (folder / "explorer.json").write_text('{"frame_size": [50, 70], "batch_size": 3}')
    vae = open_model(folder, device="cpu")
    assert vae.frame_size == (48, 68) and vae.latent_shape == (4, 12, 17)  # multiples of 4
    assert vae.batch_size == 3
    assert vae.half and vae.dtype == torch.float32  # float16 is for CUDA only
    assert vae.decode(vae.encode(random_frames(4, 30, 30))[0]).shape == (4, 48, 68, 3)

    (folder / "explorer.json").write_text('{"half_precision": false}')
    assert not open_model(folder, device="cpu").half


def test_stable_diffusion_style_config_keeps_float32(tmp_path):
    vae = open_model(autoencoder_kl(tmp_path / "vae"), device="cpu")  # force_upcast: true
    assert not vae.half


def test_image_latents_run_the_whole_flow(tmp_path, demo_clip):
    vae = open_model(autoencoder_kl(tmp_path / "vae", sample_size=64), device="cpu")
    assert vae.latent_shape == (4, 32, 32)
    trajectory = encode_video(demo_clip, vae, Selection(max_frames=8, measure_error=True))
    assert trajectory.mu.shape == (8, 4 * 32 * 32) and trajectory.latent_shape == (4, 32, 32)
    assert trajectory.psnr_db.shape == (8,)

    path = interpolate(trajectory.latents([0, -1]), steps=5, method="slerp")
    assert path.shape == (5, 4, 32, 32)
    frames = vae.decode(path)
    assert frames.shape == (5, 64, 64, 3)
    with ClipWriter(tmp_path / "path.mp4", fps=12) as writer:
        for frame in frames:
            writer.write(frame)
    assert (tmp_path / "path.mp4").stat().st_size > 0


# TorchScript


def test_torchscript_with_settings_beside_it(tmp_path):
    settings = {"frame_size": 16, "input_range": [-1, 1], "batch_size": 2, "half_precision": True}
    model = script(PoolingAutoencoder(), tmp_path / "pool.pt", settings)
    vae = open_model(model, "cpu", trust_code=True)
    assert vae.frame_size == (16, 16) and vae.latent_shape == (3, 4, 4)
    assert vae.batch_size == 2 and vae.half and vae.dtype == torch.float32  # CPU: float32

    mu, logvar = vae.encode(np.zeros((3, 20, 30, 3), np.uint8))
    np.testing.assert_allclose(mu, -1.0)  # black is -1 in the model's range
    np.testing.assert_allclose(logvar, -2.0)
    blocks = random_frames(5, 4, 4)
    frames = blocks.repeat(4, axis=1).repeat(4, axis=2)
    np.testing.assert_array_equal(vae.decode(vae.encode(frames)[0]), frames)


def test_torchscript_with_attributes_and_mu_alone(tmp_path):
    model = script(DescribedPoolingAutoencoder(), tmp_path / "described.pt")
    vae = open_model(model, "cpu", trust_code=True)
    assert vae.frame_size == (16, 16) and vae.latent_shape == (3, 4, 4)
    mu, logvar = vae.encode(np.full((2, 16, 16, 3), 255, np.uint8))
    np.testing.assert_allclose(mu, 1.0)
    np.testing.assert_array_equal(logvar, 0.0)


# Python plugins and registered loaders


def test_plugin_factory_gets_the_device(plugin):
    vae = open_model(f"{plugin}:make_vae", device="cpu", trust_code=True)
    assert vae.device == "cpu" and vae.latent_shape == (3,)
    frames = np.full((2, 8, 8, 3), 51, np.uint8)
    np.testing.assert_array_equal(vae.decode(vae.encode(frames)[0]), frames)


def test_plugin_factory_without_device_is_moved(plugin):
    vae = open_model(f"{plugin}:make_plain", device="cpu", trust_code=True)
    assert vae.device == "cpu" and vae.moved


def test_registered_loader_gets_its_argument(plugin, monkeypatch):
    register(monkeypatch, toy=f"{plugin}:load")
    assert open_model("toy", device="cpu", trust_code=True).argument is None
    vae = open_model("toy:weights/colour.bin", device="cpu", trust_code=True)
    assert vae.argument == "weights/colour.bin" and vae.device == "cpu"


# Loading errors: each a one-line ModelFileError


def error_of(spec, device: str = "cpu") -> str:
    """The one-line error opening ``spec`` gives, code trusted (tests/test_trust.py
    covers what happens when it is not)."""
    with pytest.raises(ModelFileError) as caught:
        open_model(spec, device, trust_code=True)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def test_missing_diffusers_extra_says_how_to_install(tmp_path, monkeypatch):
    folder = tmp_path / "vae"
    folder.mkdir()
    (folder / "config.json").write_text('{"_class_name": "AutoencoderKL"}')
    monkeypatch.setitem(sys.modules, "diffusers", None)
    assert "pip install 'latent-explorer[diffusers]'" in error_of(folder)


def test_folder_errors(tmp_path):
    assert "no config.json" in error_of(tmp_path)
    (tmp_path / "config.json").write_text('{"_class_name": "UNet2DConditionModel"}')
    assert "cannot open; it opens AutoencoderKL, " in error_of(tmp_path)


def test_pickled_diffusers_weights_are_refused(tmp_path):
    pytest.importorskip("diffusers")
    (tmp_path / "config.json").write_text('{"_class_name": "AutoencoderKL"}')
    (tmp_path / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x02")
    assert "never loads" in error_of(tmp_path)


def test_bad_settings_file(tmp_path):
    folder = autoencoder_kl(tmp_path / "vae")
    (folder / "explorer.json").write_text('{"framesize": 64}')
    assert "explorer.json: framesize: unknown field (the fields are frame_size" in error_of(folder)
    (folder / "explorer.json").write_text('{"frame_size": "big"}')
    assert "explorer.json: frame_size: must be [height, width]" in error_of(folder)


def test_hub_ids_are_never_downloaded():
    message = error_of("stabilityai/sd-vae-ft-mse")
    assert "never downloads" in message and "local" in message


def test_unknown_spec_lists_what_is_accepted(tmp_path):
    assert "TorchScript" in error_of(tmp_path / "missing.pt")
    (tmp_path / "notes.txt").write_text("hello")
    assert "not a model this app can open" in error_of(tmp_path / "notes.txt")


def test_plugin_errors(plugin, monkeypatch):
    assert error_of(f"{plugin}:make_broken") == (
        f"plugin {plugin}:make_broken raised ValueError: no weights here"
    )
    assert "missing decode" in error_of(f"{plugin}:make_incomplete")
    assert "has no 'make_nothing'" in error_of(f"{plugin}:make_nothing")
    assert "no module named 'not_a_module_anywhere'" in error_of("not_a_module_anywhere:make")
    register(monkeypatch, wrong=f"{plugin}:make_broken")  # takes no (argument, device)
    assert "model loader 'wrong' raised TypeError" in error_of("wrong")


def test_pickles_never_run(tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"weights": RunsCode(marker)}, tmp_path / "evil.pt")
    (tmp_path / "evil.ckpt").write_bytes(pickle.dumps(RunsCode(marker)))
    for name in ("evil.pt", "evil.ckpt"):
        assert "never loads pickles" in error_of(tmp_path / name)
    assert not marker.exists()


def test_torchscript_errors(tmp_path):
    assert "does not say its frame size" in error_of(
        script(PoolingAutoencoder(), tmp_path / "bare.pt")
    )
    wrong = script(PoolingAutoencoder(), tmp_path / "wrong.pt", {"frame_size": 16})
    wrong.with_suffix(".json").write_text('{"frame_size": 16, "latent_shape": [4, 4, 4]}')
    assert "declares latent_shape [4, 4, 4] but its encode returns [3, 4, 4]" in error_of(wrong)
    wrong.with_suffix(".json").write_text('{"frame_size": 18}')  # does not pool to 4 × 4 blocks
    assert "decode returned [1, 3, 16, 16] instead of images [1, 3, 18, 18]" in error_of(wrong)
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(wrong.read_bytes()[:300])
    assert "damaged zip" in error_of(damaged)
