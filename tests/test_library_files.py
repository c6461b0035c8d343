"""Bad input to libraries, met with one line before Ray starts (or without it at all): a
hostile ``library.json`` or map, inputs that are no videos, folders that are no library,
absurd numbers, an untrusted plugin, an address where no Ray listens."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import numpy as np
import pytest

from explorer.library.catalog import MAX_VIDEOS
from explorer.schema import MAX_JSON_BYTES
from tests.test_library import MODEL, encode_into, run

ERROR = "explorer: error: "


def document(**changes) -> dict:
    """A valid ``library.json`` of one done video, with ``changes`` to its first video
    (``video_*``) or to the top level."""
    video = {"path": "/videos/a.avi", "status": "done", "fingerprint": "f00d", "frames": 10,
             "rows": 10, "fps": 24.0, "trajectory": "a.npz"}
    video.update({key[6:]: value for key, value in changes.items() if key.startswith("video_")})
    top = {"format": "latent-explorer-library", "version": 1,
           "model": {"path": MODEL, "identity": "abc", "latent_shape": [16]},
           "videos": [video], "shared_map": None}
    top.update({key: value for key, value in changes.items() if not key.startswith("video_")})
    return top


def one_line(result: tuple[int, str, str], message: str) -> None:
    exit_code, _, err = result
    assert exit_code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert message in err, err


def usage_error(result: tuple[int, str, str], command: str, message: str) -> None:
    """Exit 2, the usage, and one line naming the option and what it takes."""
    exit_code, _, err = result
    assert exit_code == 2
    assert err.strip().splitlines()[-1].startswith(f"explorer {command}: error: {message}"), err


def write(folder, content) -> None:
    folder.mkdir(exist_ok=True)
    text = content if isinstance(content, (str, bytes)) else json.dumps(content)
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(folder / "library.json", mode) as handle:
        handle.write(text)


HOSTILE = [
    ("{", "library.json: not readable JSON"),
    ("[]", "is not a Latent Explorer library: Input should be a valid dictionary"),
    (document(format="other"), "is not a Latent Explorer library: format"),
    (document(version=7), "written by a newer Latent Explorer (library version 7; this app "
                          "reads up to 2)"),
    (document(video_trajectory="../evil.npz"), "videos.0.trajectory: String should match"),
    (document(video_trajectory="/etc/passwd"), "videos.0.trajectory: String should match"),
    (document(video_frames=None), "videos.0: a done video needs frames"),
    (document(video_frames=-3), "videos.0.frames: Input should be greater than or equal to 1"),
    (document(video_fps=float("nan")), "videos.0.fps: Input should be a finite number"),
    (document(video_status="pending"), "videos.0.status: Input should be 'done' or 'failed'"),
    (document(video_status="failed"), "videos.0: a failed video needs a reason"),
    (document(video_colour="red"), "videos.0.colour: unknown field"),
    (document(videos=[document()["videos"][0]] * 2), "two videos have the same path"),
    (document(videos=[{"path": f"/v/{n}", "status": "failed", "reason": "x"}
                      for n in range(MAX_VIDEOS + 1)]),
     "videos: List should have at most 10000 items"),
    ("[" * 100 + "]" * 100, "JSON nested deeper than 32 levels"),
    (" " * (MAX_JSON_BYTES + 1), "JSON document larger than"),
]


@pytest.mark.parametrize(("content", "message"), HOSTILE,
                         ids=[message[:40] for _, message in HOSTILE])
def test_a_hostile_library_json_is_one_line(tmp_path, content, message):
    library = tmp_path / "lib"
    write(library, content)
    one_line(run("info", library), message)


def test_a_library_json_that_is_no_file_is_one_line(tmp_path):
    library = tmp_path / "lib"
    (library / "library.json").mkdir(parents=True)
    one_line(run("info", library), "library.json is a folder, not a library file")


def test_info_of_a_library_checks_its_map(tmp_path):
    library = tmp_path / "lib"
    covered = [{"trajectory": "a.npz", "fingerprint": "f00d"}]
    write(library, document(shared_map={"kind": "pca", "file": "map.npz", "videos": covered}))
    arrays = {"kind": np.array("pca"), "mean": np.zeros(16), "components": np.eye(2, 16),
              "embedding": np.zeros((10, 2), np.float32), "rows": np.array([9])}
    np.savez(library / "map.npz", **arrays)
    one_line(run("info", library), "map.npz: rows: must be positive and add up to the 10")
    np.savez(library / "map.npz", **{**arrays, "rows": np.array([10]), "mean": np.zeros(8)})
    one_line(run("info", library), "map.npz: components: has shape (2, 16); expected [2, D]")
    np.savez(library / "map.npz", **{**arrays, "rows": np.array([10])})
    code, out, _ = run("info", library)
    assert code == 0
    assert "a.avi: 10 frames, 0.4 s at 24 fps, done, trajectory file missing" in out
    assert "PCA of 1 video, 10 points" in out


@pytest.mark.parametrize(("inputs", "message"), [
    (["missing.avi"], "video or folder not found: missing.avi"),
    (["notes.txt"], "notes.txt is not named like a video (expected .mp4, "),
    (["empty"], "no video files in "),
])
def test_inputs_that_are_no_videos_are_one_line(tmp_path, monkeypatch, inputs, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    one_line(encode_into(tmp_path / "lib", *inputs), message)
    assert not (tmp_path / "lib").exists()


def test_a_library_folder_that_cannot_be_one_is_one_line(tmp_path, demo_clip):
    (tmp_path / "file").write_text("x")
    one_line(encode_into(tmp_path / "file", demo_clip), "is a file; give a folder")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("x")
    one_line(encode_into(tmp_path / "full", demo_clip),
             "holds files but no library.json: give a new or empty folder")
    one_line(encode_into(tmp_path / "no" / "lib", demo_clip), "folder ")
    assert not (tmp_path / "no").exists()


def test_a_library_of_another_model_is_kept_without_overwrite(tmp_path, demo_clip):
    library = tmp_path / "lib"
    write(library, document())
    before = (library / "library.json").read_bytes()
    one_line(encode_into(library, demo_clip),
             "was encoded with the model " + MODEL + ", not " + MODEL)
    assert (library / "library.json").read_bytes() == before


def test_a_plugin_needs_trust_before_ray_starts(tmp_path, demo_clip):
    one_line(encode_into(tmp_path / "lib", demo_clip, model="tests.test_library:dies_once"),
             "tests.test_library:dies_once is a Python plugin, which runs code when opened")
    assert not (tmp_path / "lib").exists()


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--workers", "0", "must be from 1 to 4,096, not 0"),
    ("--workers", "1000000", "must be from 1 to 4,096"),
    ("--workers", "many", "expected a whole number from 1 to 4,096"),
    ("--gpus-per-worker", "1.5", "above 1, give whole GPUs, not 1.5"),
    ("--gpus-per-worker", "-1", "must be from 0 to 64"),
    ("--gpus-per-worker", "nan", "must be from 0 to 64"),
])
def test_absurd_numbers_are_usage_errors(tmp_path, demo_clip, option, value, message):
    usage_error(encode_into(tmp_path / "lib", demo_clip, extra=(f"{option}={value}",)),
                "library encode", f"argument {option}: {message}")


@pytest.mark.parametrize(("keyframes", "message"), [
    ("0:x,1:2", "expected VIDEO:FRAME pairs like 0:10,2:40, not '0:x'"),
    ("0:1,5", "expected VIDEO:FRAME pairs like 0:10,2:40, not '5'"),
    ("a.avi:1", "give at least two keyframes"),
    ("0:1,1:99999999999", "must be from 0 to 10,000,000"),
])
def test_bad_library_keyframes_are_usage_errors(tmp_path, keyframes, message):
    usage_error(run("export", "--model", MODEL, "--library", tmp_path, "--keyframes", keyframes,
                    "-o", tmp_path / "x.mp4"), "export", f"argument --keyframes: {message}")


def test_video_frame_keyframes_need_a_library(tmp_path, demo_clip):
    one_line(run("export", "--model", MODEL, "--video", demo_clip, "--keyframes", "0:1,0:5",
                 "-o", tmp_path / "x.mp4"), "VIDEO:FRAME keyframes are for --library")


def test_an_address_where_no_ray_listens_is_one_line(tmp_path, demo_clip, run_cli):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("library", "encode", demo_clip, "--model", MODEL, "-o", tmp_path / "lib",
                     "--ray-address", f"127.0.0.1:{port}", timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{ERROR}cannot reach a Ray cluster at 127.0.0.1:{port} (connection refused): check "
        "that it runs and the address is right, or leave out --ray-address to run on this "
        "machine"]
    one_line(encode_into(tmp_path / "lib", demo_clip, extra=("--ray-address", "no address")),
             "--ray-address 'no address' is not an address: give HOST:PORT")


def test_ray_is_not_imported_by_the_command_line_or_the_library_code():
    code = ("import sys, explorer.cli, explorer.commands.library, explorer.commands.export, "
            "explorer.info, explorer.library.build, explorer.library.joined; "
            "print('ray' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
