"""diffusers video autoencoders: latent steps that each stand for several frames.

Every model here is a tiny randomly initialised one, saved with ``save_pretrained`` into a
temporary folder (nothing is downloaded), at 32 × 32 px so each test takes seconds on a CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.demo import demo_frames
from explorer.errors import ExplorerError, ModelFileError
from explorer.model.diffusers_video import VIDEO_CLASSES, load_diffusers_video_vae
from explorer.model.video_vae.rule import FrameRule
from tests.factories import random_frames

diffusers = pytest.importorskip("diffusers")

WAN = {"base_dim": 8, "z_dim": 4, "dim_mult": [1, 1, 1], "num_res_blocks": 1,
       "temperal_downsample": [True, True], "latents_mean": [0.0] * 4, "latents_std": [1.0] * 4}
WAN_2_2 = {**WAN, "is_residual": True, "patch_size": 2, "in_channels": 12, "out_channels": 12}
COGVIDEOX = {"block_out_channels": (8, 8, 8), "down_block_types": ("CogVideoXDownBlock3D",) * 3,
             "up_block_types": ("CogVideoXUpBlock3D",) * 3, "latent_channels": 4,
             "layers_per_block": 1, "norm_num_groups": 4, "sample_height": 32, "sample_width": 32}
LTX = {"latent_channels": 4, "block_out_channels": (8,) * 4, "decoder_block_out_channels": (8,) * 4,
       "layers_per_block": (1,) * 5, "decoder_layers_per_block": (1,) * 5,
       "spatio_temporal_scaling": (True, True, True, False),
       "decoder_spatio_temporal_scaling": (True, True, True, False),
       "decoder_inject_noise": (False,) * 5, "upsample_residual": (False,) * 4,
       "upsample_factor": (1,) * 4, "patch_size": 1}
HUNYUAN = {"latent_channels": 4, "block_out_channels": (8,) * 4,
           "down_block_types": ("HunyuanVideoDownBlock3D",) * 4,
           "up_block_types": ("HunyuanVideoUpBlock3D",) * 4, "layers_per_block": 1,
           "norm_num_groups": 4}
MOCHI = {"encoder_block_out_channels": (32,) * 4, "decoder_block_out_channels": (32,) * 4,
         "latent_channels": 4, "layers_per_block": (1,) * 5, "latents_mean": [0.0] * 4,
         "latents_std": [1.0] * 4}  # its group norms have 32 groups
COSMOS = {"latent_channels": 4, "encoder_block_out_channels": (8,) * 4,
          "decode_block_out_channels": (8,) * 4, "attention_resolutions": (), "resolution": 32,
          "num_layers": 1, "patch_size": 4, "latents_mean": None, "latents_std": None}
SVD = {"block_out_channels": (32, 32), "down_block_types": ("DownEncoderBlock2D",) * 2,
       "latent_channels": 4, "layers_per_block": 1}
ALLEGRO = {"block_out_channels": (8,) * 3, "down_block_types": ("AllegroDownBlock3D",) * 3,
           "up_block_types": ("AllegroUpBlock3D",) * 3,
           "temporal_downsample_blocks": (True, True, False),
           "temporal_upsample_blocks": (False, True, True), "latent_channels": 4,
           "layers_per_block": 1, "norm_num_groups": 4, "sample_size": 32}  # tiles: 1 spatial

FIRST_THEN_4 = [[0, 0], [1, 4], [5, 8], [9, 12], [13, 16]]
EACH_4 = [[0, 3], [4, 7], [8, 11], [12, 15], [16, 19], [20, 23]]


def save(folder: Path, class_name: str, config: dict, **buffers: list[float]) -> Path:
    """A tiny ``class_name`` with seeded random weights, saved into ``folder``."""
    torch.manual_seed(0)
    model = getattr(diffusers, class_name)(**config)
    for name, values in buffers.items():
        getattr(model, name).copy_(torch.tensor(values))
    model.save_pretrained(folder)
    return folder


def clip(frames: int) -> np.ndarray:
    return np.stack(list(demo_frames(frames, 32)))


def open_at_32(folder: Path, **options):
    return load_diffusers_video_vae(folder, "cpu", frame_size=32, **options)


def error_of(folder: Path) -> str:
    with pytest.raises(ModelFileError) as caught:
        open_at_32(folder)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def test_wan_encodes_17_frames_into_5_steps_and_decodes_17(tmp_path):
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    assert vae.latent_shape == (4, 8, 8) and vae.frame_size == (32, 32)
    assert vae.temporal_stride == 4 and vae.causal_first_frame
    assert vae.steps_for(17) == 5 and vae.frames_for(5) == 17
    assert vae.step_frames(17).tolist() == FIRST_THEN_4

    mu, logvar = vae.encode_clip(clip(17))
    assert mu.shape == logvar.shape == (5, 4, 8, 8)
    assert mu.dtype == logvar.dtype == np.float32
    assert np.isfinite(mu).all() and np.isfinite(logvar).all()
    frames = vae.decode_steps(mu)
    assert frames.shape == (17, 32, 32, 3) and frames.dtype == np.uint8

    described = vae.describe()
    assert described["kind"] == "diffusers AutoencoderKLWan"
    assert described["temporal_stride"] == 4 and described["causal_first_frame"] is True
    assert described["frame_rule"].startswith("1 + 4k frames")
    assert described["parameters"] == sum(p.numel() for p in vae.module.parameters()) > 0


@pytest.mark.parametrize(
    ("class_name", "config", "frames", "step_frames"),
    [
        ("AutoencoderKLWan", WAN_2_2, 9, FIRST_THEN_4[:3]),  # 2 × 2 patches, spatial 8
        ("AutoencoderKLCogVideoX", COGVIDEOX, 17, FIRST_THEN_4),
        ("AutoencoderKLCogVideoX", COGVIDEOX, 13, FIRST_THEN_4[:4]),  # an even step count
        ("AutoencoderKLLTXVideo", LTX, 17, [[0, 0], [1, 8], [9, 16]]),
        ("AutoencoderKLLTXVideo", {**LTX, "timestep_conditioning": True}, 9, [[0, 0], [1, 8]]),
        ("AutoencoderKLHunyuanVideo", HUNYUAN, 17, FIRST_THEN_4),
        ("AutoencoderKLMochi", MOCHI, 13, [[0, 0], [1, 6], [7, 12]]),
        ("AutoencoderKLCosmos", COSMOS, 17, [[0, 0], [1, 8], [9, 16]]),
        ("AutoencoderKLTemporalDecoder", SVD, 3, [[0, 0], [1, 1], [2, 2]]),
        ("AutoencoderKLAllegro", ALLEGRO, 24, EACH_4),  # one 24-frame tile
    ],
)
def test_each_class_follows_its_frame_rule(tmp_path, class_name, config, frames, step_frames):
    vae = open_at_32(save(tmp_path / "vae", class_name, config))
    assert vae.step_frames(frames).tolist() == step_frames
    mu, logvar = vae.encode_clip(clip(frames))
    assert mu.shape == logvar.shape == (len(step_frames), *vae.latent_shape)
    assert np.isfinite(mu).all() and np.isfinite(logvar).all()
    decoded = vae.decode_steps(mu)
    assert decoded.shape == (frames, 32, 32, 3)  # each of these lengths fits its rule


def test_a_clip_that_does_not_fit_is_padded_with_its_last_frame(tmp_path):
    vae = open_at_32(save(tmp_path / "ltx", "AutoencoderKLLTXVideo", LTX))
    frames = clip(12)  # 1 + 8k frames fit: 12 is padded to 17
    assert vae.steps_for(12) == 3
    assert vae.step_frames(12).tolist() == [[0, 0], [1, 8], [9, 11]]
    mu, _ = vae.encode_clip(frames)
    padded = np.concatenate([frames, np.repeat(frames[-1:], 5, axis=0)])
    np.testing.assert_array_equal(mu, vae.encode_clip(padded)[0])
    assert not np.array_equal(mu, vae.encode_clip(np.concatenate([frames, frames[:5]]))[0])
    assert vae.decode_steps(mu).shape == (17, 32, 32, 3)


def test_allegro_pads_clips_to_whole_tiles_and_keeps_the_steps_of_real_frames(tmp_path):
    """Its tiles are 24 frames, 16 apart: a clip is padded with its last frame to
    24 + 16k frames, the steps past its 4k-frame rule dropped, and latents are padded with
    their last step to 6 + 4k steps to decode."""
    vae = open_at_32(save(tmp_path / "allegro", "AutoencoderKLAllegro", ALLEGRO))
    assert vae.temporal_stride == 4 and not vae.causal_first_frame
    assert [vae.steps_for(n) for n in (17, 24, 25, 48)] == [5, 6, 7, 12]
    assert vae.step_frames(17).tolist() == [*EACH_4[:4], [16, 16]]
    assert vae.frames_for(vae.window_steps + 1) == 88  # a window and its context: 5 tiles

    for frames, covered in ((17, 24), (25, 40)):  # 1 and 2 temporal tiles
        real = clip(frames)
        mu, logvar = vae.encode_clip(real)
        whole = np.concatenate([real, np.repeat(real[-1:], covered - frames, axis=0)])
        whole_mu, whole_logvar = vae.encode_clip(whole)
        assert len(mu) == vae.steps_for(frames) and len(whole_mu) == covered // 4
        np.testing.assert_array_equal(mu, whole_mu[: len(mu)])
        np.testing.assert_array_equal(logvar, whole_logvar[: len(mu)])

    decoded = vae.decode_steps(mu)  # 7 steps decoded as 10: 2 tiles of 6 steps, 4 apart
    assert decoded.shape == (28, 32, 32, 3)
    repeated = np.concatenate([mu, np.repeat(mu[-1:], 3, axis=0)])
    np.testing.assert_array_equal(decoded, vae.decode_steps(repeated)[:28])


def test_allegro_frames_are_fitted_to_whole_tiles(tmp_path):
    small = save(tmp_path / "small", "AutoencoderKLAllegro", ALLEGRO)
    for asked in (16, [50, 70]):  # its 32 px tiles cannot step: one tile, whatever is asked
        assert load_diffusers_video_vae(small, "cpu", frame_size=asked).frame_size == (32, 32)
    # 128 px tiles step 8 px down and 48 across: 144 = 128 + 2 × 8, 176 = 128 + 48.
    large = save(tmp_path / "large", "AutoencoderKLAllegro", {**ALLEGRO, "sample_size": 128})
    vae = load_diffusers_video_vae(large, "cpu", frame_size=[150, 200])
    assert vae.frame_size == (144, 176) and vae.latent_shape == (4, 36, 44)
    assert load_diffusers_video_vae(large, "cpu").frame_size == (128, 128)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({**ALLEGRO, "temporal_compression_ratio": 2}, "temporal_compression_ratio is 2"),
        ({**ALLEGRO, "temporal_upsample_blocks": (False, False, True)}, "its decoder 2×"),
        ({**ALLEGRO, "sample_size": 30}, "sample_size 30 is not a multiple of its 4×"),
        ({**ALLEGRO, "sample_size": 120}, "leaves its tiles no room"),
    ],
)
def test_allegro_configs_its_tiles_cannot_follow_are_refused(tmp_path, config, expected):
    assert expected in error_of(save(tmp_path / "allegro", "AutoencoderKLAllegro", config))


def test_frames_of_another_size_are_fitted(tmp_path):
    vae = load_diffusers_video_vae(save(tmp_path / "wan", "AutoencoderKLWan", WAN), "cpu",
                                   frame_size=[50, 70])
    assert vae.frame_size == (48, 68) and vae.latent_shape == (4, 12, 17)  # multiples of 4
    mu, _ = vae.encode_clip(random_frames(5, 40, 90))
    assert mu.shape == (2, 4, 12, 17)
    assert vae.decode_steps(mu).shape == (5, 48, 68, 3)


@pytest.mark.parametrize(
    ("class_name", "plain", "scaled", "mean", "std", "scale"),
    [
        ("AutoencoderKLWan", WAN, {**WAN, "latents_mean": [0.5, -0.25, 1.0, 0.0],
                                   "latents_std": [2.0, 0.5, 1.0, 4.0]},
         [0.5, -0.25, 1.0, 0.0], [2.0, 0.5, 1.0, 4.0], 1.0),
        ("AutoencoderKLCogVideoX", {**COGVIDEOX, "scaling_factor": 1.0},
         {**COGVIDEOX, "scaling_factor": 0.5}, 0.0, 1.0, 0.5),
        ("AutoencoderKLHunyuanVideo", {**HUNYUAN, "scaling_factor": 1.0},
         {**HUNYUAN, "scaling_factor": 2.0}, 0.0, 1.0, 2.0),
    ],
)
def test_latent_statistics_apply_symmetrically(
    tmp_path, class_name, plain, scaled, mean, std, scale
):
    assert_symmetric(open_at_32(save(tmp_path / "plain", class_name, plain)),
                     open_at_32(save(tmp_path / "scaled", class_name, scaled)), mean, std, scale)


def test_ltx_statistics_come_from_its_weights(tmp_path):
    mean, std = [0.5, -0.25, 1.0, 0.0], [2.0, 0.5, 1.0, 4.0]
    plain = open_at_32(save(tmp_path / "plain", "AutoencoderKLLTXVideo", LTX))
    normalised = open_at_32(save(tmp_path / "scaled", "AutoencoderKLLTXVideo",
                                 {**LTX, "scaling_factor": 0.5},
                                 latents_mean=mean, latents_std=std))
    assert_symmetric(plain, normalised, mean, std, 0.5)


def assert_symmetric(plain, normalised, mean, std, scale) -> None:
    """Latents are the plain ones normalised, and decode to the plain model's frames."""
    frames = clip(9)
    mu, logvar = plain.encode_clip(frames)
    scaled_mu, scaled_logvar = normalised.encode_clip(frames)
    channel = (-1, 1, 1)
    mean, std = np.reshape(mean, channel), np.reshape(std, channel)
    np.testing.assert_allclose(scaled_mu, (mu - mean) / std * scale, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scaled_logvar, logvar + 2 * np.log(scale / std),
                               rtol=1e-4, atol=1e-4)
    difference = normalised.decode_steps(scaled_mu).astype(int) - plain.decode_steps(mu)
    assert np.abs(difference).max() <= 1


