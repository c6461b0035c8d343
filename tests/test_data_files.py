"""Data files (trajectories, latents, sessions, clip recipes) that lie about themselves.

Every refusal is an ExplorerError of one line that starts with the file's path; nothing a
file declares is allocated before it is checked against what the file holds, and nothing
waits on a file that never ends. The new modules are imported inside the tests that need
them, so that the others also run (and fail) against the loaders as they were.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.session.document import load_session, save_session
from tests.test_session_file import make_session

KINDS = ("trajectory", "session", "latents", "recipe")


# --- building files -------------------------------------------------------------------


def make_trajectory(frames: int = 12, width: int = 6) -> Trajectory:
    rng = np.random.default_rng(3)
    mu = rng.standard_normal((frames, width)).astype(np.float32)
    return Trajectory(mu, mu - 1, np.arange(frames) * 2, np.arange(frames) / 12.5,
                      embedding=mu[:, :2].copy(),
                      meta={"video": {"path": "/v.mp4", "fps": 25.0}, "latent_shape": [width]},
                      psnr_db=np.full(frames, 31, np.float32))


def npy_bytes(array: np.ndarray, shape: tuple[int, ...] | None = None) -> bytes:
    """``array`` as ``.npy`` bytes, its header declaring ``shape`` if given."""
    buffer = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    np.lib.format.write_array_header_1_0(buffer, header)
    buffer.write(np.ascontiguousarray(array).tobytes())
    return buffer.getvalue()


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_members(path: Path, members: dict[str, bytes],
                  compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def edit_session(path: Path, json_edit: Callable[[dict], object] | None = None,
                 arrays_edit: Callable[[dict[str, bytes]], None] | None = None) -> Path:
    """Rewrite a session's ``session.json`` and/or the members of its ``arrays.npz``."""
    members = read_members(path)
    if json_edit is not None:
        document = json.loads(members["session.json"])
        members["session.json"] = json.dumps(json_edit(document) or document).encode()
    if arrays_edit is not None:
        arrays = read_members_bytes(members["arrays.npz"])
        arrays_edit(arrays)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in arrays.items():
                archive.writestr(name, data)
        members["arrays.npz"] = buffer.getvalue()
    return write_members(path, members, zipfile.ZIP_DEFLATED)


