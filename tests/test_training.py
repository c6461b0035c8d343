import dataclasses

import numpy as np
import pytest
import torch

from explorer.model import training
from explorer.model.baseline import fit_frame_pca, pca_holdout_psnr
from explorer.model.beta_vae import beta_vae_loss
from explorer.model.builtin import builtin_vae
from explorer.model.conv_vae import ConvVAE, ConvVAEConfig
from explorer.model.files import load_model, read_model_metadata, save_model
from explorer.model.training import (
    EpochDone,
    FramesRead,
    StepDone,
    TrainSettings,
    _channels_first,
    default_epochs,
    holdout_psnr,
    one_cycle,
    split_holdout,
    train_beta_vae,
)
from explorer.paths import demo_model_path
from explorer.video.reader import open_video

FAST = TrainSettings(image_size=64, latent_dim=8, epochs=3, batch_size=8, device="cpu")


def weights(result):
    return {k: v.clone() for k, v in result.vae.module.state_dict().items()}


def test_training_lowers_the_loss_and_reports_progress(demo_clip):
    events = []
    result = train_beta_vae(demo_clip, FAST, on_event=events.append)
    epochs = [e for e in events if isinstance(e, EpochDone)]
    steps = [e for e in events if isinstance(e, StepDone)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert any(isinstance(e, FramesRead) and e.count == 40 for e in events)
    assert len(steps) == 3 * steps[0].steps_per_epoch
    assert epochs[-1].loss < epochs[0].loss
    assert np.isfinite(epochs[-1].holdout_psnr)
    assert result.epochs_completed == 3 and not result.stopped_early
    assert result.record["frames"] == 40 and result.record["holdout_frames"] == 4
    assert result.record["source_video"] == demo_clip.name


def fitted_frames(clip, size=64):
    with open_video(clip) as reader:
        return np.stack([frame for _, frame in reader.frames(size=(size, size))])


def test_the_best_held_out_epoch_is_kept_and_scored_beside_pca(demo_clip):
    result = train_beta_vae(demo_clip, FAST)
    record, psnrs = result.record, [e.holdout_psnr for e in result.history]
    best = record["best_epoch"]  # 0: no epoch beat the untrained (PCA) start
    assert record["holdout_psnr_db"] >= max(psnrs)
    assert best == 0 or record["holdout_psnr_db"] == psnrs[best - 1] == max(psnrs)
    assert [e.kept_epoch for e in result.history][-1] == best
    frames = fitted_frames(demo_clip)
    train, held = split_holdout(len(frames))
    kept = holdout_psnr(result.vae.module, frames, held, torch.device("cpu"))
    assert kept == pytest.approx(record["holdout_psnr_db"], abs=1e-4)
    assert record["pca_components"] == 8
    assert record["pca_psnr_db"] == pytest.approx(pca_holdout_psnr(frames, train, held, 8))


def test_pca_baseline_matches_a_direct_svd_and_is_exact_within_its_rank():
    frames = np.random.default_rng(0).integers(0, 256, (60, 8, 8, 3), np.uint8)
    train, held = split_holdout(len(frames))
    data = frames.reshape(60, -1) / 255.0
    mean = data[train].mean(axis=0)
    axes = np.linalg.svd(data[train] - mean, full_matrices=False)[2][:5]
    projected = np.clip((data[held] - mean) @ axes.T @ axes + mean, 0, 1)
    expected = np.mean(10 * np.log10(1 / np.square(projected - data[held]).mean(axis=1)))
    assert pca_holdout_psnr(frames, train, held, 5) == pytest.approx(expected, abs=1e-3)
    few = np.arange(10)  # 10 frames, held out among themselves, need fewer than 16 axes
    assert pca_holdout_psnr(frames[:10], few, few, 16) == pytest.approx(100.0)


@pytest.mark.parametrize("steps", [1, 2, 10, 1500])
def test_the_learning_rate_warms_up_then_decays_for_any_number_of_steps(steps):
    factors = [one_cycle(steps)(step) for step in range(steps + 1)]
    peak = int(np.argmax(factors))
    assert factors[0] == pytest.approx(0.04) and max(factors) == pytest.approx(1.0)
    assert peak == max(1, round(0.1 * steps)) or steps == 1
    assert np.all(np.diff(factors[: peak + 1]) > 0) and np.all(np.diff(factors[peak:]) <= 0)
    assert factors[-1] == pytest.approx(0.0, abs=1e-12) or steps == 1


def test_free_bits_charge_only_the_kl_above_them():
    images = torch.zeros(2, 3, 4, 4)
    mu = torch.tensor([[3.0, 0.1], [3.0, -0.1]])  # KL 4.5 nats and 0.005 nats
    logvar = torch.zeros(2, 2)
    plain = beta_vae_loss(images, images, mu, logvar, beta=1.0)
    free = beta_vae_loss(images, images, mu, logvar, beta=1.0, free_bits=1.0)
    assert plain.kl.item() == pytest.approx(4.505) and free.kl.item() == pytest.approx(4.505)
    assert plain.total.item() == pytest.approx(4.505) and free.total.item() == pytest.approx(5.5)


def test_the_command_line_defaults_are_the_recipe():
    from explorer.cli import build_parser

    args = build_parser().parse_args(["train", "clip.mp4", "-o", "m.safetensors"])
    recipe = TrainSettings()
    assert (args.size, args.latent_dim, args.beta, args.epochs, args.batch_size) == (
        recipe.image_size, recipe.latent_dim, recipe.beta, recipe.epochs, recipe.batch_size)
    assert (args.learning_rate, args.free_bits, args.family, args.device, args.seed) == (
        recipe.learning_rate, recipe.free_bits, recipe.family, recipe.device, recipe.seed)
    assert (args.codebook_size, args.code_dim, args.fit, args.max_frames) == (
        recipe.codebook_size, recipe.code_dim, recipe.fit_mode, recipe.max_frames)


def test_train_prints_and_stores_both_scores(demo_clip, tmp_path, capsys):
    from explorer.cli import main

    output = tmp_path / "model.safetensors"
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(demo_clip), "-o", str(output), "--epochs", "1", "--max-frames", "20",
              "--latent-dim", "4", "--device", "cpu"])
    assert exit_.value.code == 0
    training = read_model_metadata(output)["training"]
    printed = capsys.readouterr().out
    assert (f"held-out PSNR {training['holdout_psnr_db']:.1f} dB, "
            f"PCA-4 {training['pca_psnr_db']:.1f} dB") in printed


