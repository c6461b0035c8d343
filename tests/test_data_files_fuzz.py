"""Fuzzing the data-file loaders: damaged files load or are refused in one line, quickly.

Valid trajectory, session, latents and recipe files are mutated (bytes flipped, the file
cut short, ``.npy`` headers given other shapes, JSON values replaced by random ones).
Loading each must either succeed or raise an ExplorerError of one line, never another
exception, within a moment and without allocating big arrays.
"""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.errors import ExplorerError
from tests.test_data_files import (
    KINDS,
    deadline,
    edit_session,
    good_files,
    loader,
    read_members,
    write_members,
)

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)),  # thousands find nothing more
    deadline=None,  # loads_or_refuses has its own
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20)
    | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
SHAPES = st.lists(st.integers(0, 10**13) | st.integers(0, 40), max_size=5).map(tuple)


class Originals(dict):
    """The bytes of each valid file, and of the files beside it, by kind."""

    def __repr__(self) -> str:  # hypothesis prints its arguments when an example fails
        return "originals"


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Originals:
    folder = tmp_path_factory.mktemp("good")
    files = good_files(folder)
    return Originals({kind: {path.name: path.read_bytes() for path in folder.iterdir()
                             if path == files[kind] or (kind == "recipe" and path.suffix == ".npy")}
                      for kind in KINDS})


def place(folder: Path, kind: str, files: dict[str, bytes]) -> Path:
    """Write one kind's files into ``folder``; returns the one to load."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    main = {"trajectory": "traj.npz", "session": "work.lxsession", "latents": "latents.npy",
            "recipe": "clip.mp4.clip.json"}[kind]
    return folder / main


def loads_or_refuses(kind: str, path: Path) -> None:
    tracemalloc.start()
    try:
        with deadline(3):
            loader(kind)(path)
    except ExplorerError as error:
        assert "\n" not in str(error) and str(error), repr(error)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak:,} bytes allocated"


def with_shape(member: bytes, shape: tuple[int, ...]) -> bytes:
    """``member`` (``.npy`` bytes) with its header declaring ``shape``; data unchanged."""
    stream = io.BytesIO(member)
    np.lib.format.read_magic(stream)
    _, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    data = stream.read()
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran,
              "shape": shape})
    return out.getvalue() + data


@FUZZ
@given(kind=st.sampled_from(KINDS), flips=st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes(originals, tmp_path, kind, flips):
    files = dict(originals[kind])
    name = max(files, key=lambda n: n.endswith((".json", ".npz", ".lxsession")))
    data = bytearray(files[name])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    files[name] = bytes(data)
    loads_or_refuses(kind, place(tmp_path, kind, files))


@FUZZ
@given(kind=st.sampled_from(KINDS), keep=st.floats(0, 1, exclude_max=True))
def test_truncated_files(originals, tmp_path, kind, keep):
    files = dict(originals[kind])
    for name, data in files.items():
        files[name] = data[: int(keep * len(data))] or b"x"
    loads_or_refuses(kind, place(tmp_path, kind, files))


@FUZZ
@given(kind=st.sampled_from(KINDS), pick=st.integers(0, 20), shape=SHAPES)
def test_headers_declaring_other_shapes(originals, tmp_path, kind, pick, shape):
    path = place(tmp_path, kind, originals[kind])
    if kind in ("latents", "recipe"):
        npy = path if kind == "latents" else path.with_name("clip.mp4.latents.npy")
        npy.write_bytes(with_shape(npy.read_bytes(), shape))
    elif kind == "trajectory":
        members = read_members(path)
        name = sorted(members)[pick % len(members)]
        members[name] = with_shape(members[name], shape)
        write_members(path, members)
    else:
        def reshape(arrays: dict[str, bytes]) -> None:
            name = sorted(arrays)[pick % len(arrays)]
            arrays[name] = with_shape(arrays[name], shape)

        edit_session(path, arrays_edit=reshape)
    loads_or_refuses(kind, path)


def replace_somewhere(document: object, path: list[int], value: object) -> object:
    """``document`` with the value at a place chosen by ``path`` replaced by ``value``."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[path[0] % len(keys)]
    document[key] = replace_somewhere(document[key], path[1:], value)
    return document


@FUZZ
@given(kind=st.sampled_from(("trajectory", "session", "recipe")),
       where=st.lists(st.integers(0, 50), max_size=4), value=JSON)
def test_random_json_values(originals, tmp_path, kind, where, value):
    path = place(tmp_path, kind, originals[kind])
    if kind == "recipe":
        document = replace_somewhere(json.loads(path.read_text()), where, value)
        path.write_text(json.dumps(document))
    elif kind == "session":
        edit_session(path, json_edit=lambda document: replace_somewhere(document, where, value))
    else:
        members = read_members(path)
        meta = json.loads(str(np.load(io.BytesIO(members["meta.npy"]))))
        text = json.dumps(replace_somewhere(meta, where, value))
        buffer = io.BytesIO()
        np.save(buffer, np.array(text))
        members["meta.npy"] = buffer.getvalue()
        write_members(path, members)
    loads_or_refuses(kind, path)
