"""``explorer traverse``, ``segments``, ``anomalies``, ``encode --csv`` and ``export
--direction`` end to end, on generated clips with known answers (and on a real clip when
../shared/media is here); bad input gets one line and leaves no output."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from explorer.analysis.directions import save_direction
from explorer.demo import demo_frame, demo_frames
from explorer.latent.trajectory import Trajectory
from explorer.paths import demo_model_path
from tests.conftest import PROJECT_ROOT, write_mjpg

MODEL = demo_model_path()
CUTS = [30, 60]
SPLICED = [20, 61, 62, 95]
DEAD = [1, 4]


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def one_line_error(result: subprocess.CompletedProcess, code: int, fragment: str) -> None:
    """Exit ``code`` with ``fragment`` in one error line: the only line on stderr, after
    the usage for a usage error (exit 2)."""
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or code == 2, result.stderr
    assert lines[-1].startswith("explorer") and "Traceback" not in result.stderr
    assert ": error: " in lines[-1] and fragment in lines[-1], lines[-1]


def _square(step: int) -> np.ndarray:
    frame = np.full((64, 64, 3), (200, 40, 40), np.uint8)
    frame[20:36, 5 + step:21 + step] = 255
    return frame


def _disc(step: int) -> np.ndarray:
    shade = np.linspace(0, 1, 64)[:, None, None]
    frame = (np.array([20, 180, 60]) * shade + np.array([0, 40, 120]) * (1 - shade))
    frame = np.ascontiguousarray(np.repeat(frame, 64, axis=1).astype(np.uint8))
    return cv2.circle(frame, (32, 10 + step), 9, (250, 250, 0), -1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """``three``: three scenes of 30 frames (the demo's shape, a sliding square, a falling
    disc); ``spliced``: a slow loop of the demo with noise frames at :data:`SPLICED`."""
    folder = tmp_path_factory.mktemp("analysis")
    three = [demo_frame(0.3 + i / 400, 64) for i in range(30)]
    three += [_square(i) for i in range(30)] + [_disc(i) for i in range(30)]
    spliced = list(demo_frames(120, 64))
    for index in SPLICED:
        spliced[index] = np.random.default_rng(index).integers(0, 256, (64, 64, 3), np.uint8)
    return {"three": write_mjpg(folder / "three.avi", three),
            "spliced": write_mjpg(folder / "spliced.avi", spliced)}


@pytest.fixture(scope="module")
def dead_model(tmp_path_factory) -> Path:
    """A random β-VAE of 6 latents whose dimensions :data:`DEAD` always encode to the
    prior (mean 0, log-variance 0), and whose others vary widely."""
    import torch

    from explorer.model.files import save_model
    from tests.factories import make_vae

    vae = make_vae(latent_dim=6)
    moments = vae.module.to_moments
    with torch.no_grad():
        moments.weight[:6] *= 2000.0
        for dim in DEAD:
            for row in (dim, 6 + dim):  # its mean, its log-variance
                moments.weight[row] = 0.0
                moments.bias[row] = 0.0
    return save_model(vae, tmp_path_factory.mktemp("models") / "dead.safetensors", {})


@pytest.fixture(scope="module")
def three_npz(clips, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("encoded") / "three.npz"
    result = subprocess.run([sys.executable, "-m", "explorer", "encode", str(clips["three"]),
                             "--model", str(MODEL), "-o", str(output)],
                            capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    return output


def test_encode_writes_the_trajectory_table_with_psnr_scenes_and_scores(tmp_path, run_cli,
                                                                        clips):
    table = tmp_path / "three.csv"
    result = run_cli("encode", clips["three"], "--model", MODEL, "-o", tmp_path / "t.npz",
                     "--csv", table)
    assert result.returncode == 0, result.stderr
    assert f"wrote {table}" in result.stdout
    lines = read(table)
    assert len(lines) == 90 and list(lines[0]) == ["frame", "time", "x", "y", "psnr_db",
                                                   "cluster", "segment", "score"]
    assert all(line["psnr_db"] and line["score"] and line["x"] for line in lines)
    assert Trajectory.load(tmp_path / "t.npz").psnr_db is not None
    refused = run_cli("encode", clips["three"], "--model", MODEL, "-o", tmp_path / "u.npz",
                      "--csv", tmp_path / "u.npz")
    one_line_error(refused, 1, "name the same file")
    assert not (tmp_path / "u.npz").exists()


def test_three_scenes_come_back_as_three_segments_cut_where_they_change(tmp_path, run_cli,
                                                                       three_npz):
    output = tmp_path / "segments.csv"
    result = run_cli("segments", three_npz, "-o", output)
    assert result.returncode == 0, result.stderr
    assert "3 segments in 3 clusters" in result.stdout
    lines = read(output)
    assert list(lines[0]) == ["frame", "time", "cluster", "segment"] and len(lines) == 90
    segment = np.array([int(line["segment"]) for line in lines])
    found = np.flatnonzero(np.diff(segment)) + 1
    assert len(found) == len(CUTS) and np.all(np.abs(found - CUTS) <= 2), found
    assert lines[45]["time"] == f"{45 / 24:.4f}"


def test_spliced_corrupt_frames_top_the_anomaly_list(tmp_path, run_cli, clips):
    trajectory = tmp_path / "spliced.npz"
    assert run_cli("encode", clips["spliced"], "--model", MODEL, "-o", trajectory).returncode \
        == 0
    output = tmp_path / "anomalies.csv"
    result = run_cli("anomalies", trajectory, "--model", MODEL, "--video", clips["spliced"],
                     "--top", "6", "-o", output)
    assert result.returncode == 0, result.stderr
    lines = read(output)
    assert list(lines[0]) == ["frame", "time", "score", "reasons"] and len(lines) == 6
    assert sorted(int(line["frame"]) for line in lines[:4]) == SPLICED
    assert all("reconstruction error" in line["reasons"] for line in lines[:4])
    assert float(lines[3]["score"]) > 2 * float(lines[4]["score"])
    unmeasured = run_cli("anomalies", trajectory, "-o", tmp_path / "latents_only.csv")
    assert unmeasured.returncode == 0
    assert "holds no reconstruction PSNR" in unmeasured.stderr
    assert len(read(tmp_path / "latents_only.csv")) == 20


def test_traverse_marks_dead_dimensions_last_and_draws_every_tile(tmp_path, run_cli,
                                                                  dead_model, demo_clip):
    grid = tmp_path / "grid.png"
    result = run_cli("traverse", "--model", dead_model, "--video", demo_clip, "--frame", "7",
                     "--steps", "5", "--tile", "32", "-o", grid)
    assert result.returncode == 0, result.stderr
    ranking = result.stdout.splitlines()[-1]
    assert ranking.startswith("dimensions, most used first (KL): ")
    named = ranking.split(": ")[1].split(", ")
    assert sorted(named[-2:]) == ["z1 0 dead", "z4 0 dead"]
    assert not any("dead" in entry for entry in named[:-2])
    assert cv2.imread(str(grid)).shape == (6 * 32, 5 * 32, 3)
    sweep = f"{tmp_path}/sweep/"
    result = run_cli("traverse", "--model", dead_model, "--video", demo_clip, "--frame", "7",
                     "--dims", "4,0", "--steps", "5", "--tile", "32", "-o", sweep)
    assert result.returncode == 0, result.stderr
    frames = sorted((tmp_path / "sweep").glob("*.png"))
    assert len(frames) == 5 + 3  # there and back
    first, middle = cv2.imread(str(frames[0])), cv2.imread(str(frames[2]))
    assert first.shape == (32, 64, 3)  # two tiles side by side, labelled at the bottom
    np.testing.assert_array_equal(first[:12, :32], middle[:12, :32])  # z4 is dead
    assert not np.array_equal(first[:12, 32:], middle[:12, 32:])  # z0 moves the picture


def test_export_moves_the_whole_path_along_a_direction(tmp_path, run_cli, three_npz):
    direction = np.random.default_rng(5).normal(0, 0.5, 16).astype(np.float32)
    save_direction(tmp_path / "d.npy", direction)
    common = ["export", "--model", MODEL, "--trajectory", three_npz, "--keyframes", "0,45,89",
              "--steps", "6"]
    assert run_cli(*common, "-o", f"{tmp_path}/plain/").returncode == 0
    result = run_cli(*common, "--direction", tmp_path / "d.npy", "--amount", "1.5",
                     "-o", f"{tmp_path}/moved/")
    assert result.returncode == 0, result.stderr
    plain = np.load(tmp_path / "plain" / "latents.npy")
    moved = np.load(tmp_path / "moved" / "latents.npy")
    np.testing.assert_allclose(moved - plain, np.tile(1.5 * direction, (6, 1)), atol=1e-5)
    assert len(list((tmp_path / "moved").glob("*.png"))) == 6


BAD = [  # arguments after the command, exit code, what the one line says
    (["traverse", "--steps", "0"], 2, "argument --steps: must be from 2 to 61"),
    (["traverse", "--range", "1e9"], 2, "argument --range: must be from 0.1 to 10"),
    (["traverse", "--dims", "0,x"], 2, "argument --dims: expected all or dimension numbers"),
    (["traverse", "--dims", "3,3"], 2, "each once"),
    (["traverse", "--dims", "99"], 1, "dimension 99 does not exist: there are 16"),
    (["traverse", "--frame", "500"], 1, "frame 500 is not in the trajectory (frames 0–89)"),
    (["traverse", "--tile", "8192", "--steps", "61"], 1, "ask for fewer axes or steps"),
    (["segments", "--clusters", "0"], 2, "argument --clusters: must be from 1 to 64"),
    (["segments", "--clusters", "many"], 2, "argument --clusters"),
    (["anomalies", "--top", "0"], 2, "argument --top: must be from 1 to 100,000"),
    (["export", "--amount", "2"], 1, "--amount moves along a --direction"),
    (["export", "--direction", "WRONG"], 1, "a direction for this model is 16 numbers"),
]


def _command(args: list[str], trajectory: Path, tmp_path: Path) -> list[object]:
    """A complete command line around ``args``; WRONG is a direction of the wrong size."""
    command, *options = args
    wrong = save_direction(tmp_path / "wrong.npy", np.zeros(3))
    options = [wrong if option == "WRONG" else option for option in options]
    if command == "traverse":
        return [command, "--model", MODEL, "--trajectory", trajectory,
                *(["--frame", "0"] if "--frame" not in options else []), *options,
                "-o", tmp_path / "out.png"]
    if command == "export":
        return [command, "--model", MODEL, "--trajectory", trajectory, "--keyframes", "0,9",
                *options, "-o", tmp_path / "out.mp4"]
    return [command, trajectory, *options, "-o", tmp_path / "out.csv"]


@pytest.mark.parametrize("args, code, fragment", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_numbers_and_files_get_one_line_and_no_output(tmp_path, run_cli, three_npz, args,
                                                          code, fragment):
    one_line_error(run_cli(*_command(args, three_npz, tmp_path)), code, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wrong.npy"]


@pytest.mark.parametrize("command, content, fragment", [
    ("segments", None, "trajectory not found"),
    ("anomalies", b"", "is empty (0 bytes)"),
    ("segments", b"frame,time\n0,0\n", "is not a readable trajectory file"),
])
def test_bad_trajectory_files_get_one_line(tmp_path, run_cli, command, content, fragment):
    trajectory = tmp_path / "t.npz"
    if content is not None:
        trajectory.write_bytes(content)
    one_line_error(run_cli(command, trajectory, "-o", tmp_path / "out.csv"), 1, fragment)
    assert not (tmp_path / "out.csv").exists()


def test_anomalies_refuse_a_video_the_trajectory_was_not_encoded_from(tmp_path, run_cli,
                                                                      three_npz, demo_clip):
    result = run_cli("anomalies", three_npz, "--model", MODEL, "--video", demo_clip,
                     "-o", tmp_path / "out.csv")
    one_line_error(result, 1, "is not the video")
    assert not (tmp_path / "out.csv").exists()


def test_every_command_on_a_real_clip(tmp_path, run_cli, shared_media):
    """bikes.mp4 cuts between shots at frames 30, 76, 137, 187 and 242 (seen by eye);
    the demo model was never trained on it, and still finds them."""
    bikes = shared_media / "bikes.mp4"
    trajectory = tmp_path / "bikes.npz"
    encoded = run_cli("encode", bikes, "--model", MODEL, "-o", trajectory,
                      "--csv", tmp_path / "bikes.csv")
    assert encoded.returncode == 0, encoded.stderr
    assert len(read(tmp_path / "bikes.csv")) == 250
    assert run_cli("segments", trajectory, "-o", tmp_path / "s.csv").returncode == 0
    segment = np.array([int(line["segment"]) for line in read(tmp_path / "s.csv")])
    found = np.flatnonzero(np.diff(segment)) + 1
    assert len(found) == 5 and np.all(np.abs(found - [30, 76, 137, 187, 242]) <= 2), found
    assert run_cli("anomalies", trajectory, "-o", tmp_path / "a.csv").returncode == 0
    assert len(read(tmp_path / "a.csv")) == 20
    result = run_cli("traverse", "--model", MODEL, "--trajectory", trajectory, "--frame",
                     "100", "--dims", "0,12", "-o", tmp_path / "g.png")
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(tmp_path / "g.png")).shape == (2 * 64, 7 * 64, 3)
