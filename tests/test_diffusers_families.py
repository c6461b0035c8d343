"""Every diffusers image autoencoder class opens from a save_pretrained folder.

Each class is built here with a tiny random-weight config, saved with safetensors and
opened through open_model, the path the CLI and the window take; what it encodes and
decodes is checked against the model's own diffusers API.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.demo import demo_frames
from explorer.errors import ModelFileError
from explorer.latent.trajectory import Trajectory
from explorer.model.diffusers_families import SUPPORTED
from explorer.model.diffusers_vae import NO_LOGVAR
from explorer.model.open import open_model
from explorer.video.fitting import fit_frames

diffusers = pytest.importorskip("diffusers")

_KL_BLOCKS = {
    "block_out_channels": (8, 8),
    "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "latent_channels": 4,
    "sample_size": 32,
}
TINY: dict[str, dict] = {
    "AutoencoderKL": {**_KL_BLOCKS, "scaling_factor": 0.5, "shift_factor": 0.25},
    "AsymmetricAutoencoderKL": {
        "down_block_types": ("DownEncoderBlock2D",) * 2, "down_block_out_channels": (8, 8),
        "layers_per_down_block": 1, "up_block_types": ("UpDecoderBlock2D",) * 2,
        "up_block_out_channels": (8, 8), "layers_per_up_block": 1, "norm_num_groups": 4,
        "latent_channels": 4, "sample_size": 32, "scaling_factor": 0.5,
    },
    "AutoencoderKLFlux2": dict(_KL_BLOCKS),
    "AutoencoderKLHunyuanImage": {
        "in_channels": 3, "out_channels": 3, "latent_channels": 8, "block_out_channels": (32, 32),
        "layers_per_block": 1, "spatial_compression_ratio": 2, "sample_size": 32,
        "scaling_factor": 0.5,
    },
    "AutoencoderKLKVAE": {
        "channels": 32, "num_enc_blocks": 1, "num_dec_blocks": 1, "z_channels": 4,
        "ch_mult": (1, 1), "sample_size": 32,
    },
    "AutoencoderTiny": {
        "encoder_block_out_channels": (8, 8), "decoder_block_out_channels": (8, 8),
        "num_encoder_blocks": (1, 1), "num_decoder_blocks": (1, 1), "latent_channels": 4,
        "scaling_factor": 0.5, "shift_factor": 0.25,
    },
    "AutoencoderDC": {
        "latent_channels": 4, "encoder_block_out_channels": (8, 8),
        "decoder_block_out_channels": (8, 8), "encoder_layers_per_block": (1, 1),
        "decoder_layers_per_block": (1, 1), "encoder_qkv_multiscales": ((), ()),
        "decoder_qkv_multiscales": ((), ()), "scaling_factor": 0.5,
    },
    # scaling_factor is set to show that a VQModel's is not applied.
    "VQModel": {**_KL_BLOCKS, "num_vq_embeddings": 16, "scaling_factor": 0.5},
}
DETERMINISTIC = {"AutoencoderTiny", "AutoencoderDC", "VQModel"}
# The latent shape at 32 px: every tiny config halves the frame once.
LATENT_CHANNELS = {"AutoencoderKLHunyuanImage": 8}
# A channel list that, multiplied, makes the network far larger than its weights.
WIDTH_KEY = {
    "AsymmetricAutoencoderKL": "down_block_out_channels",
    "AutoencoderKLKVAE": "channels",
    "AutoencoderTiny": "encoder_block_out_channels",
    "AutoencoderDC": "encoder_block_out_channels",
}


def save_tiny(folder: Path, class_name: str, *, safetensors: bool = True, **config) -> Path:
    """A tiny randomly initialised ``class_name`` saved with save_pretrained into ``folder``,
    opening at 32 px (classes whose config has no sample_size get it in explorer.json)."""
    torch.manual_seed(0)
    model = getattr(diffusers, class_name)(**{**TINY[class_name], **config})
    model.save_pretrained(folder, safe_serialization=safetensors)
    if "sample_size" not in TINY[class_name]:
        (folder / "explorer.json").write_text('{"frame_size": 32}')
    return folder


def frames(count: int, size: int = 48) -> np.ndarray:
    return np.stack(list(demo_frames(count, size)))


def reference(folder: Path, class_name: str, images: np.ndarray) -> tuple[torch.Tensor, object]:
    """What the class's own diffusers API gives for ``images``: the latents Latent Explorer
    should map (before scaling), and the model."""
    model = getattr(diffusers, class_name).from_pretrained(folder).eval()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0 * 2 - 1
    with torch.no_grad():
        output = model.encode(x)
    if class_name in DETERMINISTIC:
        latents = output.latent if class_name == "AutoencoderDC" else output.latents
        return latents, model
    return output.latent_dist, model


def test_every_supported_class_is_tested():
    assert set(TINY) == set(SUPPORTED)


@pytest.mark.parametrize("class_name", SUPPORTED)
def test_class_opens_encodes_and_decodes_like_diffusers(tmp_path, class_name):
    folder = save_tiny(tmp_path / "vae", class_name)
    vae = open_model(folder, device="cpu")
    facts = vae.describe()
    assert facts["kind"] == f"diffusers {class_name}"
    assert vae.frame_size == (32, 32)
    assert vae.latent_shape == (LATENT_CHANNELS.get(class_name, 4), 16, 16)
    assert facts["deterministic"] is (class_name in DETERMINISTIC)

    images = fit_frames(frames(3), vae.frame_size)
    mu, logvar = vae.encode(frames(3))  # 48 px frames are fitted to 32 px
    assert mu.shape == logvar.shape == (3, *vae.latent_shape)  # one latent per frame
    assert mu.dtype == logvar.dtype == np.float32
    assert np.isfinite(mu).all() and np.isfinite(logvar).all()

    encoded, model = reference(folder, class_name, images)
    config = model.config
    scaled = class_name != "VQModel"
    scale = (config.get("scaling_factor") or 1.0) if scaled else 1.0
    shift = (config.get("shift_factor") or 0.0) if scaled else 0.0
    if class_name in DETERMINISTIC:
        expected_mu = (encoded.numpy() - shift) * scale
        np.testing.assert_array_equal(logvar, NO_LOGVAR)
    else:
        expected_mu = (encoded.mean.numpy() - shift) * scale
        expected_logvar = encoded.logvar.numpy() + 2 * np.log(scale)
        np.testing.assert_allclose(logvar, expected_logvar, atol=1e-4)
    np.testing.assert_allclose(mu, expected_mu, atol=1e-4)

    decoded = vae.decode(mu)
    assert decoded.shape == (3, 32, 32, 3) and decoded.dtype == np.uint8
    with torch.no_grad():
        images_out = model.decode(torch.from_numpy(mu) / scale + shift).sample
    expected = ((images_out + 1) / 2).clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1)
    assert np.abs(decoded.astype(int) - expected.numpy().astype(int)).max() <= 1


@pytest.mark.parametrize("class_name", SUPPORTED)
def test_frame_size_is_rounded_to_the_downsampling(tmp_path, class_name):
    folder = save_tiny(tmp_path / "vae", class_name)
    (folder / "explorer.json").write_text('{"frame_size": [41, 53], "batch_size": 2}')
    vae = open_model(folder, device="cpu")
    assert vae.frame_size == (40, 52)
    assert vae.latent_shape == (LATENT_CHANNELS.get(class_name, 4), 20, 26)
    mu, _ = vae.encode(frames(3))
    assert mu.shape == (3, *vae.latent_shape)
    assert vae.decode(mu).shape == (3, 40, 52, 3)


@pytest.mark.parametrize("class_name", ["AutoencoderTiny", "AutoencoderDC"])
def test_plain_autoencoders_report_no_log_variance(tmp_path, class_name):
    vae = open_model(save_tiny(tmp_path / "vae", class_name), device="cpu")
    assert vae.describe()["deterministic"] is True
    mu, logvar = vae.encode(frames(2))
    assert (logvar == NO_LOGVAR).all() and np.isfinite(logvar.astype(np.float16)).all()
    assert mu.std() > 0  # the latents themselves are not a constant


def test_vq_model_decodes_through_its_quantiser_or_not(tmp_path):
    folder = save_tiny(tmp_path / "vq", "VQModel")
    vae = open_model(folder, device="cpu")
    facts = vae.describe()
    assert facts["codebook_size"] == 16 and facts["quantize"] is True
    assert "scaling_factor" not in facts  # VQ latents are the model's own, unscaled
    mu, _ = vae.encode(frames(4))

    (folder / "explorer.json").write_text('{"quantize": false}')
    raw = open_model(folder, device="cpu")
    assert raw.describe()["quantize"] is False
    quantised, unquantised = vae.decode(mu), raw.decode(mu)
    assert not np.array_equal(quantised, unquantised)

    with torch.no_grad():  # the codebook vectors nearest to mu
        codes = vae.module.autoencoder.quantize(torch.from_numpy(mu))[0].numpy()
    assert not np.allclose(codes, mu)
    np.testing.assert_array_equal(vae.decode(codes), quantised)  # quantising codes changes nothing
    np.testing.assert_array_equal(raw.decode(codes), quantised)  # they decode as mu does through it


def test_quantize_setting_is_for_vq_models_only(tmp_path):
    folder = save_tiny(tmp_path / "vae", "AutoencoderTiny")
    (folder / "explorer.json").write_text('{"frame_size": 32, "quantize": false}')
    with pytest.raises(ModelFileError, match="quantize applies to VQ models only") as caught:
        open_model(folder, device="cpu")
    assert "\n" not in str(caught.value)


def error_of(folder: Path) -> str:
    with pytest.raises(ModelFileError) as caught:
        open_model(folder, device="cpu")
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("factor", [0.0, -0.5, "0.5"])
def test_unusable_scaling_factor_is_refused(tmp_path, factor):
    folder = save_tiny(tmp_path / "vae", "AutoencoderKL")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "scaling_factor": factor}))
    assert "scaling_factor is" in error_of(folder)


@pytest.mark.parametrize(
    "class_name", ["UNet2DConditionModel", "AutoencoderOobleck", None, "Evil\nName", ["list"]]
)
def test_unsupported_classes_name_the_supported_ones(tmp_path, class_name):
    config = {} if class_name is None else {"_class_name": class_name}
    (tmp_path / "config.json").write_text(json.dumps(config))
    message = error_of(tmp_path)
    assert "cannot open" in message
    assert all(name in message for name in SUPPORTED)


@pytest.mark.parametrize("class_name", ["VQModel", "AutoencoderTiny", "AutoencoderDC"])
def test_pickled_weights_are_refused_for_every_class(tmp_path, class_name):
    folder = save_tiny(tmp_path / "vae", class_name, safetensors=False)
    assert (folder / "diffusion_pytorch_model.bin").is_file()
    assert not list(folder.glob("*.safetensors"))
    assert "never loads" in error_of(folder)


@pytest.mark.parametrize("class_name", SUPPORTED)
def test_size_checks_hold_for_every_class(tmp_path, class_name):
    folder = save_tiny(tmp_path / "vae", class_name)
    file = folder / "config.json"
    config = json.loads(file.read_text())

    key = WIDTH_KEY.get(class_name, "block_out_channels")
    wider = config[key] * 64 if isinstance(config[key], int) else [c * 64 for c in config[key]]
    file.write_text(json.dumps({**config, key: wider}))
    assert "more than its weights" in error_of(folder)

    file.write_text(json.dumps({**config, "sample_size": 10**6}))
    (folder / "explorer.json").unlink(missing_ok=True)
    assert "larger than any video" in error_of(folder)


@pytest.mark.parametrize("class_name", ["VQModel", "AutoencoderTiny"])
def test_encode_command(tmp_path, run_cli, demo_clip, class_name):
    folder = save_tiny(tmp_path / "vae", class_name)
    output = tmp_path / "out.npz"
    result = run_cli("encode", demo_clip, "--model", folder, "--max-frames", "5", "-o", output)
    assert result.returncode == 0, result.stderr
    trajectory = Trajectory.load(output)
    assert trajectory.mu.shape == (5, 4 * 16 * 16) and trajectory.latent_shape == (4, 16, 16)
    assert np.isfinite(trajectory.mu).all()
    assert (trajectory.logvar == NO_LOGVAR).all()


def test_info_names_the_class(tmp_path, run_cli):
    result = run_cli("info", save_tiny(tmp_path / "vq", "VQModel"))
    assert result.returncode == 0, result.stderr
    assert "diffusers VQModel" in result.stdout
    assert "16 entries; decoded through the quantiser" in result.stdout
    assert "none: a plain autoencoder" in result.stdout
