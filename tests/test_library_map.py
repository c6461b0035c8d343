"""The library's shared map: a PCA and a UMAP on landmarks fitted after encoding, the
window's layouts of the joined videos built from them without fitting anything, a video
added later placed on a kept map, and map files that are damaged or hostile."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on loopback only

import numpy as np
import pytest

from explorer.demo import demo_frames
from explorer.errors import ExplorerError
from explorer.latent.projection import UMAPProjection, projection_from_state
from explorer.library import shared_map
from explorer.library.build import EncodeRequest, encode_library
from explorer.library.catalog import load_library, load_video_trajectory
from explorer.library.joined import join_library
from explorer.library.ray_pool import PoolOptions
from explorer.library.shared_map import library_layouts, load_map, load_umap
from tests.conftest import PROJECT_ROOT, write_mjpg
from tests.test_library import MODEL, encode_into, mtimes, run

CLIPS = {"a.avi": 12, "b.avi": 9}
LATER = ("c.avi", 15)
LANDMARKS = 16
"""Fewer than the clips' rows, so that the UMAP is laid out on landmarks."""


@pytest.fixture(scope="module")
def ray_here():
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False,
             _node_ip_address="127.0.0.1", logging_level=logging.ERROR, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(PROJECT_ROOT)}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def landmarks():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shared_map, "LANDMARKS", LANDMARKS)
        yield


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    for shift, (name, count) in enumerate([*CLIPS.items(), LATER]):
        write_mjpg(folder / name, [np.roll(frame, 7 * shift, axis=0)
                                   for frame in demo_frames(count, 48)])
    return folder


@pytest.fixture(scope="module")
def built(ray_here, landmarks, clips, tmp_path_factory) -> tuple[Path, str]:
    """Two clips encoded into a library: the library, and the command's output."""
    library = tmp_path_factory.mktemp("built") / "lib"
    code, out, err = encode_into(library, *(clips / name for name in CLIPS))
    assert code == 0, err
    return library, out


def layouts_of(library: Path):
    index = load_library(library)
    joined = join_library(library, index)
    mu = joined.trajectory.mu
    return index, mu, library_layouts(library, index, mu, joined.videos)


def test_encoding_fits_a_pca_and_a_umap_on_landmarks(built):
    library, out = built
    assert "shared map: PCA and UMAP of 2 videos" in out
    index = load_library(library)
    assert index.shared_map.umap == "umap.npz" and (library / "umap.npz").is_file()
    umap = load_umap(library, index)
    assert len(umap.embedding) == sum(CLIPS.values())
    assert len(umap.landmarks) == LANDMARKS
    np.testing.assert_array_equal(umap.rows, list(CLIPS.values()))
    assert umap.embedding.std(axis=0).min() > 0


def test_layouts_give_every_row_its_stored_point(built):
    library = built[0]
    index, mu, layouts = layouts_of(library)
    assert set(layouts) == {"pca", "umap"}
    for projection in layouts.values():
        assert projection.embedding.shape == (len(mu), 2)
    np.testing.assert_allclose(layouts["pca"].embedding, load_map(library, index).embedding,
                               atol=1e-5)
    np.testing.assert_array_equal(layouts["umap"].embedding, load_umap(library, index).embedding)


def test_the_umap_layout_is_restored_from_its_state(built):
    library = built[0]
    _, mu, layouts = layouts_of(library)
    umap = layouts["umap"]
    restored = projection_from_state(umap.state(), mu)
    assert restored.kind == "umap"
    np.testing.assert_array_equal(restored.embedding, umap.embedding)
    points = umap.embedding[:5] + 0.01
    np.testing.assert_array_equal(restored.inverse(points), umap.inverse(points))
    np.testing.assert_array_equal(umap.inverse(umap.embedding[3:4]), mu[3:4])


