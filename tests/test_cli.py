"""The ``explorer`` command as a user runs it: a child process, exit codes, one-line errors."""

import pickle
from pathlib import Path

import pytest

from tests.test_model_files import RunsCode, corrupt_files


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("explorer: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory, demo_clip) -> Path:
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    model = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "explorer",
            "train",
            str(demo_clip),
            "-o",
            str(model),
            "--epochs",
            "2",
            "--latent-dim",
            "6",
            "--batch-size",
            "8",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert f"saved {model}" in result.stdout
    assert "epoch 2/2" in result.stderr  # the tqdm bar
    return model


def test_train_then_info_describes_the_model(trained_model, run_cli, demo_clip):
    result = run_cli("info", trained_model)
    assert result.returncode == 0, result.stderr
    assert "Latent shape" in result.stdout and " 6\n" in result.stdout
    assert "Frame size       64 × 64" in result.stdout
    assert f"Source video     {demo_clip.name}" in result.stdout
    assert "Held-out PSNR" in result.stdout


def test_info_on_a_video_counts_decoded_frames(run_cli, demo_clip):
    result = run_cli("info", demo_clip)
    assert result.returncode == 0, result.stderr
    assert "40 decoded" in result.stdout and "64 × 64" in result.stdout


def test_train_refuses_to_overwrite_without_the_flag(trained_model, run_cli, demo_clip):
    before = trained_model.read_bytes()
    result = run_cli("train", demo_clip, "-o", trained_model, "--epochs", "1")
    assert_one_line_error(result, "already exists", "--overwrite")
    assert trained_model.read_bytes() == before


def test_bad_model_files_give_one_line_errors(tmp_path, trained_model, run_cli):
    for path in corrupt_files(tmp_path, trained_model).values():
        assert_one_line_error(run_cli("info", path), str(path))


def test_pickle_checkpoint_is_refused_without_running_it(tmp_path, run_cli):
    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / "evil.safetensors"
    checkpoint.write_bytes(pickle.dumps(RunsCode(marker)))
    assert_one_line_error(run_cli("info", checkpoint), "never loads pickles")
    assert not marker.exists()


def test_missing_and_non_video_inputs(tmp_path, run_cli):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    assert_one_line_error(run_cli("info", tmp_path / "absent.mp4"), "not found")
    assert_one_line_error(run_cli("info", text), "notes.mp4")
    result = run_cli("train", text, "-o", tmp_path / "m.safetensors")
    assert_one_line_error(result, "notes.mp4")
    assert not (tmp_path / "m.safetensors").exists()


def test_debug_shows_the_traceback(tmp_path, run_cli):
    result = run_cli("info", tmp_path / "absent.mp4", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_usage_errors_exit_2(run_cli):
    result = run_cli("train", "--size", "100")
    assert result.returncode == 2 and "usage:" in result.stderr


def test_ctrl_c_during_training_saves_the_last_completed_epoch(tmp_path, demo_clip):
    import signal
    import subprocess
    import sys
    import threading
    import time

    from explorer.model.files import read_model_metadata
    from tests.conftest import PROJECT_ROOT

    model = tmp_path / "interrupted.safetensors"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "explorer",
            "train",
            str(demo_clip),
            "-o",
            str(model),
            "--epochs",
            "500",
            "--latent-dim",
            "4",
            "--batch-size",
            "8",
            "--device",
            "cpu",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(iter(lambda: child.stderr.read(1), "")))
    reader.start()
    deadline = time.monotonic() + 180
    while "epoch 3/500" not in "".join(stderr) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=60) == 130
    reader.join(timeout=10)
    text = "".join(stderr)
    assert "interrupted; saved the model after epoch" in text and "Traceback" not in text
    training = read_model_metadata(model)["training"]
    assert training["stopped_early"] and training["epochs_completed"] >= 2