def test_cosmos_is_deterministic(tmp_path):
    vae = open_at_32(save(tmp_path / "cosmos", "AutoencoderKLCosmos", COSMOS))
    _, logvar = vae.encode_clip(clip(9))
    assert vae.describe()["deterministic"] is True
    assert np.all(logvar == -30.0)


def test_temporal_tiling_keeps_the_frame_rule(tmp_path):
    """LTX-Video tiles clips longer than 16 frames in time (and 2 latent steps to decode)."""
    vae = open_at_32(save(tmp_path / "ltx", "AutoencoderKLLTXVideo", LTX), tiling=True)
    assert vae.describe()["tiling"] is True
    mu, _ = vae.encode_clip(clip(33))
    assert mu.shape == (5, 4, 4, 4) and np.isfinite(mu).all()
    assert vae.decode_steps(mu).shape == (33, 32, 32, 3)


def test_empty_and_malformed_inputs(tmp_path):
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    mu, logvar = vae.encode_clip(np.zeros((0, 32, 32, 3), np.uint8))
    assert mu.shape == logvar.shape == (0, 4, 8, 8)
    assert vae.decode_steps(mu).shape == (0, 32, 32, 3)
    with pytest.raises(ExplorerError, match="uint8"):
        vae.encode_clip(clip(5).astype(np.float32))
    with pytest.raises(ExplorerError, match="expects"):
        vae.decode_steps(np.zeros((2, 4, 8, 9), np.float32))


