"""Two models on one video: Procrustes alignment, each frame's PSNR under both, and
``explorer compare`` end to end (figure, table, bad input)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from explorer.analysis.compare import (
    difference_image,
    frame_psnr,
    paired_maps,
    procrustes_align,
    sample_lines,
)
from explorer.demo import demo_frames
from explorer.model.files import save_model
from explorer.model.open import open_model
from explorer.pipeline.encode import Selection, encode_video
from tests.conftest import write_mjpg
from tests.factories import make_vae
from tests.test_analysis_cli import one_line_error

FRAMES = 18


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A tiny clip, and two random-weight models of different frame and latent sizes."""
    folder = tmp_path_factory.mktemp("compare")
    return {
        "clip": write_mjpg(folder / "clip.avi", demo_frames(FRAMES, 64)),
        "a": save_model(make_vae(size=64, latent_dim=4), folder / "small.safetensors", {}),
        "b": save_model(make_vae(size=128, latent_dim=8), folder / "large.safetensors", {}),
    }


def _own_psnr(clip: Path, model: Path) -> np.ndarray:
    """The model's per-frame PSNR as encoding alone measures it."""
    trajectory = encode_video(clip, open_model(model, device="cpu"),
                              Selection(measure_error=True))
    return trajectory.psnr_db


def read_table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --- the core -------------------------------------------------------------------------


def test_procrustes_recovers_a_turned_mirrored_scaled_and_shifted_copy():
    points = np.random.default_rng(3).standard_normal((40, 2)).astype(np.float32)
    angle = 1.1
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    mirrored = (points @ turn @ np.diag([1.0, -1.0])) * 3.5 + np.array([7.0, -2.0])
    assert not np.allclose(mirrored, points, atol=0.1)
    np.testing.assert_allclose(procrustes_align(points, mirrored), points, atol=1e-4)


def test_maps_are_aligned_only_when_both_are_pca_of_the_same_rows():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((10, 2)).astype(np.float32)
    b = a[:, ::-1] * -2.0
    pair = paired_maps(a, "pca", b, "pca")
    assert pair.aligned and "Procrustes" in pair.note
    np.testing.assert_allclose(pair.b, a, atol=1e-4)
    np.testing.assert_array_equal(pair.a, a)
    umap = paired_maps(a, "umap", b, "pca")
    assert not umap.aligned and "UMAP" in umap.note
    np.testing.assert_array_equal(umap.b, b)
    rows = paired_maps(a, "pca", b[:7], "pca")
    assert not rows.aligned and "10 and 7 rows" in rows.note


def test_frame_psnr_holds_each_models_own_psnr(files):
    vae_a, vae_b = (open_model(files[key], device="cpu") for key in ("a", "b"))
    a = encode_video(files["clip"], vae_a, Selection(measure_error=True))
    b = encode_video(files["clip"], vae_b, Selection(measure_error=True))
    table = frame_psnr(a, b)
    assert len(table) == FRAMES
    np.testing.assert_array_equal(table.frame, np.arange(FRAMES))
    np.testing.assert_allclose(table.psnr_a, a.psnr_db, rtol=1e-6)
    np.testing.assert_allclose(table.psnr_b, b.psnr_db, rtol=1e-6)
    assert not np.allclose(table.psnr_a, table.psnr_b)
    shorter = encode_video(files["clip"], vae_b, Selection(end=10, measure_error=True))
    part = frame_psnr(a, shorter)
    assert np.isnan(part.psnr_b[10:]).all() and (part.row_b[10:] == -1).all()
    np.testing.assert_allclose(part.psnr_b[:10], shorter.psnr_db, rtol=1e-6)


def test_difference_image_is_the_absolute_difference_at_the_first_size():
    a = np.zeros((8, 8, 3), np.uint8)
    b = np.full((16, 16, 3), 64, np.uint8)
    difference = difference_image(a, b)
    assert difference.shape == (8, 8, 3)
    assert (difference == 127).all()  # 64 levels of the 128 that show at full brightness
    assert (difference_image(a, a) == 0).all()