def test_a_video_added_on_a_kept_map_is_placed_until_a_run_fits_the_map_again(
        built, clips, tmp_path):
    library = tmp_path / "lib"
    shutil.copytree(built[0], library)
    before = load_library(library)
    files = {name: mtimes(library)[name] for name in ("map.npz", "umap.npz")}
    summary = encode_library(EncodeRequest(videos=[(clips / LATER[0]).resolve()],
                                           folder=library, model=MODEL, batch_size=8,
                                           keep_map=True, pool=PoolOptions(workers=1)))
    assert summary.encoded == 1 and summary.start_s > 0 and summary.encoding_s > 0
    index = summary.library
    assert index.shared_map == before.shared_map  # nothing fitted again
    assert {name: mtimes(library)[name] for name in files} == files

    _, mu, layouts = layouts_of(library)
    covered = sum(CLIPS.values())
    assert len(mu) == covered + LATER[1]
    stored = load_umap(library, index)
    np.testing.assert_array_equal(layouts["umap"].embedding[:covered], stored.embedding)
    landmarks = stored.projection(mu[stored.landmarks], stored.embedding[stored.landmarks])
    np.testing.assert_allclose(layouts["umap"].embedding[covered:],
                               landmarks.project_new(mu[covered:]), atol=1e-6)
    np.testing.assert_allclose(layouts["pca"].embedding[covered:],
                               load_map(library, index).embed(mu[covered:]), atol=1e-5)
    restored = projection_from_state(layouts["umap"].state(), mu)
    np.testing.assert_array_equal(restored.embedding, layouts["umap"].embedding)

    # nothing to encode, but the map covers other videos: the PCA alone is fitted again
    code, out, err = encode_into(library, clips / LATER[0], extra=("--no-umap",))
    assert code == 0, err
    assert "shared map: PCA of 3 videos" in out
    assert load_library(library).shared_map.umap is None
    assert not (library / "umap.npz").exists()
    assert set(layouts_of(library)[2]) == {"pca"}

    code, out, err = encode_into(library, clips / LATER[0])  # and now its UMAP
    assert code == 0, err
    assert "shared map: PCA and UMAP of 3 videos" in out
    index = load_library(library)
    assert len(load_umap(library, index).embedding) == len(mu)
    assert len(index.shared_map.videos) == 3


# --- a map from anywhere: a library written by hand -----------------------------------------

ROWS = (4, 6)
WIDTH = 16


def write_library(folder: Path, umap: bool = True, **arrays) -> Path:
    """A library of two done videos of :data:`ROWS` latents with a valid map (and UMAP);
    ``arrays`` replace the UMAP's (None leaves one out)."""
    folder.mkdir(exist_ok=True)
    names = ("a", "b")
    entry = {"kind": "pca", "file": "map.npz",
             "videos": [{"trajectory": f"{name}.npz", "fingerprint": name} for name in names]}
    if umap:
        entry["umap"] = "umap.npz"
    document = {"format": "latent-explorer-library", "version": 1,
                "model": {"path": MODEL, "identity": "abc", "latent_shape": [WIDTH]},
                "videos": [{"path": f"/videos/{name}.avi", "status": "done", "fingerprint": name,
                            "frames": rows, "rows": rows, "fps": 24.0,
                            "trajectory": f"{name}.npz"}
                           for name, rows in zip(names, ROWS, strict=True)],
                "shared_map": entry}
    (folder / "library.json").write_text(json.dumps(document))
    total = sum(ROWS)
    np.savez(folder / "map.npz", kind=np.array("pca"), mean=np.zeros(WIDTH),
             components=np.eye(2, WIDTH), embedding=np.zeros((total, 2), np.float32),
             rows=np.array(ROWS))
    valid = {"kind": np.array("umap"), "embedding": np.random.default_rng(0).random((total, 2)),
             "landmarks": np.arange(0, total, 2), "mean": np.zeros(WIDTH, np.float32),
             "axes": np.eye(WIDTH, dtype=np.float32), "seed": np.array(0),
             "n_neighbors": np.array(5), "min_dist": np.array(0.1), "rows": np.array(ROWS)}
    valid.update(arrays)
    np.savez(folder / "umap.npz", **{name: value for name, value in valid.items()
                                     if value is not None})
    return folder


def layouts_by_hand(folder: Path) -> dict:
    mu = np.random.default_rng(1).standard_normal((sum(ROWS), WIDTH)).astype(np.float32)
    return library_layouts(folder, load_library(folder), mu, [0, 1])


def test_a_library_by_hand_opens_with_both_layouts(tmp_path):
    layouts = layouts_by_hand(write_library(tmp_path / "lib"))
    assert isinstance(layouts["umap"], UMAPProjection)
    assert layouts["umap"].embedding.shape == (sum(ROWS), 2)


def test_an_old_library_without_a_umap_opens_with_pca_only(tmp_path):
    folder = write_library(tmp_path / "lib", umap=False)
    (folder / "umap.npz").unlink()
    assert set(layouts_by_hand(folder)) == {"pca"}
    code, out, err = run("info", folder)
    assert code == 0, err
    assert "PCA of 2 videos, 10 points" in out


def test_a_library_without_a_map_yet_is_one_line(tmp_path):
    folder = write_library(tmp_path / "lib")
    document = json.loads((folder / "library.json").read_text())
    (folder / "library.json").write_text(json.dumps({**document, "shared_map": None}))
    with pytest.raises(ExplorerError, match="has no shared map yet: encode a video into it"):
        layouts_by_hand(folder)


