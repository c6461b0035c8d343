import re
import shutil

import numpy as np
import pytest

from explorer.errors import Cancelled, ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.model.files import load_model
from explorer.paths import demo_model_path
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.encode import Selection, encode_video, encode_with_cache
from explorer.video.reader import open_video
from tests.conftest import MEDIA_FRAME_COUNTS
from tests.factories import make_vae


@pytest.fixture(scope="module")
def vae():
    return make_vae(latent_dim=8, batch_size=16)


def test_every_frame_becomes_one_latent(demo_clip, vae):
    progress = []
    trajectory = encode_video(demo_clip, vae, batch_size=16, on_progress=progress.append)
    assert trajectory.mu.shape == trajectory.logvar.shape == (40, 8)
    np.testing.assert_array_equal(trajectory.frame_index, np.arange(40))
    np.testing.assert_allclose(trajectory.time_s, np.arange(40) / 24.0)
    assert [p.done for p in progress] == [16, 32, 40]
    with open_video(demo_clip) as reader:
        frames = np.stack([frame for _, frame in reader.frames(max_frames=3)])
    np.testing.assert_allclose(trajectory.mu[:3], vae.encode(frames)[0], atol=1e-5)


def test_selection_picks_frames(demo_clip, vae):
    trajectory = encode_video(demo_clip, vae, Selection(start=5, end=30, stride=4, max_frames=5))
    assert list(trajectory.frame_index) == [5, 9, 13, 17, 21]
    with pytest.raises(ExplorerError, match="no frames"):
        encode_video(demo_clip, vae, Selection(start=100))


def test_cancel_stops_between_batches(demo_clip, vae):
    seen = []
    with pytest.raises(Cancelled):
        encode_video(
            demo_clip,
            vae,
            batch_size=8,
            on_progress=seen.append,
            should_stop=lambda: len(seen) >= 2,
        )
    assert len(seen) == 2


def test_cache_hits_for_a_moved_video_and_misses_for_an_edited_one(tmp_path, demo_clip):
    model = demo_model_path()
    vae = load_model(model)
    cache = TrajectoryCache(tmp_path / "cache")
    first, cached = encode_with_cache(demo_clip, model, vae, cache=cache)
    assert not cached and len(list((tmp_path / "cache").iterdir())) == 1
    moved = tmp_path / "renamed.avi"
    shutil.copy(demo_clip, moved)
    again, cached = encode_with_cache(moved, model, vae, cache=cache)
    assert cached
    np.testing.assert_array_equal(again.mu, first.mu)
    assert again.meta["video"]["path"] == str(moved.resolve())
    edited = tmp_path / "edited.avi"
    data = bytearray(demo_clip.read_bytes())
    data[-10] ^= 0xFF
    edited.write_bytes(bytes(data))
    _, cached = encode_with_cache(edited, model, vae, cache=cache)
    assert not cached
    assert first.meta["model"]["sha256"] and first.meta["video"]["fingerprint"]


def test_trajectory_file_round_trip(tmp_path, demo_clip, vae):
    encoded = encode_video(demo_clip, vae)
    trajectory = encoded.with_embedding(encoded.mu[:, :2].copy(), {"kind": "pca"})
    path = trajectory.save(tmp_path / "traj.npz")
    loaded = Trajectory.load(path)
    for name in ("mu", "logvar", "frame_index", "time_s", "embedding"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(trajectory, name))
    assert loaded.meta == trajectory.meta
    assert loaded.mu.dtype == np.float32 and loaded.frame_index.dtype == np.int64


def test_corrupt_trajectory_files_are_errors(tmp_path, demo_clip, vae):
    good = encode_video(demo_clip, vae).save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    text = tmp_path / "text.npz"
    text.write_text("hello")
    for path in (truncated, text):
        with pytest.raises(ExplorerError, match="not a readable trajectory"):
            Trajectory.load(path)


@pytest.mark.parametrize("name", sorted(MEDIA_FRAME_COUNTS))
def test_real_clips_encode_with_the_demo_model(shared_media, name):
    vae = load_model(demo_model_path())
    trajectory = encode_video(shared_media / name, vae, batch_size=64)
    assert len(trajectory) == MEDIA_FRAME_COUNTS[name]
    assert np.isfinite(trajectory.mu).all()


def test_encode_command_writes_a_trajectory(tmp_path, demo_clip, run_cli):
    output = tmp_path / "clip.npz"
    result = run_cli(
        "encode", demo_clip, "--model", demo_model_path(), "-o", output, "--stride", "2"
    )
    assert result.returncode == 0, result.stderr
    assert "20 frames" in result.stdout
    trajectory = Trajectory.load(output)
    assert len(trajectory) == 20 and trajectory.embedding.shape == (20, 2)
    info = run_cli("info", output)
    assert re.search(r"Projection +PCA", info.stdout) and "20 (frames 0–38)" in info.stdout


def test_reconstruction_error_is_measured_per_frame(demo_clip):
    vae = load_model(demo_model_path())
    trajectory = encode_video(demo_clip, vae, Selection(measure_error=True))
    assert trajectory.psnr_db.shape == (40,)
    assert trajectory.psnr_db.min() > 20, "the demo model reconstructs demo frames well"
    noise = make_vae(latent_dim=16)
    noisy = encode_video(demo_clip, noise, Selection(measure_error=True))
    assert noisy.psnr_db.mean() < trajectory.psnr_db.mean() - 5
    assert encode_video(demo_clip, vae).psnr_db is None


def test_float16_trajectories_are_half_the_size_and_load_as_float32(tmp_path):
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((50, 4 * 16 * 16)).astype(np.float32)
    trajectory = Trajectory(mu, mu - 1, np.arange(50), np.arange(50) / 25.0,
                            meta={"latent_shape": [4, 16, 16]})
    full = trajectory.save(tmp_path / "full.npz")
    half = trajectory.save(tmp_path / "half.npz", float16=True)
    loaded = Trajectory.load(half)
    assert loaded.mu.dtype == np.float32 and loaded.latent_shape == (4, 16, 16)
    np.testing.assert_allclose(loaded.mu, mu, rtol=1e-3, atol=1e-3)
    assert half.stat().st_size < 0.55 * full.stat().st_size


def test_encode_command_can_store_a_umap_layout(tmp_path, demo_clip, run_cli):
    output = tmp_path / "umap.npz"
    result = run_cli("encode", demo_clip, "--model", demo_model_path(), "-o", output,
                     "--projection", "umap", timeout=240)
    assert result.returncode == 0, result.stderr
    trajectory = Trajectory.load(output)
    assert trajectory.meta["projection"]["kind"] == "umap"
    assert trajectory.meta["projection"]["seed"] == 0
    pca = trajectory.mu @ np.linalg.svd(trajectory.mu - trajectory.mu.mean(0))[2][:2].T
    assert not np.allclose(np.abs(trajectory.embedding), np.abs(pca), atol=1e-2)