def test_models_of_every_architecture_version_open(demo_clip, tmp_path):
    """The shipped demo model is version 1 (the seed's β-VAE), the previous recipe wrote
    version 2 (no linear path), and training writes version 3."""
    frames = fitted_frames(demo_clip)[:8]
    old = load_model(demo_model_path())
    assert old.kind == "β-VAE (built-in)" and "version" not in old.metadata["architecture"]
    assert old.decode(old.encode(frames)[0]).shape == frames.shape
    torch.manual_seed(0)
    second = builtin_vae(ConvVAE(ConvVAEConfig(latent_dim=8)), {}, "cpu")
    reopened = load_model(save_model(second, tmp_path / "v2.safetensors", {}))
    assert reopened.metadata["architecture"]["version"] == 2
    np.testing.assert_array_equal(reopened.encode(frames)[0], second.encode(frames)[0])
    result = train_beta_vae(demo_clip, dataclasses.replace(FAST, epochs=1, max_frames=20))
    path = save_model(result.vae, tmp_path / "new.safetensors", result.record)
    new = load_model(path)
    assert new.metadata["architecture"]["version"] == 3
    assert new.metadata["architecture"]["linear_path"] is True
    np.testing.assert_array_equal(new.encode(frames)[0], result.vae.encode(frames)[0])


def test_training_starts_from_pca_and_never_keeps_worse(demo_clip):
    """Before any step, the version-3 network reconstructs exactly as PCA does, so the kept
    epoch (the best held-out one) is never worse than the baseline by more than noise."""
    frames = fitted_frames(demo_clip)
    train, held = split_holdout(len(frames))
    fit = fit_frame_pca(frames, train, 8)
    module = ConvVAE(FAST.network())
    module.start_from_pca(*_channels_first(fit, 64))
    untrained = holdout_psnr(module, frames, held, torch.device("cpu"))
    assert untrained == pytest.approx(fit.holdout_psnr(frames, held), abs=1e-3)
    latents = module.encode(torch.from_numpy(frames[train]).permute(0, 3, 1, 2).float() / 255)[0]
    assert latents.std(dim=0, correction=0).detach().numpy() == pytest.approx(np.ones(8), rel=1e-3)
    result = train_beta_vae(demo_clip, dataclasses.replace(FAST, epochs=2))
    assert result.record["holdout_psnr_db"] >= result.record["pca_psnr_db"] - 0.05


