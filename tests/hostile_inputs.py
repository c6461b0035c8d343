"""Hostile files, one builder each, for every slot a command reads a file from.

A builder makes its file at the path it is given (whose suffix is the slot's) and returns
the text a user would type for it. The same builders feed the command-line matrix
(``tests/test_hostile_matrix.py``) and the window (``tests/test_hostile_gui.py``).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.paths import demo_model_path, demo_video_path
from explorer.session.document import Session, save_session

DEMO_VIDEO = demo_video_path()
DEMO_MODEL = demo_model_path()
LATENT_DIM = 16
"""The demo model's: valid trajectories and latents here fit it."""

SUFFIXES = {
    "video": ".mp4",
    "model": ".safetensors",
    "trajectory": ".npz",
    "latents": ".npy",
    "session": ".lxsession",
}
"""Each slot's usual suffix: a hostile file wears the name of what it pretends to be."""

MARKER = "CODE-RAN"
"""The file, in the folder of the hostile inputs, that unpickling a hostile pickle creates."""

Builder = Callable[[Path, str], str]
"""``builder(path, slot)``: make the input at ``path``; return what the user types."""


class RunsCode:
    """Unpickling this creates :data:`MARKER` in ``folder``: proof that code ran."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self):
        return (Path.touch, (self.folder / MARKER,))


# --- valid files of each kind ----------------------------------------------------------


def _trajectory(frames: int = 8) -> Trajectory:
    mu = np.random.default_rng(0).standard_normal((frames, LATENT_DIM)).astype(np.float32)
    return Trajectory(mu, mu * 0, np.arange(frames), np.arange(frames) / 24.0,
                      meta={"video": {"path": str(DEMO_VIDEO)}})


def write_valid(kind: str, path: Path) -> None:
    """A valid file of ``kind`` (a slot's name) at ``path``, whatever its suffix."""
    if kind == "video":
        shutil.copyfile(DEMO_VIDEO, path)
    elif kind == "model":
        shutil.copyfile(DEMO_MODEL, path)
    elif kind == "trajectory":
        _trajectory().save(path)
    elif kind == "latents":
        with open(path, "wb") as handle:  # np.save(path) would add ".npy" to other names
            np.save(handle, _trajectory().mu)
    else:
        write_session(path, DEMO_VIDEO, DEMO_MODEL)


def write_session(path: Path, video: Path, model: Path) -> None:
    """A valid session of the demo's latents that names ``video`` and ``model``."""
    fingerprint = file_fingerprint(video) if video.is_file() else "0" * 32
    save_session(Session(video_path=str(video), video_fingerprint=fingerprint,
                         model_path=str(model), model_sha256="", trajectory=_trajectory()), path)


# --- the builders ------------------------------------------------------------------------


def missing(path: Path, _slot: str) -> str:
    return str(path)


def folder(path: Path, _slot: str) -> str:
    path.mkdir()
    return str(path)


def empty(path: Path, _slot: str) -> str:
    path.touch()
    return str(path)


def fifo(path: Path, _slot: str) -> str:
    os.mkfifo(path)  # opening it to read would wait for a writer forever
    return str(path)


def device(name: str) -> Builder:
    """A character device as it is (``/dev/zero``: endless bytes), named by the user."""
    return lambda _path, _slot: f"/dev/{name}"


def device_link(name: str) -> Builder:
    """A link, with the slot's suffix, to a character device."""
    def build(path: Path, _slot: str) -> str:
        path.symlink_to(f"/dev/{name}")
        return str(path)
    return build


def symlink_loop(path: Path, _slot: str) -> str:
    path.symlink_to(path.name)
    return str(path)


def dangling_symlink(path: Path, _slot: str) -> str:
    path.symlink_to(path.with_name("gone-" + path.name))
    return str(path)


def unreadable(path: Path, slot: str) -> str:
    """A valid file of the slot's kind that its owner may not read."""
    write_valid(slot, path)
    path.chmod(0)
    return str(path)


def text(path: Path, _slot: str) -> str:
    path.write_text("meeting notes, not what the name says\n")
    return str(path)


def random_bytes(path: Path, _slot: str) -> str:
    path.write_bytes(np.random.default_rng(7).bytes(4096))
    return str(path)


def truncated(path: Path, slot: str) -> str:
    """The first half of a valid file of the slot's kind."""
    write_valid(slot, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return str(path)


def valid_kind(kind: str) -> Builder:
    """A valid file of ``kind`` under another slot's name (a video named .safetensors)."""
    def build(path: Path, _slot: str) -> str:
        write_valid(kind, path)
        return str(path)
    return build


def _bomb_npy(megabytes: int = 16) -> bytes:
    """A valid ``.npy`` of float32 zeros: it deflates a thousand times."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((megabytes << 16, LATENT_DIM // 4), np.float32))
    return buffer.getvalue()


def _bomb_npz() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mu.npy", _bomb_npy())
    return buffer.getvalue()


def zip_bomb(path: Path, slot: str) -> str:
    """A trajectory whose ``mu.npy`` unpacks a thousand times; a session whose
    ``arrays.npz`` holds that trajectory (the bomb one zip deeper)."""
    if slot == "trajectory":
        path.write_bytes(_bomb_npz())
        return str(path)
    write_valid("session", path)
    with zipfile.ZipFile(path) as archive:
        document = archive.read("session.json")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("session.json", document)
        archive.writestr("arrays.npz", _bomb_npz())
    return str(path)


def plain_pickle(path: Path, _slot: str) -> str:
    path.write_bytes(pickle.dumps(RunsCode(path.parent), protocol=4))
    return str(path)


def torch_pickle(path: Path, _slot: str) -> str:
    import torch

    torch.save({"state_dict": RunsCode(path.parent)}, path)
    return str(path)


def numpy_pickle(path: Path, slot: str) -> str:
    """An object array: numpy pickles it inside the ``.npy`` (or each ``.npz`` member)."""
    hostile = np.array([RunsCode(path.parent)], dtype=object)
    with open(path, "wb") as handle:
        if slot == "trajectory":
            np.savez(handle, mu=hostile, logvar=hostile, meta=hostile)
        else:
            np.save(handle, hostile, allow_pickle=True)
    return str(path)


def torchscript(path: Path, _slot: str) -> str:
    """A real TorchScript archive (code) under a data model's name."""
    import torch

    with warnings.catch_warnings():  # torch 2.13 marks TorchScript deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Identity()), str(path))
    return str(path)


def long_name(path: Path, _slot: str) -> str:
    """A name of 300 characters: longer than any file system allows (255 bytes)."""
    return str(path.with_name("n" * (300 - len(path.suffix)) + path.suffix))


def odd_name(path: Path, _slot: str) -> str:
    """A text file whose name has spaces, non-ASCII letters and a leading dash, typed as
    ``./-name`` so that it is not an option."""
    name = f"-odd name é ✓ {path.stem}{path.suffix}"
    path.with_name(name).write_text("not what the name says\n")
    return f"./{name}"


def bare_dash(path: Path, _slot: str) -> str:
    """A leading-dash name typed as it is: the parser takes it for an option (usage
    error, exit 2)."""
    name = f"-x{path.suffix}"
    path.with_name(name).write_text("not what the name says\n")
    return name


# --- diffusers folders (model slot) ---------------------------------------------------------

_SMALL_AUTOENCODER = {
    "_class_name": "AutoencoderKL",
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [8],
    "down_block_types": ["DownEncoderBlock2D"],
    "up_block_types": ["UpDecoderBlock2D"],
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 32,
}


def _diffusers_folder(path: Path, config: str | dict, weights: Callable[[Path], None]) -> str:
    path.mkdir()
    (path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    weights(path)
    return str(path)


def _tiny_safetensors(folder: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(4)}, str(folder / "diffusion_pytorch_model.safetensors"))


def diffusers_not_json(path: Path, _slot: str) -> str:
    return _diffusers_folder(path, "{'_class_name': AutoencoderKL,", _tiny_safetensors)


def diffusers_json_list(path: Path, _slot: str) -> str:
    return _diffusers_folder(path, "[1, 2, 3]", _tiny_safetensors)


def diffusers_huge_channels(path: Path, _slot: str) -> str:
    """A config declaring a network of about 10¹³ parameters, beside 16 bytes of weights."""
    config = {**_SMALL_AUTOENCODER, "block_out_channels": [1 << 20], "norm_num_groups": 1}
    return _diffusers_folder(path, config, _tiny_safetensors)


def diffusers_pickle_weights(path: Path, _slot: str) -> str:
    def pickled(folder: Path) -> None:
        import torch

        torch.save({"w": RunsCode(folder.parent)}, folder / "diffusion_pytorch_model.bin")
    return _diffusers_folder(path, _SMALL_AUTOENCODER, pickled)


def session_naming(what: str, hostile: Builder) -> Builder:
    """A valid session whose video or model is the hostile file ``hostile`` makes."""
    def build(path: Path, slot: str) -> str:
        named = Path(hostile(path.with_name(f"{path.stem}-{what}{SUFFIXES[what]}"), what))
        video, model = (named, DEMO_MODEL) if what == "video" else (DEMO_VIDEO, named)
        write_session(path, video, model)
        return str(path)
    return build


def with_suffix(builder: Builder, suffix: str) -> Builder:
    """``builder`` making its file under ``suffix`` instead of the slot's (``.pt``)."""
    return lambda path, slot: builder(path.with_suffix(suffix), slot)


ALL = frozenset(SUFFIXES)
PICKLE_SLOTS = frozenset({"model", "trajectory", "latents", "session"})

INPUTS: dict[str, tuple[Builder, frozenset[str]]] = {
    "missing": (missing, ALL),
    "folder": (folder, ALL),
    "empty": (empty, ALL),
    "fifo": (fifo, ALL),
    "dev-zero": (device("zero"), ALL),
    "dev-urandom": (device("urandom"), ALL),
    "dev-zero-link": (device_link("zero"), ALL),
    "dev-urandom-link": (device_link("urandom"), ALL),
    "symlink-loop": (symlink_loop, ALL),
    "dangling-symlink": (dangling_symlink, ALL),
    "unreadable": (unreadable, ALL),
    "text": (text, ALL),
    "random-bytes": (random_bytes, ALL),
    "truncated": (truncated, ALL),
    **{f"a-{kind}": (valid_kind(kind), ALL - {kind}) for kind in SUFFIXES},
    "zip-bomb": (zip_bomb, frozenset({"trajectory", "session"})),
    "pickle": (plain_pickle, PICKLE_SLOTS),
    "torch-save": (torch_pickle, PICKLE_SLOTS),
    "pickle.pt": (with_suffix(plain_pickle, ".pt"), frozenset({"model"})),
    "torch-save.pt": (with_suffix(torch_pickle, ".pt"), frozenset({"model"})),
    "pickle.ckpt": (with_suffix(plain_pickle, ".ckpt"), frozenset({"model"})),
    "torch-save.ckpt": (with_suffix(torch_pickle, ".ckpt"), frozenset({"model"})),
    "numpy-pickle": (numpy_pickle, frozenset({"trajectory", "latents"})),
    "torchscript": (torchscript, frozenset({"model"})),
    "long-name": (long_name, ALL),
    "odd-name": (odd_name, ALL),
    "bare-dash": (bare_dash, ALL),
    "naming-a-missing-video": (session_naming("video", missing), frozenset({"session"})),
    "naming-a-fifo-video": (session_naming("video", fifo), frozenset({"session"})),
    "naming-dev-zero-video": (session_naming("video", device_link("zero")),
                              frozenset({"session"})),
    "naming-a-missing-model": (session_naming("model", missing), frozenset({"session"})),
    "naming-a-pickle-model": (session_naming("model", plain_pickle), frozenset({"session"})),
    "diffusers-not-json": (diffusers_not_json, frozenset({"model"})),
    "diffusers-json-list": (diffusers_json_list, frozenset({"model"})),
    "diffusers-huge-channels": (diffusers_huge_channels, frozenset({"model"})),
    "diffusers-pickle-bin": (diffusers_pickle_weights, frozenset({"model"})),
}
"""Every hostile input, and the slots it fits."""

USAGE_ERRORS = frozenset({"bare-dash"})
"""Inputs the argument parser refuses (exit 2) before any command sees them."""


def build(name: str, folder: Path, slot: str, tag: str) -> str:
    """Make input ``name`` for ``slot`` in ``folder``; ``tag`` keeps its file name unique."""
    builder, _slots = INPUTS[name]
    return builder(folder / f"{tag}{SUFFIXES[slot]}", slot)