def read_members_bytes(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def good_files(folder: Path) -> dict[str, Path]:
    """One valid file of each kind."""
    from explorer.pipeline.export import ClipRecipe, save_recipe

    latents = folder / "latents.npy"
    np.save(latents, np.random.default_rng(1).standard_normal((9, 6)).astype(np.float32))
    _, recipe = save_recipe(
        ClipRecipe(np.ones((5, 6), np.float32), [{"frame": 2}, {"latent": [0.5] * 6}],
                   {"fps": 24.0, "method": "slerp", "model_identity": None,
                    "keyframes": [{"frame": 2}]}),
        folder / "clip.mp4",
    )
    return {
        "trajectory": make_trajectory().save(folder / "traj.npz"),
        "session": save_session(make_session(20), folder / "work.lxsession"),
        "latents": latents,
        "recipe": recipe,
    }


def loader(kind: str) -> Callable[[Path], object]:
    if kind == "trajectory":
        return Trajectory.load
    if kind == "session":
        return load_session
    if kind == "latents":
        from explorer.arrays import load_latents

        return lambda path: load_latents(path, (6,))
    from explorer.pipeline.recipe import load_recipe

    return load_recipe


# --- checking refusals ----------------------------------------------------------------


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(load: Callable[[Path], object], path: Path, *fragments: str,
            seconds: float = 2.0, megabytes: float = 32) -> str:
    """The one-line message ``load(path)`` refuses ``path`` with, within ``seconds`` and
    without ``megabytes`` allocated."""
    tracemalloc.start()
    try:
        with deadline(seconds), pytest.raises(ExplorerError) as error:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert peak < megabytes * 2**20, f"{peak:,} bytes allocated for {message}"
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- the cases of the issue -----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_tiny_file_declaring_a_terabyte_is_refused_at_once(tmp_path, kind):
    files = good_files(tmp_path)
    huge = npy_bytes(np.zeros(4, np.float32), shape=(10**6, 10**6))
    path = files[kind]
    if kind == "trajectory":
        members = read_members(path)
        members["mu.npy"] = huge
        write_members(path, members)
    elif kind == "session":
        edit_session(path, arrays_edit=lambda arrays: arrays.update({"mu.npy": huge}))
    else:
        latents = path if kind == "latents" else path.with_name("clip.mp4.latents.npy")
        latents.write_bytes(huge)
    assert path.stat().st_size < 10_000 or kind != "latents"
    started = time.perf_counter()
    message = refused(loader(kind), path, "declares shape (1000000, 1000000)")
    assert time.perf_counter() - started < 0.5, message


def test_zip_bombs_are_refused_before_they_unpack(tmp_path):
    files = good_files(tmp_path)
    bomb = npy_bytes(np.zeros((1 << 22, 6), np.float32))  # 96 MiB of zeros: 100 KiB deflated
    members = read_members(files["trajectory"])
    members["mu.npy"] = bomb
    write_members(files["trajectory"], members, zipfile.ZIP_DEFLATED)
    refused(Trajectory.load, files["trajectory"], "mu.npy", "zip bomb")
    session_members = read_members(files["session"])
    session_members["arrays.npz"] = bomb
    write_members(files["session"], session_members, zipfile.ZIP_DEFLATED)
    refused(load_session, files["session"], "arrays.npz", "zip bomb")


def test_ten_thousand_members_are_refused(tmp_path):
    files = good_files(tmp_path)
    members = read_members(files["trajectory"])
    members.update({f"extra{index}.npy": b"" for index in range(10_000)})
    write_members(files["trajectory"], members)
    refused(Trajectory.load, files["trajectory"], "10,007 members")
    members = read_members(files["session"])
    members.update({f"extra{index}": b"" for index in range(10_000)})
    write_members(files["session"], members)
    refused(load_session, files["session"], "10,002 members")


@pytest.mark.parametrize("kind", ("trajectory", "session", "recipe"))
def test_json_nested_ten_thousand_deep_is_refused(tmp_path, kind):
    path = good_files(tmp_path)[kind]
    deep = "[" * 10_000 + "]" * 10_000
    if kind == "trajectory":
        members = read_members(path)
        members["meta.npy"] = npy_bytes(np.array('{"video": ' + deep + "}"))
        write_members(path, members)
    elif kind == "session":
        members = read_members(path)
        members["session.json"] = ('{"format": "latent-explorer/session", "version": 1, '
                                   '"export": ' + deep + "}").encode()
        write_members(path, members)
    else:
        path.write_text('{"clip": "clip.mp4", "settings": ' + deep + "}")
    refused(loader(kind), path, "nested deeper")


def test_session_values_outside_the_trajectory_are_refused(tmp_path):
    path = good_files(tmp_path)["session"]
    original = path.read_bytes()
    cases = {
        "keyframe_frames": lambda d: d.update(keyframe_frames=[10**6, None]),
        "view.range": lambda d: d["view"].update(range=[[float("nan"), 1.0], [0.0, 1.0]]),
        "view.frame": lambda d: d["view"].update(frame=20),
        "trajectory_meta.latent_shape": lambda d: d["trajectory_meta"].update(latent_shape=[4]),
        "interpolation": lambda d: d.update(interpolation={"seconds": [1] * 100}),
        "video.path": lambda d: d["video"].update(path=12),
        "projections.umap": lambda d: d["projections"].update(umap={"kind": "umap"}),
    }
    for field, edit in cases.items():
        path.write_bytes(original)
        refused(load_session, edit_session(path, json_edit=edit), field)


def test_session_arrays_that_disagree_are_refused(tmp_path):
    path = good_files(tmp_path)["session"]
    original = path.read_bytes()
    cases = {
        "probe": {"probe.npy": npy_bytes(np.zeros(5, np.float32))},
        "projection.pca.components": {
            "projection.pca.components.npy": npy_bytes(np.zeros((3, 8)))},
        "logvar": {"logvar.npy": npy_bytes(np.zeros((19, 8), np.float32))},
        "drawn_path": {"drawn_path.npy": npy_bytes(np.full((2, 8), np.inf, np.float32))},
        "frame_index": {"frame_index.npy": npy_bytes(np.arange(20)[::-1].copy())},
        "unknown.array": {"unknown.array.npy": npy_bytes(np.zeros(2))},
    }
    for field, replaced in cases.items():
        path.write_bytes(original)
        edit_session(path, arrays_edit=lambda arrays, r=replaced: arrays.update(r))
        refused(load_session, path, field)


def test_trajectory_arrays_that_disagree_are_refused(tmp_path):
    path = good_files(tmp_path)["trajectory"]
    original = read_members(path)
    cases = {
        "logvar": {"logvar.npy": npy_bytes(np.zeros((11, 6), np.float32))},
        "embedding": {"embedding.npy": npy_bytes(np.zeros((12, 3), np.float32))},
        "psnr_db": {"psnr_db.npy": npy_bytes(np.zeros(13, np.float32))},
        "mu": {"mu.npy": npy_bytes(np.full((12, 6), np.nan, np.float32))},
        "meta.latent_shape": {"meta.npy": npy_bytes(np.array('{"latent_shape": [2, 2]}'))},
        "meta.video.fps": {"meta.npy": npy_bytes(np.array('{"video": {"fps": -1}}'))},
        "time_s": {"time_s.npy": npy_bytes(np.array(["a"] * 12))},
    }
    for field, replaced in cases.items():
        write_members(path, {**original, **replaced})
        refused(Trajectory.load, path, field)


def test_recipe_refusals(tmp_path):
    from explorer.pipeline.recipe import load_recipe

    path = good_files(tmp_path)["recipe"]
    original = json.loads(path.read_text())
    (tmp_path / "secret.npy").write_bytes(b"")
    cases = {
        "latents": {"latents": "../secret.npy"},
        "frames": {"frames": 6},
        "keyframes.1.latent": {"keyframes": [{"frame": 2}, {"latent": [0.5] * 5}]},
        "settings.fps": {"settings": {"fps": float("inf")}},
        "colour": {"colour": "red"},
    }
    for field, change in cases.items():
        path.write_text(json.dumps({**original, **change}))
        refused(load_recipe, path, field)


def test_latents_files_of_the_wrong_kind_are_refused(tmp_path):
    from explorer.arrays import load_latents

    path = tmp_path / "latents.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    refused(load_latents, path, "object")
    np.save(path, np.zeros((4, 5), np.float32))
    refused(lambda p: load_latents(p, (6,)), path, "expected [N, 6]")
    np.save(path, np.full((4, 6), np.nan, np.float32))
    refused(load_latents, path, "NaN")
    path.write_bytes(npy_bytes(np.zeros((4, 6), np.float32))[:-7])
    refused(load_latents, path, "holds")


@pytest.mark.parametrize("kind", KINDS)
def test_files_that_never_end_are_refused_without_reading(tmp_path, kind, monkeypatch):
    from explorer import arrays

    load = loader(kind)
    fifo = tmp_path / f"pipe.{kind}"
    os.mkfifo(fifo)
    sources = [fifo, Path("/dev/zero"), Path("/dev/urandom")]
    for source in sources:
        refused(load, source, "not a regular file", seconds=3)
    # A FIFO swapped in after the path was checked is refused on the open descriptor.
    monkeypatch.setattr(arrays, "require_file", lambda path, *_: Path(path))
    for source in sources:
        refused(load, source, "not a regular file", seconds=3)


def test_good_files_still_load(tmp_path):
    files = good_files(tmp_path)
    trajectory = Trajectory.load(files["trajectory"])
    assert trajectory.psnr_db.shape == (12,) and trajectory.embedding.shape == (12, 2)
    assert len(load_session(files["session"]).keyframes) == 2
    assert loader("latents")(files["latents"]).shape == (9, 6)
    recipe = loader("recipe")(files["recipe"])
    assert recipe.latents.shape == (5, 6) and recipe.keyframes[1] == {"latent": [0.5] * 6}
    assert recipe.settings["keyframes"] == [{"frame": 2}]


def test_large_latents_are_mapped_from_the_file_not_read(tmp_path, monkeypatch):
    """Latents above the size limit stay on disk (a read-only ``np.memmap`` of the file's
    own bytes) and read back as saved; a mapped file is checked as a read one is, and a
    compressed one is read instead."""
    from explorer.latent import trajectory as module

    monkeypatch.setattr(module, "MAP_ABOVE_BYTES", 0)
    saved = make_trajectory(frames=40, width=5)
    path = saved.save(tmp_path / "big.npz")
    loaded = Trajectory.load(path)
    assert isinstance(loaded.mu, np.memmap) and isinstance(loaded.logvar, np.memmap)
    assert not loaded.mu.flags.writeable
    np.testing.assert_array_equal(loaded.mu, saved.mu)
    np.testing.assert_array_equal(loaded.latents([3, 7]), saved.mu[[3, 7]])
    np.testing.assert_array_equal(loaded.logvar, saved.logvar)

    members = read_members(path)
    damaged = saved.mu.copy()
    damaged[31, 2] = np.nan
    members["mu.npy"] = npy_bytes(damaged)
    write_members(tmp_path / "nan.npz", members)
    with pytest.raises(ExplorerError, match=r"nan\.npz: mu: holds NaN") as refused:
        Trajectory.load(tmp_path / "nan.npz")
    assert "\n" not in str(refused.value)

    packed = Trajectory.load(write_members(tmp_path / "packed.npz", read_members(path),
                                           zipfile.ZIP_DEFLATED))
    assert not isinstance(packed.mu, np.memmap)
    np.testing.assert_array_equal(packed.mu, saved.mu)
    monkeypatch.setattr(module, "MAP_ABOVE_BYTES", 1 << 40)
    assert not isinstance(Trajectory.load(path).mu, np.memmap), "small files are read"


def test_a_model_decodes_mapped_latents_without_writing_to_the_file(tmp_path, monkeypatch):
    """A read-only mapped row reaches torch as a copy: a model writing into its input
    changes neither the file nor the trajectory."""
    import torch

    from explorer.latent import trajectory as module
    from explorer.model.torch_vae import to_device

    monkeypatch.setattr(module, "MAP_ABOVE_BYTES", 0)
    saved = make_trajectory(frames=8, width=4)
    loaded = Trajectory.load(saved.save(tmp_path / "t.npz"))
    tensor = to_device(loaded.mu[2:5], torch.device("cpu"))  # a view of the file's pages
    tensor.mul_(0)
    np.testing.assert_array_equal(loaded.mu, saved.mu)
    np.testing.assert_array_equal(Trajectory.load(tmp_path / "t.npz").mu, saved.mu)