def test_a_misread_config_fails_in_one_line(tmp_path, monkeypatch):
    vae = open_at_32(save(tmp_path / "wan", "AutoencoderKLWan", WAN))
    monkeypatch.setattr(vae, "rule", FrameRule(8, causal_first=True))
    with pytest.raises(ExplorerError, match="is not supported") as caught:
        vae.encode_clip(clip(17))
    assert "\n" not in str(caught.value)


def test_wan_that_does_not_compress_time_by_4_is_refused(tmp_path):
    config = {**WAN, "temperal_downsample": [False, True]}
    message = error_of(save(tmp_path / "wan", "AutoencoderKLWan", config))
    assert "compresses time 2×" in message


def test_pickled_weights_are_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"_class_name": "AutoencoderKLWan"}')
    (tmp_path / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x02")
    assert "never loads" in error_of(tmp_path)


def test_unknown_classes_name_the_supported_ones(tmp_path):
    (tmp_path / "config.json").write_text('{"_class_name": "UNet2DConditionModel"}')
    message = error_of(tmp_path)
    assert "UNet2DConditionModel" in message
    assert all(name in message for name in VIDEO_CLASSES)
    (tmp_path / "config.json").write_text('{"_class_name": ["AutoencoderKLWan"]}')
    assert "no model class" in error_of(tmp_path)


def test_a_config_larger_than_its_weights_is_refused(tmp_path):
    folder = save(tmp_path / "wan", "AutoencoderKLWan", WAN)
    (folder / "config.json").write_text(
        '{"_class_name": "AutoencoderKLWan", "base_dim": 4096, "z_dim": 4}'
    )
    assert "more than its weights" in error_of(folder)


@pytest.mark.parametrize("rule", [FrameRule(4, True), FrameRule(8, True), FrameRule(1, False),
                                  FrameRule(3, False)])
@pytest.mark.parametrize("frames", [1, 2, 17, 30, 33])
@pytest.mark.parametrize(("steps", "context"), [(1, 0), (3, 0), (3, 2), (4, 9)])
def test_windows_line_up_with_the_whole_video(rule, frames, steps, context):
    """Each step of the video is kept from exactly one window, where it covers the same
    frames as in the whole video."""
    whole = rule.step_frames(frames)
    kept = []
    for window in rule.windows(frames, steps, context):
        assert 0 <= window.start < window.stop <= frames
        covered = rule.step_frames(window.stop - window.start)[window.skip:] + window.start
        assert len(covered) == min(steps, len(whole) - window.first_step)
        np.testing.assert_array_equal(covered, whole[window.first_step:][: len(covered)])
        kept.extend(range(window.first_step, window.first_step + len(covered)))
    assert kept == list(range(len(whole)))
