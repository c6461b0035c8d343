"""Latent directions: from group A to group B, principal directions, moving latents,
and direction files (hostile ones refused in one line, before anything is allocated)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.directions import (
    apply_direction,
    load_direction,
    mean_difference,
    principal_directions,
    save_direction,
)
from explorer.errors import ExplorerError


def test_the_mean_difference_takes_group_a_to_group_b():
    latents = np.arange(24, dtype=np.float32).reshape(6, 4)
    direction = mean_difference(latents, [0, 1], [4, 5])
    np.testing.assert_array_equal(direction, np.full(4, 16.0))
    moved = apply_direction(latents[:2], direction, 1.0)
    np.testing.assert_array_equal(moved.mean(axis=0), latents[4:].mean(axis=0))
    shaped = apply_direction(latents.reshape(6, 1, 2, 2), direction, -0.5)
    assert shaped.shape == (6, 1, 2, 2) and shaped[0, 0, 0, 0] == -8.0
    with pytest.raises(ExplorerError, match="at least one frame in each group"):
        mean_difference(latents, [], [1])
    with pytest.raises(ExplorerError, match="outside the trajectory's 6"):
        mean_difference(latents, [0], [6])


def test_principal_directions_are_one_standard_deviation_long():
    rng = np.random.default_rng(0)
    latents = rng.normal(0, 1, (500, 3)) * [4.0, 1.0, 0.0]
    directions = principal_directions(latents, 5)
    assert directions.shape == (3, 3)  # no more directions than numbers
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), latents.std(axis=0),
                               rtol=0.05, atol=1e-6)
    assert np.argmax(np.abs(directions[0])) == 0 and directions[0, 0] > 0


def test_a_direction_round_trips_through_its_file(tmp_path):
    direction = np.random.default_rng(1).normal(0, 1, 16).astype(np.float32)
    path = save_direction(tmp_path / "smile.npy", direction)
    np.testing.assert_array_equal(load_direction(path, 16), direction)
    np.save(tmp_path / "shaped.npy", direction.reshape(1, 4, 4).astype(np.float64))
    np.testing.assert_array_equal(load_direction(tmp_path / "shaped.npy", 16), direction)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shaped.npy", "smile.npy"]


def _bad_files() -> dict[str, tuple[object, str]]:
    """File contents (bytes, or an array to np.save), each with its one-line complaint."""
    text = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"  # a terabyte, declared in 128 bytes
    huge = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
    return {
        "wrong width": (np.zeros(15, np.float32), "a direction for this model is 16 numbers"),
        "object pickle": (np.array([{"a": 1}], dtype=object), "not plain numbers"),
        "NaN": (np.full(16, np.nan, np.float32), "NaN or infinite"),
        "text": (b"frame,time\n0,0.0\n", "not a readable .npy array"),
        "empty": (b"", "is empty"),
        "huge header, tiny file": (huge, "but holds 0 bytes"),
        "strings": (np.array(["a"] * 16), "not plain numbers"),
    }


@pytest.mark.parametrize("name", list(_bad_files()))
def test_bad_direction_files_are_refused_in_one_line(tmp_path, name):
    content, complaint = _bad_files()[name]
    path = tmp_path / "direction.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with open(path, "wb") as handle:
            np.save(handle, content, allow_pickle=True)
    with pytest.raises(ExplorerError, match=complaint) as refused:
        load_direction(path, 16)
    assert "\n" not in str(refused.value)


def test_a_missing_or_folder_direction_is_refused(tmp_path):
    with pytest.raises(ExplorerError, match="not found"):
        load_direction(tmp_path / "missing.npy", 4)
    with pytest.raises(ExplorerError, match="is a folder"):
        load_direction(tmp_path, 4)
