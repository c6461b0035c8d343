import numpy as np
import pytest

from explorer.model.training import (
    EpochDone,
    FramesRead,
    StepDone,
    TrainSettings,
    split_holdout,
    train_beta_vae,
)

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


def test_same_seed_gives_identical_weights_and_another_seed_does_not(demo_clip):
    settings = TrainSettings(
        image_size=64, latent_dim=4, epochs=1, batch_size=8, max_frames=16, device="cpu", seed=3
    )
    first, second = (weights(train_beta_vae(demo_clip, settings)) for _ in range(2))
    other = weights(train_beta_vae(demo_clip, TrainSettings(**{**settings.__dict__, "seed": 4})))
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
