import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from explorer.errors import ModelFileError
from explorer.model.files import FORMAT, load_model, read_model_metadata, save_model
from tests.factories import make_vae

TRAINING = {
    "source_video": "clip.mp4",
    "epochs_completed": 2,
    "final_loss": 12.5,
    "holdout_psnr_db": 27.0,
    "settings": {"beta": 1.0},
}


class RunsCode:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def model_file(tmp_path) -> Path:
    return save_model(make_vae(), tmp_path / "model.safetensors", TRAINING)


def test_round_trip_is_bit_identical_with_metadata(model_file):
    original = make_vae()
    loaded = load_model(model_file)
    for name, tensor in original.module.state_dict().items():
        assert torch.equal(tensor, loaded.module.state_dict()[name]), name
    assert loaded.metadata["training"] == TRAINING
    assert loaded.frame_size == (64, 64) and loaded.latent_shape == (8,)
    meta = read_model_metadata(model_file)
    assert meta["architecture"]["latent_dim"] == 8 and meta["architecture"]["kind"] == "beta_vae"
    frames = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(original.encode(frames)[0], loaded.encode(frames)[0])


def test_save_leaves_no_partial_files(model_file):
    assert [p.name for p in model_file.parent.iterdir()] == ["model.safetensors"]


def write_pickle_checkpoints(folder: Path) -> tuple[list[Path], Path]:
    marker = folder / "code-ran"
    zipped = folder / "evil.pt"
    torch.save({"weights": RunsCode(marker)}, zipped)
    legacy = folder / "evil.pkl.safetensors"
    legacy.write_bytes(pickle.dumps(RunsCode(marker)))
    return [zipped, legacy], marker


def test_pickles_are_refused_and_never_run(tmp_path):
    paths, marker = write_pickle_checkpoints(tmp_path)
    for path in paths:
        with pytest.raises(ModelFileError, match="never loads pickles"):
            load_model(path)
    assert not marker.exists()


def corrupt_files(folder: Path, valid: Path) -> dict[str, Path]:
    data = valid.read_bytes()
    files = {
        "empty": folder / "empty.safetensors",
        "truncated": folder / "truncated.safetensors",
        "not safetensors": folder / "notes.safetensors",
        "huge header length": folder / "header.safetensors",
        "foreign safetensors": folder / "foreign.safetensors",
        "wrong tensors": folder / "wrong.safetensors",
        "future format": folder / "future.safetensors",
    }
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["not safetensors"].write_text("these are my notes, not a model\n")
    files["huge header length"].write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    save_file({"w": torch.zeros(3)}, str(files["foreign safetensors"]))
    architecture = {
        "kind": "beta_vae",
        "image_size": 64,
        "latent_dim": 8,
        "base_channels": 32,
        "max_channels": 128,
    }
    metadata = {"format": FORMAT, "format_version": "1", "architecture": json.dumps(architecture)}
    save_file({"encoder.0.weight": torch.zeros(3, 3)}, str(files["wrong tensors"]), metadata)
    save_file(
        {"w": torch.zeros(1)}, str(files["future format"]), {**metadata, "format_version": "99"}
    )
    return files


EXPECTED = {
    "empty": "empty",
    "truncated": "truncated or corrupt",
    "not safetensors": "truncated or corrupt",
    "huge header length": "truncated or corrupt",
    "foreign safetensors": "not a Latent Explorer model",
    "wrong tensors": "does not hold the tensors",
    "future format": "newer than this app",
}


def test_bad_model_files_raise_one_line_errors(tmp_path, model_file):
    for name, path in corrupt_files(tmp_path, model_file).items():
        with pytest.raises(ModelFileError) as error:
            load_model(path)
        message = str(error.value)
        assert EXPECTED[name] in message, (name, message)
        assert "\n" not in message


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"linear_path": True, "latent_dim": 4096}, "a linear path takes at most 256 latents"),
    ({"linear_path": True, "version": 2}, "version 2 with linear_path True"),
    ({"latent_grid": 64, "latent_dim": 4096, "version": 3, "image_size": 64},
     "power of two from 4 to 32"),
    ({"latent_grid": 99999}, "latent_grid"),
])
def test_a_version_3_architecture_that_asks_too_much_is_refused_before_any_weight(
        tmp_path, changes, message):
    """A hostile header cannot ask for a linear path of billions of values, or a
    mislabelled version, and get as far as allocating it."""
    architecture = {"kind": "beta_vae", "image_size": 256, "latent_dim": 16, "base_channels": 32,
                    "max_channels": 256, "version": 3, "family": "vae", "codebook_size": 0,
                    "code_dim": 0, **changes}
    metadata = {"format": FORMAT, "format_version": "3", "architecture": json.dumps(architecture)}
    path = tmp_path / "hostile.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata)
    with pytest.raises(ModelFileError, match=message) as error:
        load_model(path)
    assert "\n" not in str(error.value)
