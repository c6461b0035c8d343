"""Outputs never destroy inputs, never silently replace each other, fail on long names
before any work, and get the user's usual permissions: for train, encode and export."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import numpy as np
import pytest

from explorer import interrupts
from explorer.cli import main
from explorer.errors import ExplorerError
from explorer.fileio import TEMP_NAME_EXTRA, atomic_output
from explorer.model.files import save_model
from explorer.video.writer import ClipWriter
from tests.factories import make_vae, random_frames

LATENTS = 4


@pytest.fixture(autouse=True)
def keep_signal_handlers():
    """main() installs interrupts' handlers; give pytest its own back."""
    saved = {signum: signal.getsignal(signum) for signum in interrupts.HANDLED}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.fixture
def files(tmp_path: Path, demo_clip: Path) -> dict[str, Path]:
    """A video, a model, a trajectory and a latents array, all inside ``tmp_path``."""
    video = tmp_path / "video.avi"
    video.write_bytes(demo_clip.read_bytes())
    model = save_model(make_vae(latent_dim=LATENTS), tmp_path / "model.safetensors", {})
    trajectory = tmp_path / "trajectory.npz"
    assert _run("encode", video, "--model", model, "-o", trajectory, "--no-cache")[0] == 0
    latents = tmp_path / "latents.npy"
    np.save(latents, np.zeros((3, LATENTS), np.float32))
    return {"video": video, "model": model, "trajectory": trajectory, "latents": latents}


def _run(*args: object) -> tuple[int, list[str]]:
    """``explorer ARGS`` in this process: exit code and the lines it printed to stderr."""
    import contextlib
    import io

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as ended:
        main([str(arg) for arg in args])
    lines = [line for line in stderr.getvalue().replace("\r", "\n").splitlines() if line.strip()]
    return ended.value.code, lines


def _command(name: str, files: dict[str, Path], output: Path | str, source: str = "video") -> list:
    device = ("--device", "cpu")
    if name == "train":
        return ["train", files["video"], "-o", output, "--epochs", "1", "--max-frames", "16",
                "--latent-dim", "2", "--batch-size", "8", *device]
    if name == "encode":
        return ["encode", files["video"], "--model", files["model"], "-o", output, "--no-cache",
                *device]
    keyframes = [] if source == "latents" else ["--keyframes", "0,5"]
    return ["export", "--model", files["model"], f"--{source}", files[source], *keyframes,
            "--steps", "3", "-o", output, *device]


def _alias(target: Path, spelling: str, suffix: str) -> Path:
    """Another name for ``target``: the same path, ``sub/../name``, a symlink, a hard link."""
    if spelling == "same":
        return target
    if spelling == "dotdot":
        (target.parent / "sub").mkdir(exist_ok=True)
        return target.parent / "sub" / ".." / target.name
    alias = target.parent / f"alias-{spelling}{suffix}"
    if spelling == "symlink":
        alias.symlink_to(target)
    else:
        os.link(target, alias)
    return alias


CASES = [
    *[("train", "video", spelling, ".safetensors")
      for spelling in ("same", "dotdot", "symlink", "hardlink")],
    *[("encode", source, spelling, ".npz")
      for source in ("video", "model") for spelling in ("same", "dotdot", "symlink")],
    *[("export", source, spelling, ".mp4")
      for source in ("model", "video", "trajectory", "latents")
      for spelling in ("symlink", "hardlink")],
]


@pytest.mark.parametrize(("command", "source", "spelling", "suffix"), CASES)
def test_an_output_that_is_an_input_is_refused_even_with_overwrite(
    files, command, source, spelling, suffix
):
    before = {name: path.read_bytes() for name, path in files.items()}
    output = _alias(files[source], spelling, suffix)
    export_source = source if source in ("video", "trajectory", "latents") else "video"
    code, lines = _run(*_command(command, files, output, export_source), "--overwrite")
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("explorer: error: ") and "is the input" in lines[0]
    assert {name: path.read_bytes() for name, path in files.items()} == before


def test_export_refuses_a_recipe_file_that_is_an_input(files, tmp_path):
    clip = tmp_path / "clip.mp4"
    recipe_latents = tmp_path / "clip.mp4.latents.npy"
    os.replace(files["latents"], recipe_latents)
    before = recipe_latents.read_bytes()
    files["latents"] = recipe_latents
    code, lines = _run(*_command("export", files, clip, "latents"), "--overwrite")
    assert code == 1 and len(lines) == 1 and "is the input" in lines[0], lines
    assert recipe_latents.read_bytes() == before and not clip.exists()