TOTAL = sum(ROWS)
HOSTILE = [
    ({"embedding": np.full((TOTAL, 2), np.nan)}, "umap.npz: embedding: holds NaN"),
    ({"embedding": np.zeros((TOTAL + 1, 2))}, "umap.npz: rows: must be positive and add up"),
    ({"rows": np.array([0, TOTAL])}, "umap.npz: rows: must be positive and add up"),
    ({"rows": np.array(ROWS[::-1])}, "umap.npz: rows: not those of map.npz"),
    ({"rows": np.array([TOTAL])}, "umap.npz: rows: has shape (1,); expected [V] (V = 2 from"),
    ({"landmarks": np.array([3, 1])}, "umap.npz: landmarks: must be ascending rows"),
    ({"landmarks": np.array([0, TOTAL])}, "umap.npz: landmarks: must be ascending rows"),
    ({"axes": np.eye(4, 8, dtype=np.float32), "mean": np.zeros(4, np.float32)},
     "umap.npz: axes: 8 numbers, but the library's latents have 16"),
    ({"mean": np.zeros(3, np.float32)}, "umap.npz: axes: has shape (16, 16); expected [R, D]"),
    ({"n_neighbors": np.array(0)}, "umap.npz: seed, n_neighbors or min_dist out of range"),
    ({"seed": np.array(-1)}, "umap.npz: seed, n_neighbors or min_dist out of range"),
    ({"kind": np.array("pca")}, "umap.npz: kind: not 'umap', as library.json says"),
    ({"kind": np.array(1.0)}, "umap.npz: kind: holds float64 values; expected text"),
    ({"min_dist": None}, "umap.npz: min_dist: missing"),
    ({"extra": np.zeros(2)}, "umap.npz: extra: not an array of a shared map"),
    ({"mean": np.array([object()] * WIDTH)}, "umap.npz: mean: holds object values, not plain"),
]


@pytest.mark.parametrize(("arrays", "message"), HOSTILE, ids=[m[10:40] for _, m in HOSTILE])
def test_a_hostile_umap_file_is_one_line(tmp_path, arrays, message):
    folder = write_library(tmp_path / "lib", **arrays)
    with pytest.raises(ExplorerError) as raised:
        layouts_by_hand(folder)
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda file: file.write_bytes(file.read_bytes()[:200]), "is not a readable shared map"),
    (lambda file: file.write_bytes(b""), "umap.npz is empty (0 bytes)"),
    (lambda file: file.unlink(), "shared map not found: "),
    (lambda file: (file.unlink(), file.mkdir()), "umap.npz is a folder, not a shared map file"),
])
def test_a_damaged_umap_file_is_one_line(tmp_path, damage, message):
    folder = write_library(tmp_path / "lib")
    damage(folder / "umap.npz")
    with pytest.raises(ExplorerError) as raised:
        layouts_by_hand(folder)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_layouts_of_latents_that_are_not_the_librarys_are_one_line(tmp_path):
    folder = write_library(tmp_path / "lib")
    with pytest.raises(ExplorerError, match="videos have 10 rows, but 9 latents were given"):
        library_layouts(folder, load_library(folder), np.zeros((9, WIDTH), np.float32), [0, 1])


def test_joined_latents_read_slices_and_rows_across_videos(built):
    library = built[0]
    index = load_library(library)
    latents = shared_map._JoinedLatents(library, index)
    whole = np.concatenate([load_video_trajectory(library, index, i).mu for i, _ in index.done()])
    assert latents.shape == whole.shape
    np.testing.assert_array_equal(np.asarray(latents), whole)
    np.testing.assert_array_equal(latents[5:17], whole[5:17])
    rows = np.array([0, 11, 12, 20])
    np.testing.assert_array_equal(latents[rows], whole[rows])
    assert latents[np.array([], np.int64)].shape == (0, whole.shape[1])


def test_a_video_changed_since_is_placed_while_enough_landmarks_remain(tmp_path):
    folder = write_library(tmp_path / "lib", landmarks=np.array([0, 1, 2, 3, 5, 7]))
    document = json.loads((folder / "library.json").read_text())
    document["videos"][1]["fingerprint"] = "changed"
    (folder / "library.json").write_text(json.dumps(document))
    layouts = layouts_by_hand(folder)
    assert set(layouts) == {"pca", "umap"}  # video a's 4 landmarks place b's 6 rows
    stored = load_umap(folder, load_library(folder)).embedding
    np.testing.assert_array_equal(layouts["umap"].embedding[:ROWS[0]], stored[:ROWS[0]])
    assert not np.allclose(layouts["umap"].embedding[ROWS[0]:], stored[ROWS[0]:])
    folder = write_library(tmp_path / "few", landmarks=np.array([0, 5, 7]))
    (folder / "library.json").write_text(json.dumps(document))
    assert set(layouts_by_hand(folder)) == {"pca"}  # one landmark cannot place them