def test_self_test_passes_and_reports_each_step(run_cli):
    result = run_cli("--self-test", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("model", "video", "encode", "decode", "interpolate", "export", "qt"):
        assert f"PASS {step}" in result.stdout
    assert "self-test passed" in result.stdout


def test_a_mistyped_command_names_the_command_it_nearly_spells(run_cli):
    for typed, meant in (("exprot", "export"), ("inof", "info"), ("Trian", "train")):
        result = run_cli(typed, "--model", "m.safetensors")
        assert result.returncode == 2, result.stderr
        assert result.stderr == (f"explorer: error: unknown command '{typed}'; "
                                 f"did you mean '{meant}'?\n")
    result = run_cli("export.mp4")  # a file name, not a word: the video is not found
    assert_one_line_error(result, "video not found: export.mp4")


def test_a_file_named_like_a_command_is_read_as_it_is(tmp_path, monkeypatch):
    from explorer.cli import parse_args

    monkeypatch.chdir(tmp_path)
    for name in ("trian", "info"):
        (tmp_path / name).write_text("a video, says its owner")
    args = parse_args(["trian", "--model", "m.safetensors"])
    assert (args.command, args.video, args.model) == (None, Path("trian"), "m.safetensors")
    assert parse_args(["info", "trian"]).command == "info"  # a command wins over a file
    (tmp_path / "trian").unlink()
    with pytest.raises(SystemExit) as exit_:
        parse_args(["trian"])
    assert exit_.value.code == 2


def test_a_video_named_like_a_command_opens_in_the_window(tmp_path):
    """``explorer exprot`` opens the video ``exprot`` when there is one (no display needed:
    ``--screenshot`` draws the window off screen and exits)."""
    import os
    import shutil
    import subprocess
    import sys

    from explorer.paths import demo_video_path
    from tests.conftest import PROJECT_ROOT

    shutil.copyfile(demo_video_path(), tmp_path / "exprot")
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "exprot", "--screenshot", "shot.png"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "shot.png").stat().st_size > 0


HELP_DEFAULTS = {
    "train": ["--size {64,128,256} square frame size in pixels (default: 64)",
              "--epochs EPOCHS passes over the frames, 1 to 100,000 (default: 1,200 to 2,700 "
              "steps: 80 epochs of a 250-frame clip, 45 of 720 frames)",
              "(default: 16)", "1e-08 to 1 (default: 0.0005)", "0 to 1000 (default: 1)",
              "--max-frames MAX_FRAMES use at most this many frames from the start, 1 to "
              "10,000,000 (default: every frame)", "(default: crop)", "(default: auto)"],
    "encode": ["(default: pca)", "--end END stop before this frame, 1 to 10,000,000 (default: "
               "the end of the video)", "(default: every selected frame)"],
    "export": ["--size SIZE longest side of the output in pixels, 16 to 8,192 (default: 256)",
               "--fps FPS frame rate, 1 to 240 (default: 24)",
               "0.1 to 600 (default: 2)", "(default: --seconds × --fps)", "(default: slerp)",
               "(default: linear)", "(default: lanczos)", "0 best … 51 worst (default: 23)"],
    "bench": ["--model MODEL model to measure (default: the demo model)"],
}


@pytest.mark.parametrize("command", sorted(HELP_DEFAULTS))
def test_help_shows_the_defaults(command, run_cli):
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # undo the help's line wrapping
    for shown in HELP_DEFAULTS[command]:
        assert shown in text


def _all_parsers() -> dict:
    import argparse

    from explorer.cli import build_gui_parser, build_parser

    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    return {"explorer": build_gui_parser(), **commands.choices}


def test_every_option_that_takes_a_value_says_what_it_defaults_to():
    """A default is shown as it is; where it is None, the help says what that means (a
    bare "(default: None)" would not), or when the option is needed."""
    for name, parser in _all_parsers().items():
        chosen_in_group = {id(action) for group in parser._mutually_exclusive_groups
                           if group.required for action in group._group_actions}
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.nargs == 0 or action.required or id(action) in chosen_in_group:
                continue
            text = formatter._expand_help(action)
            assert "(default: " in text or "(needed " in text, (name, action.dest, text)
            assert "None" not in text, (name, action.dest, text)
