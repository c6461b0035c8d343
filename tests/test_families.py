"""Every family of built-in model trains, saves, opens without pickles, encodes, decodes and
exports the same way."""

import dataclasses

import numpy as np
import pytest
import torch
from safetensors import safe_open

from explorer.errors import ExplorerError
from explorer.model import guard
from explorer.model.adversarial import Adversary
from explorer.model.baseline import fit_patch_pca
from explorer.model.builtin import builtin_vae
from explorer.model.conv_vae import FAMILIES, NO_LOGVAR, ConvVAE, ConvVAEConfig
from explorer.model.files import load_model, read_model_metadata, save_model
from explorer.model.open import open_model
from explorer.model.training import TrainSettings, _channels_first, train_beta_vae
from explorer.video.reader import open_video

TINY = TrainSettings(latent_dim=8, epochs=1, batch_size=8, max_frames=20, device="cpu",
                     codebook_size=16, code_dim=4)


@pytest.fixture(scope="module", params=FAMILIES)
def trained(request, demo_clip, tmp_path_factory):
    settings = dataclasses.replace(TINY, family=request.param)
    result = train_beta_vae(demo_clip, settings)
    path = tmp_path_factory.mktemp(request.param) / "model.safetensors"
    save_model(result.vae, path, result.record)
    return request.param, result, path


def frames_of(clip, count=6):
    with open_video(clip) as reader:
        return np.stack([frame for _, frame in reader.frames(max_frames=count)])


def test_a_family_round_trips_through_its_file(trained, demo_clip):
    family, result, path = trained
    meta = read_model_metadata(path)
    assert meta["architecture"]["family"] == family and meta["architecture"]["version"] == 3
    assert meta["training"]["pca_psnr_db"] > 0 and meta["training"]["epochs_completed"] == 1
    vae = open_model(path, device="cpu")
    frames = frames_of(demo_clip)
    mu, logvar = guard.encode(vae, frames)
    np.testing.assert_array_equal(mu, result.vae.encode(frames)[0])
    assert mu.shape == (6, 8) and np.isfinite(mu).all()
    stochastic = family in ("vae", "vae-gan")
    assert (logvar == NO_LOGVAR).all() != stochastic
    assert guard.decode(vae, mu).shape == (6, 64, 64, 3)
    assert vae.describe().get("deterministic", False) != stochastic


@pytest.mark.parametrize("trained", ["vq-vae"], indirect=True)
def test_a_vq_vae_snaps_to_its_codebook_unless_told_not_to(trained, demo_clip):
    _, _, path = trained
    vae = open_model(path, device="cpu")
    mu, _ = vae.encode(frames_of(demo_clip))
    used = guard.codes_used(vae, mu)
    assert 1 <= used <= 16 and vae.describe()["codebook_size"] == 16
    snapped = vae.decode(mu)
    codebook = vae.module.codebook.embedding.detach().numpy()
    nearest = codebook[vae.module.codebook.nearest(torch.from_numpy(mu))]
    np.testing.assert_array_equal(vae.decode(nearest.reshape(mu.shape)), snapped)
    vae.quantize = False
    assert not vae.describe()["quantize"]
    assert not np.array_equal(vae.decode(mu), snapped)


def test_a_family_exports_a_clip(trained, demo_clip, run_cli, tmp_path):
    _, _, path = trained
    result = run_cli("export", "--model", path, "--video", demo_clip, "--keyframes", "0,10",
                     "--steps", "4", "--size", "64", "-o", f"{tmp_path}/clip/")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "clip").glob("*.png"))) == 4


def test_a_code_size_that_does_not_divide_the_latents_is_one_line():
    settings = dataclasses.replace(TINY, family="vq-vae", code_dim=3)
    with pytest.raises(ExplorerError, match="must divide the latent size"):
        settings.network()