def test_same_seed_gives_identical_weights_and_another_seed_does_not(demo_clip):
    settings = TrainSettings(
        image_size=64, latent_dim=4, epochs=1, batch_size=8, max_frames=16, device="cpu", seed=3
    )
    first, second = (weights(train_beta_vae(demo_clip, settings)) for _ in range(2))
    other = weights(train_beta_vae(demo_clip, dataclasses.replace(settings, seed=4)))
    assert all((first[k] == second[k]).all() for k in first)
    assert any((first[k] != other[k]).any() for k in first)


def test_interrupt_keeps_the_last_completed_epoch(demo_clip):
    snapshots = {}

    def on_event(event):
        if isinstance(event, EpochDone):
            snapshots[event.epoch] = None
        if isinstance(event, StepDone) and event.epoch == 2 and event.step == 2:
            raise KeyboardInterrupt

    result = train_beta_vae(demo_clip, FAST, on_event=on_event)
    assert result.stopped_early and result.epochs_completed == 1
    assert result.record["epochs_completed"] == 1 and result.record["stopped_early"]


def test_stop_request_ends_training_between_steps(demo_clip):
    seen = []

    def should_stop():
        return any(isinstance(e, StepDone) and (e.epoch, e.step) == (2, 2) for e in seen)

    result = train_beta_vae(demo_clip, FAST, on_event=seen.append, should_stop=should_stop)
    assert result.stopped_early and result.epochs_completed == 1
    assert max(e.step for e in seen if isinstance(e, StepDone) and e.epoch == 2) == 2


def test_holdout_takes_every_tenth_frame():
    train, held = split_holdout(40)
    assert list(held) == [5, 15, 25, 35]
    assert len(train) == 36 and not set(train) & set(held)
    train, held = split_holdout(5)
    assert list(train) == list(held) == [0, 1, 2, 3, 4]


def test_a_video_without_frames_is_an_error(tmp_path):
    from explorer.errors import ExplorerError

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ExplorerError):
        train_beta_vae(empty, FAST)


def test_the_default_length_is_a_budget_of_steps_not_of_epochs(demo_clip, monkeypatch):
    assert default_epochs(225, 16) == 80  # a 250-frame clip less its held-out frames
    assert default_epochs(27, 16) == 600  # a 30-frame GIF
    assert default_epochs(648, 16) == 45  # 30 s at 24 fps: at least 45 epochs
    assert default_epochs(2000, 16) == 22  # a long clip: at most 2,700 steps
    assert default_epochs(1_000_000, 16) == 1
    monkeypatch.setattr(training, "STEP_BUDGET", 6)
    monkeypatch.setattr(training, "MIN_EPOCHS", 1)
    settings = dataclasses.replace(FAST, epochs=None, max_frames=20, batch_size=8)
    result = train_beta_vae(demo_clip, settings)
    assert result.epochs_completed == 2  # 18 training frames: 3 steps an epoch


@pytest.mark.parametrize("frames, grid", [(1, 0), (12, 0), (12, 8)])
def test_a_clip_without_variance_trains_to_its_one_image(tmp_path, frames, grid):
    """One frame, or a black screen: PCA has no axis at all, and the model still trains
    (from the mean image) instead of failing to reshape an empty set of axes."""
    from tests.conftest import write_mjpg

    clip = write_mjpg(tmp_path / "still.avi", [np.zeros((48, 48, 3), np.uint8)] * frames)
    settings = dataclasses.replace(FAST, epochs=1, latent_dim=4 * grid * grid or 8,
                                   latent_grid=grid)
    events = []
    result = train_beta_vae(clip, settings, on_event=events.append)
    assert result.record["pca_psnr_db"] == pytest.approx(100.0)
    assert result.record["holdout_psnr_db"] > 40.0
    # too short to hold frames out: what the figures are scored on is said
    from explorer.commands.train import scores
    from explorer.model.facts import baseline_text
    from explorer.model.training import BaselineReady

    assert not next(e for e in events if isinstance(e, BaselineReady)).held_out
    assert "training-frame PSNR" in scores(result.record)
    assert "too few frames to hold any out" in scores(result.record)
    assert "on the training frames" in baseline_text(result.record)