def test_samples_are_evenly_spaced_with_both_ends():
    assert sample_lines(18, 5) == [0, 4, 8, 13, 17]
    assert sample_lines(3, 5) == [0, 1, 2]
    assert sample_lines(0) == []


# --- explorer compare -------------------------------------------------------------------


def test_compare_writes_the_figure_and_each_models_psnr(files, tmp_path, run_cli):
    report = tmp_path / "report.png"
    result = run_cli("compare", files["clip"], "--model", files["a"], "--model", files["b"],
                     "-o", report, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "aligned to the first by Procrustes" in result.stdout
    image = cv2.imread(str(report))
    assert image is not None and image.shape[1] == 1480 and image.shape[0] > 800
    # the two curves are drawn in their colours (BGR here)
    assert (np.abs(image.astype(int) - (230, 110, 40)).sum(axis=2) < 30).sum() > 500
    assert (np.abs(image.astype(int) - (20, 120, 235)).sum(axis=2) < 30).sum() > 500
    rows = read_table(tmp_path / "report.csv")
    assert list(rows[0]) == ["frame", "time", "psnr_a", "psnr_b"]
    assert [int(row["frame"]) for row in rows] == list(range(FRAMES))
    for column, model in (("psnr_a", files["a"]), ("psnr_b", files["b"])):
        written = np.array([float(row[column]) for row in rows])
        np.testing.assert_allclose(written, _own_psnr(files["clip"], model), atol=1e-3)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.csv", "report.png"]


def test_compare_writes_the_table_where_asked(files, tmp_path, run_cli):
    table = tmp_path / "tables" / "psnr.csv"
    table.parent.mkdir()
    result = run_cli("compare", files["clip"], "--model", files["a"], "--model", files["a"],
                     "-o", tmp_path / "same.png", "--csv", table, "--samples", "2",
                     timeout=300)
    assert result.returncode == 0, result.stderr
    rows = read_table(table)
    assert len(rows) == FRAMES and all(row["psnr_a"] == row["psnr_b"] for row in rows)
    assert not (tmp_path / "same.csv").exists()


def test_compare_gives_a_video_autoencoders_frames_their_steps_psnr(files, wan_folder,
                                                                     tmp_path, run_cli):
    from explorer.analysis.table import frame_lines

    result = run_cli("compare", files["clip"], "--model", files["a"], "--model", wan_folder,
                     "-o", tmp_path / "report.png", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "aligned to the first by Procrustes" in result.stdout  # on the frames both cover
    steps = encode_video(files["clip"], open_model(wan_folder, device="cpu"),
                         Selection(measure_error=True))
    lines = frame_lines(steps)
    rows = read_table(tmp_path / "report.csv")
    assert [int(row["frame"]) for row in rows] == list(range(FRAMES))
    written = np.array([float(row["psnr_b"]) for row in rows])
    np.testing.assert_allclose(written, steps.psnr_db[lines.row], atol=1e-3)
    assert len(set(written.tolist())) <= len(steps) < FRAMES


@pytest.mark.parametrize("case", ["missing model", "one model", "code model", "no folder",
                                  "not png", "unreadable video"])
def test_compare_refuses_bad_input_in_one_line_and_writes_nothing(case, files, tmp_path,
                                                                  run_cli):
    video, models, output = files["clip"], [files["a"], files["b"]], tmp_path / "report.png"
    fragment = {"missing model": "not found", "one model": "exactly twice",
                "code model": "--trust-code", "no folder": "does not exist",
                "not png": ".png", "unreadable video": "broken.mp4"}[case]
    if case == "missing model":
        models[1] = tmp_path / "gone.safetensors"
    elif case == "one model":
        models = models[:1]
    elif case == "code model":
        models[1] = "tests.factories:make_vae"  # a plugin: code, and not trusted
    elif case == "no folder":
        output = tmp_path / "missing" / "report.png"
    elif case == "not png":
        output = tmp_path / "report.jpg"
    else:
        video = tmp_path / "broken.mp4"
        video.write_bytes(b"not a video at all" * 100)
    before = sorted(tmp_path.iterdir())
    options = [part for model in models for part in ("--model", model)]
    result = run_cli("compare", video, *options, "-o", output, timeout=300)
    one_line_error(result, 1, fragment)
    assert sorted(tmp_path.iterdir()) == before


# --- the window's comparison state (Qt-free) --------------------------------------------


def _trajectory(frames: np.ndarray, width: int = 3, seed: int = 0):
    from explorer.latent.trajectory import Trajectory

    mu = np.random.default_rng(seed).standard_normal((len(frames), width)).astype(np.float32)
    return Trajectory(mu, mu * 0, np.asarray(frames), np.asarray(frames) / 24.0,
                      psnr_db=np.linspace(20, 30, len(frames)).astype(np.float32))


def test_comparison_state_aligns_to_the_first_map_while_it_is_pca():
    from types import SimpleNamespace

    from explorer.errors import ExplorerError
    from explorer.latent.projection import PCAProjection
    from explorer.state.comparison import ComparedModel, ComparisonState, check_comparable

    first, second = _trajectory(np.arange(12)), _trajectory(np.arange(12), 5, seed=1)
    state, seen = ComparisonState(), []
    state.changed.connect(seen.append)
    model = ComparedModel(Path("b.safetensors"), second, PCAProjection.fit(second.mu))
    pca = PCAProjection.fit(first.mu)
    state.open(model, first, pca, "pca")
    assert state.active and state.maps.aligned and seen == ["opened"]
    np.testing.assert_allclose(state.maps.b, procrustes_align(pca.embedding,
                                                              model.pca.embedding), atol=1e-6)
    assert state.describe(11) == "b.safetensors  ·  PSNR 30.0 dB"
    umap = SimpleNamespace(embedding=pca.embedding[:, ::-1])
    state.relayout(umap, "umap")
    assert not state.maps.aligned and "UMAP" in state.maps.note and seen[-1] == "maps"
    np.testing.assert_array_equal(state.maps.b, model.pca.embedding)
    state.end()
    assert not state.active and state.maps is None and seen[-1] == "ended"
    with pytest.raises(ExplorerError, match="encoded none of the frames"):
        state.open(model, _trajectory(np.arange(100, 112)), pca, "pca")
    assert not state.active
    with pytest.raises(ExplorerError, match="library"):
        check_comparable(first, library=True)
    with pytest.raises(ExplorerError, match="open a video"):
        check_comparable(None)


def _steps(first: list[int], last: list[int], seed: int = 2):
    """A video autoencoder's trajectory: latent steps covering frames first..last."""
    from explorer.latent.trajectory import Trajectory

    mu = np.random.default_rng(seed).standard_normal((len(first), 3)).astype(np.float32)
    return Trajectory(mu, mu * 0, np.asarray(first), np.asarray(first) / 24.0,
                      psnr_db=np.arange(len(first), dtype=np.float32) + 20,
                      last_frame=np.asarray(last), meta={"temporal": {
                          "stride": 4, "causal_first_frame": True}})


@pytest.mark.parametrize("steps_first", [False, True])
def test_a_video_autoencoder_is_compared_frame_by_frame(steps_first):
    """Rows line up through the video's frames: a latent step of four frames is the row of
    each of its frames, the frames it did not encode have none, and the maps are aligned on
    the rows showing the same frames."""
    from explorer.analysis.compare import psnr_on_rows
    from explorer.latent.projection import PCAProjection
    from explorer.state.comparison import ComparedModel, ComparisonState

    frames = _trajectory(np.arange(12))
    steps = _steps([0, 1, 5], [0, 4, 8])  # frames 9-11 are not encoded
    first, second = (steps, frames) if steps_first else (frames, steps)
    state = ComparisonState()
    model = ComparedModel(Path("b"), second, PCAProjection.fit(second.mu))
    pca = PCAProjection.fit(first.mu)
    state.open(model, first, pca, "pca")
    assert state.maps.aligned and len(state.maps.b) == len(second)
    if steps_first:
        # step 1 (frames 1-4): its frame 2 is frame row 2; step 2's first frame is 5
        assert state.second_position(1, 1) == (2, 0)
        assert state.first_position(7) == (2, 2)
        np.testing.assert_allclose(state.psnr_on_first_rows,
                                   [20, np.mean(frames.psnr_db[1:5]),
                                    np.mean(frames.psnr_db[5:9])], rtol=1e-6)
    else:
        assert state.second_position(3) == (1, 2) and state.second_position(10) is None
        assert state.first_position(2) == (5, 0)
        expected = [20, 21, 21, 21, 21, 22, 22, 22, 22] + [np.nan] * 3
        np.testing.assert_allclose(state.psnr_on_first_rows, expected)
        # aligned on the 9 frames both show: the 3 steps fitted onto their frames' points
        shared = pca.embedding[:9]
        turned = state.maps.b[[0, 1, 1, 1, 1, 2, 2, 2, 2]]
        others = procrustes_align(shared, model.pca.embedding[[0, 1, 1, 1, 1, 2, 2, 2, 2]])
        np.testing.assert_allclose(turned, others, atol=1e-5)
    np.testing.assert_array_equal(state.psnr_on_first_rows, psnr_on_rows(first, second))


# --- the session file: the second model, by where it is and what it is ---------------------


def test_a_session_records_the_compared_model(tmp_path):
    import json
    import zipfile

    from explorer.session.document import load_session, save_session
    from tests.test_session_file import make_session

    session = make_session()
    session.compared_model_path, session.compared_model_sha256 = "/models/b.safetensors", "b00"
    path = save_session(session, tmp_path / "compared.lxsession")
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("session.json"))
    assert document["version"] == 3
    assert document["compared_model"] == {"path": "/models/b.safetensors", "sha256": "b00"}
    loaded = load_session(path)
    assert (loaded.compared_model_path, loaded.compared_model_sha256) == (
        "/models/b.safetensors", "b00")
    assert (loaded.model_path, loaded.model_sha256) == ("/m.safetensors", "f00")
    alone = load_session(save_session(make_session(), tmp_path / "alone.lxsession"))
    assert (alone.compared_model_path, alone.compared_model_sha256) == (None, "")


@pytest.mark.parametrize("version", [1, 2])
def test_older_sessions_open_without_a_comparison(tmp_path, version):
    import json

    from explorer.session.document import load_session, save_session
    from tests.test_session_file import make_session, rewrite

    path = save_session(make_session(), tmp_path / f"v{version}.lxsession")
    added = {"compared_model"} | ({"directions", "scenes"} if version == 1 else set())
    rewrite(path, "session.json", lambda d: json.dumps(
        {key: value for key, value in {**json.loads(d), "version": version}.items()
         if key not in added}).encode())
    loaded = load_session(path)
    assert (loaded.compared_model_path, loaded.compared_model_sha256) == (None, "")
    assert loaded.current_frame == 17 and len(loaded.keyframes) == 2


@pytest.mark.parametrize(("value", "field"), [
    ({"path": 5, "sha256": ""}, "compared_model.path"),
    ({"path": "/b.safetensors"}, "compared_model.sha256"),
    ({"path": "/b.safetensors", "sha256": "", "trust": True}, "compared_model.trust"),
    ("/b.safetensors", "compared_model"),
])
def test_a_bad_compared_model_is_one_line(tmp_path, value, field):
    import json

    from explorer.session.document import SessionError, load_session, save_session
    from tests.test_session_file import make_session, rewrite

    path = save_session(make_session(), tmp_path / "bad.lxsession")
    rewrite(path, "session.json", lambda d: json.dumps(
        {**json.loads(d), "compared_model": value}).encode())
    with pytest.raises(SessionError, match=field.replace(".", r"\.")) as error:
        load_session(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)