def test_the_training_window_offers_the_families_with_the_recipes_defaults(qtbot, tmp_path):
    from explorer.model.training import TrainSettings
    from explorer.ui.train_dialog import TrainDialog
    from explorer.ui.worker import InferenceWorker

    dialog = TrainDialog(InferenceWorker(), tmp_path / "clip.mp4", tmp_path)
    qtbot.addWidget(dialog)
    defaults = TrainSettings()
    assert (dialog.settings().epochs, dialog.batch_size.value()) == (defaults.epochs,
                                                                     defaults.batch_size)
    dialog.family.setCurrentIndex(dialog.family.findData("vq-vae"))
    assert dialog.settings().family == "vq-vae"


@pytest.mark.parametrize("trained", ["vae-gan"], indirect=True)
def test_a_vae_gan_file_holds_the_autoencoder_only(trained):
    _, result, path = trained
    names = set(safe_open(str(path), "pt").keys())
    assert names == set(result.vae.module.state_dict())
    assert not any("critic" in name for name in names)


def test_the_adversarial_term_waits_then_ramps_up():
    adversary = Adversary(total_steps=100, device=torch.device("cpu"))
    assert [adversary.ramp_factor(step) for step in (0, 49, 50, 55, 60, 99)] == [
        0.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    images = torch.rand(4, 3, 64, 64, requires_grad=True)
    layer = torch.nn.Parameter(torch.ones(1))
    reconstruction = images * layer
    loss = reconstruction.pow(2).sum()
    assert adversary.generator_loss(loss, reconstruction, layer, step=10).item() == 0.0
    assert adversary.generator_loss(loss, reconstruction, layer, step=80).requires_grad


def test_the_critic_learns_to_tell_frames_from_blurred_ones(demo_clip):
    """The discriminator's hinge steps separate real frames from box-blurred copies: what
    pushes a VAE-GAN's decoder towards sharp frames."""
    torch.manual_seed(0)
    frames = torch.from_numpy(frames_of(demo_clip, 16)).permute(0, 3, 1, 2).float() / 255
    blurred = torch.nn.functional.avg_pool2d(frames, 5, stride=1, padding=2)
    adversary = Adversary(total_steps=2, device=torch.device("cpu"))
    for _ in range(60):
        adversary.critic_step(frames, blurred, step=1)
    with torch.no_grad():
        assert adversary.critic(frames).mean() > adversary.critic(blurred).mean() + 0.5


def test_spatial_latents_train_save_open_encode_and_export(demo_clip, tmp_path, run_cli):
    """``--latent-shape 4x8x8``: image-shaped latents through the file, encode and export."""
    path = tmp_path / "spatial.safetensors"
    trained = run_cli("train", demo_clip, "-o", path, "--latent-shape", "4x8x8", "--epochs",
                      "1", "--max-frames", "20", "--batch-size", "8", "--device", "cpu")
    assert trained.returncode == 0, trained.stderr
    assert "4×8×8 latents" in trained.stdout
    vae = open_model(path, device="cpu")
    assert vae.latent_shape == (4, 8, 8)
    architecture = read_model_metadata(path)["architecture"]
    assert architecture["latent_grid"] == 8 and architecture["linear_path"] is True
    mu, logvar = guard.encode(vae, frames_of(demo_clip))
    assert mu.shape == logvar.shape == (6, 4, 8, 8)
    assert guard.decode(vae, mu).shape == (6, 64, 64, 3)
    encoded = run_cli("encode", demo_clip, "--model", path, "-o", tmp_path / "t.npz",
                      "--max-frames", "12")
    assert encoded.returncode == 0, encoded.stderr
    exported = run_cli("export", "--model", path, "--video", demo_clip, "--keyframes", "0,10",
                       "--steps", "3", "--size", "64", "-o", f"{tmp_path}/clip/")
    assert exported.returncode == 0, exported.stderr
    assert len(list((tmp_path / "clip").glob("*.png"))) == 3


def test_spatial_latents_start_as_pca_of_the_frames_patches(demo_clip):
    """The untrained spatial network reconstructs each 8-pixel patch of a frame as PCA of the
    training frames' patches does, with each latent channel one component."""
    frames = frames_of(demo_clip, 40)
    train = np.arange(0, 40, 2)
    config = dataclasses.replace(TINY, latent_dim=4 * 8 * 8, latent_grid=8).network()
    fit = fit_patch_pca(frames, train, 8, 4)
    module = ConvVAE(config)
    module.start_from_pca(*_channels_first(fit, 8))
    held = frames[1::2]
    images = torch.from_numpy(held).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        mu, _ = module.encode(images)
        decoded = module.decode(mu).permute(0, 2, 3, 1).numpy()
    tiles = held.reshape(20, 8, 8, 8, 8, 3).transpose(0, 1, 3, 2, 4, 5).reshape(-1, 192) / 255
    projected = (tiles - fit.mean) @ fit.axes.T @ fit.axes + fit.mean
    expected = projected.reshape(20, 8, 8, 8, 8, 3).transpose(0, 1, 3, 2, 4, 5)
    np.testing.assert_allclose(decoded, np.clip(expected.reshape(20, 64, 64, 3), 0, 1),
                               atol=1e-4)
    assert mu.shape == (20, 4, 8, 8)
    assert mu[:, 0].std() == pytest.approx(1.0, rel=0.3)  # whitened, as vector latents are


def test_patch_pca_matches_a_direct_svd_of_the_tiles():
    frames = np.random.default_rng(1).integers(0, 256, (12, 8, 8, 3), np.uint8)
    fit = fit_patch_pca(frames, np.arange(12), 4, 3)
    tiles = frames.reshape(12, 2, 4, 2, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(48, 48) / 255
    mean = tiles.mean(axis=0)
    _, singular, axes = np.linalg.svd(tiles - mean, full_matrices=False)
    np.testing.assert_allclose(fit.mean, mean, atol=1e-6)
    np.testing.assert_allclose(np.abs(fit.axes @ axes[:3].T), np.eye(3), atol=1e-4)
    np.testing.assert_allclose(fit.spreads, singular[:3] / np.sqrt(48), rtol=1e-4)


def test_spatial_files_without_a_linear_path_still_open(tmp_path, demo_clip):
    """Spatial models trained before the patch path (version 3, no linear path) open."""
    config = ConvVAEConfig(latent_dim=4 * 8 * 8, latent_grid=8)
    older = builtin_vae(ConvVAE(config), {}, "cpu")
    reopened = load_model(save_model(older, tmp_path / "older.safetensors", {}))
    assert reopened.metadata["architecture"]["linear_path"] is False
    frames = frames_of(demo_clip, 2)
    np.testing.assert_array_equal(reopened.encode(frames)[0], older.encode(frames)[0])


@pytest.mark.parametrize(("shape", "message"), [
    ("4x16", "expected CxHxW"), ("4x8x16", "must be square"), ("64x16x16", "at most 4,096"),
])
def test_a_bad_latent_shape_is_one_line(shape, message, run_cli, demo_clip, tmp_path):
    result = run_cli("train", demo_clip, "-o", tmp_path / "m.safetensors",
                     "--latent-shape", shape)
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"latent_dim": 4 * 12 * 12, "latent_grid": 12}, "power of two"),
    ({"latent_dim": 64 * 64, "latent_grid": 64}, "power of two from 4 to 32"),
    ({"latent_dim": 100, "latent_grid": 8}, "do not fill"),
    ({"latent_dim": 256, "latent_grid": 8, "family": "vq-vae"}, "spatial latents are for"),
])
def test_spatial_latents_that_do_not_fit_the_network_are_refused(changes, message):
    with pytest.raises(ExplorerError, match=message):
        dataclasses.replace(TINY, **changes).network()