@pytest.mark.parametrize("recipe", ["clip.mp4.latents.npy", "clip.mp4.clip.json"])
def test_export_recipe_files_obey_overwrite_like_the_clip(files, tmp_path, recipe):
    existing = tmp_path / recipe
    existing.write_bytes(b"someone else's file")
    clip = tmp_path / "clip.mp4"
    code, lines = _run(*_command("export", files, clip))
    assert code == 1 and len(lines) == 1 and "already exists" in lines[0], lines
    assert existing.read_bytes() == b"someone else's file" and not clip.exists()
    assert _run(*_command("export", files, clip), "--overwrite")[0] == 0
    assert existing.read_bytes() != b"someone else's file" and clip.exists()


def test_atomic_output_without_overwrite_never_replaces_a_file_made_meanwhile(tmp_path):
    target = tmp_path / "model.safetensors"
    with pytest.raises(ExplorerError, match="created by something else"), atomic_output(
        target, overwrite=False
    ) as temp:
        temp.write_bytes(b"ours")
        target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs" and [p.name for p in tmp_path.iterdir()] == [
        "model.safetensors"
    ]
    with atomic_output(target) as temp:  # overwriting is still the default
        temp.write_bytes(b"ours")
    assert target.read_bytes() == b"ours"


@pytest.mark.parametrize("name", ["clip.mp4", "frames/"])
def test_the_clip_writer_without_overwrite_never_replaces_a_clip_made_meanwhile(tmp_path, name):
    target = tmp_path / name
    with pytest.raises(ExplorerError, match="while this ran"), ClipWriter(
        f"{tmp_path}/{name}", 24.0  # a Path would drop the "/" that asks for PNG frames
    ) as writer:
        for frame in random_frames(3, 16, 16):
            writer.write(frame)
        if name.endswith("/"):
            target.mkdir()
            (target / "000000.png").write_bytes(b"theirs")
        else:
            target.write_bytes(b"theirs")
    kept = target / "000000.png" if name.endswith("/") else target
    assert kept.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == [name.rstrip("/")]


def test_two_trainings_of_the_same_new_name_do_not_replace_each_other(
    files, tmp_path, monkeypatch
):
    import explorer.commands.train as train_module

    output = tmp_path / "new.safetensors"

    def other_run_finishes_first(vae, path, record):
        output.write_bytes(b"the other run's model")
        return save_model(vae, path, record)

    monkeypatch.setattr(train_module, "save_model", other_run_finishes_first)
    code, lines = _run(*_command("train", files, output))
    assert code == 1 and "created by something else" in lines[-1], lines
    assert output.read_bytes() == b"the other run's model"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("command", ["train", "encode", "export"])
@pytest.mark.parametrize("length", [250, 230])
def test_too_long_names_are_refused_before_any_work(files, tmp_path, command, length):
    suffix = {"train": ".safetensors", "encode": ".npz", "export": ".mp4"}[command]
    output = tmp_path / ("n" * (length - len(suffix)) + suffix)
    code, lines = _run(*_command(command, files, output))
    assert code == 1 and len(lines) == 1, lines  # one line: no progress bar ever started
    assert "too long" in lines[0] and "choose a name of at most" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(p.name for p in files.values()), "sub"] if (tmp_path / "sub").exists() else
        [p.name for p in files.values()]
    )


@pytest.mark.parametrize(("command", "suffix"), [("train", ".safetensors"), ("encode", ".npz")])
def test_the_longest_name_allowed_is_written(files, tmp_path, command, suffix):
    """The model or trajectory is saved by its own atomic_output into the command's
    temporary file: the name check leaves room for both temporary names."""
    longest = os.pathconf(tmp_path, "PC_NAME_MAX") - TEMP_NAME_EXTRA
    output = tmp_path / ("n" * (longest - len(suffix)) + suffix)
    code, lines = _run(*_command(command, files, output))
    assert code == 0 and output.is_file(), lines
    too_long = output.with_name("n" + output.name)
    assert _run(*_command(command, files, too_long))[0] == 1 and not too_long.exists()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_every_output_gets_the_usual_permissions(files, tmp_path, umask):
    previous = os.umask(umask)
    try:
        out = tmp_path / "out"
        out.mkdir()
        assert _run(*_command("train", files, out / "m.safetensors"))[0] == 0
        assert _run(*_command("encode", files, out / "t.npz"))[0] == 0
        assert _run(*_command("export", files, out / "c.mp4"))[0] == 0
        assert _run(*_command("export", files, f"{out}/frames/"))[0] == 0
    finally:
        os.umask(previous)
    written = [path for path in out.rglob("*")]
    assert len(written) == 11  # model, trajectory, clip + 2 recipe files, folder + 3 + 2
    for path in written:
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
