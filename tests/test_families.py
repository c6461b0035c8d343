"""Every family of built-in model trains, saves, opens without pickles, encodes, decodes and
exports the same way."""

import dataclasses

import numpy as np
import pytest
import torch

from explorer.errors import ExplorerError
from explorer.model import guard
from explorer.model.conv_vae import FAMILIES, NO_LOGVAR
from explorer.model.files import read_model_metadata, save_model
from explorer.model.open import open_model
from explorer.model.training import TrainSettings, train_beta_vae
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
    assert meta["architecture"]["family"] == family and meta["architecture"]["version"] == 2
    assert meta["training"]["pca_psnr_db"] > 0 and meta["training"]["epochs_completed"] == 1
    vae = open_model(path, device="cpu")
    frames = frames_of(demo_clip)
    mu, logvar = guard.encode(vae, frames)
    np.testing.assert_array_equal(mu, result.vae.encode(frames)[0])
    assert mu.shape == (6, 8) and np.isfinite(mu).all()
    assert (logvar == NO_LOGVAR).all() == (family != "vae")
    assert guard.decode(vae, mu).shape == (6, 64, 64, 3)
    assert vae.describe().get("deterministic", False) == (family != "vae")


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
    assert (dialog.epochs.value(), dialog.batch_size.value()) == (defaults.epochs,
                                                                  defaults.batch_size)
    dialog.family.setCurrentIndex(dialog.family.findData("vq-vae"))
    assert dialog.settings().family == "vq-vae"
