"""``explorer info`` on the files the app writes: sessions, clip recipes, latents and clips
saved as PNG frames, each made by the app's own writers and described in a child process."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from explorer import __version__
from explorer.latent.keyframes import Keyframe
from explorer.paths import demo_model_path
from explorer.pipeline.export import ExportSettings, build_recipe, save_recipe
from explorer.session.document import save_session
from tests.test_cli import assert_one_line_error
from tests.test_model_files import RunsCode
from tests.test_session_file import make_session


def described(result) -> dict[str, str]:
    """The table ``explorer info`` printed, as {label: value}; it must have exited 0."""
    assert result.returncode == 0, result.stderr
    rows = [re.split(r"\s{2,}", line, maxsplit=1) for line in result.stdout.splitlines()]
    assert all(len(row) == 2 for row in rows), result.stdout
    return dict(rows)


def test_a_session_shows_its_references_frames_and_settings(tmp_path, run_cli):
    path = save_session(make_session(), tmp_path / "work.lxsession")
    table = described(run_cli("info", path))
    assert table["Kind"] == "Latent Explorer session"
    assert re.fullmatch(rf"\d{{4}}-\d\d-\d\dT\S+ by Latent Explorer {re.escape(__version__)}",
                        table["Saved"]), table["Saved"]
    assert (table["Video"], table["Model"]) == ("/videos/clip.mp4", "/m.safetensors")
    assert table["Frames"] == "50 (frames 0–49)"
    assert table["Latent shape"] == "8"
    assert table["Keyframes"] == "2 (frame 3; 1 probe)"
    assert table["Projection"] == "PCA shown (fitted: PCA)"
    assert table["Interpolation"] == "spline, linear easing, 3 s at 24 fps (72 frames)"
    assert table["Export"] == "GIF, 12 fps, the model's frame size, lanczos, quality 23, ping-pong"
    assert "Compared with" not in table


def test_a_session_names_the_model_it_compares_with(tmp_path, run_cli):
    session = replace(make_session(), compared_model_path="/second.safetensors",
                      compared_model_sha256="ab" * 32)
    table = described(run_cli("info", save_session(session, tmp_path / "two.lxsession")))
    assert table["Compared with"] == "/second.safetensors"


def test_a_recipe_shows_how_its_clip_was_made(tmp_path, run_cli):
    latents = np.random.default_rng(4).standard_normal((7, 16)).astype(np.float32)
    settings = ExportSettings(fps=12.5, size=96, resize_filter="bicubic", ping_pong=True)
    recipe = build_recipe(latents, settings, keyframes=[Keyframe(latents[0], frame=3),
                                                        Keyframe(latents[-1])],
                          method="spline", easing="ease-in", model=demo_model_path(),
                          model_identity="abc123", video=tmp_path / "source.mp4")
    _, json_path = save_recipe(recipe, tmp_path / "clip.mp4")
    table = described(run_cli("info", json_path))
    assert table["Kind"] == "clip recipe"
    assert table["Frames"] == "7 latents of 16 numbers"
    assert table["Keyframes"] == "2 (frame 3; 1 probe)"
    assert table["Interpolation"] == "spline, ease-in easing"
    assert table["Export"] == "12.5 fps, 96 px longest side, bicubic, quality 23, ping-pong"
    assert table["Model"] == f"{demo_model_path().resolve()} (identity abc123)"
    assert table["Video"] == str((tmp_path / "source.mp4").resolve())


def test_latents_show_their_shape_type_and_range(tmp_path, run_cli):
    values = np.linspace(-3, 7, 40, dtype=np.float16).reshape(5, 4, 2)
    path = tmp_path / "clip.mp4.latents.npy"
    np.save(path, values)
    table = described(run_cli("info", path))
    assert table["Kind"] == "latents"
    assert table["Shape"] == "5 × 4 × 2 float16"
    assert table["Latents"] == "5 of 8 numbers"
    assert table["Value range"] == "-3 to 7"


def test_a_png_clip_folder_shows_its_frames_and_recipe(tmp_path, run_cli):
    latents = tmp_path / "path.npy"
    np.save(latents, np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32))
    folder = tmp_path / "frames"
    exported = run_cli("export", "--model", demo_model_path(), "--latents", latents, "--size",
                       "48", "--device", "cpu", "-o", f"{folder}/")
    assert exported.returncode == 0, exported.stderr
    table = described(run_cli("info", folder))
    assert (table["Folder"], table["Kind"]) == (str(folder), "clip saved as PNG frames")
    assert (table["PNG frames"], table["Frame size"]) == ("3", "48 × 48")
    assert table["Frames"] == "3 latents of 16 numbers"
    assert table["Keyframes"] == "none: latents rendered as they are"
    assert table["Export"].startswith("24 fps, 48 px longest side, lanczos, quality 23")
    assert table["Model"].startswith(str(demo_model_path().resolve()))
    recipe = described(run_cli("info", folder / "clip.json"))  # its recipe on its own
    assert recipe["Kind"] == "clip recipe" and recipe["Frames"] == table["Frames"]


def test_values_from_a_file_cannot_break_the_table(tmp_path, run_cli):
    session = replace(make_session(), video_path="clip\x1b[2J\nKind  forged.mp4")
    table = described(run_cli("info", save_session(session, tmp_path / "odd.lxsession")))
    assert table["Video"] == r"clip\x1b[2J\nKind  forged.mp4"
    assert table["Kind"] == "Latent Explorer session"


def test_damaged_or_misnamed_files_give_one_line_errors(tmp_path, run_cli):
    marker = tmp_path / "code-ran"
    text = tmp_path / "notes.lxsession"
    text.write_text("not a session")
    assert_one_line_error(run_cli("info", text), "notes.lxsession", "not a Latent Explorer session")
    session = save_session(make_session(), tmp_path / "work.lxsession")
    misnamed = tmp_path / "work.latents.npy"
    misnamed.write_bytes(session.read_bytes())  # the kind follows the name, not the content
    assert_one_line_error(run_cli("info", misnamed), "work.latents.npy", "not a readable .npy")
    pickled = tmp_path / "evil.npy"
    np.save(pickled, np.array([RunsCode(marker)], dtype=object), allow_pickle=True)
    assert_one_line_error(run_cli("info", pickled), "evil.npy")
    assert not marker.exists()
    _, json_path = save_recipe(build_recipe(np.zeros((2, 4), np.float32), ExportSettings(),
                                            model="m.safetensors", model_identity=None),
                               tmp_path / "lost.gif")
    (tmp_path / "lost.gif.latents.npy").unlink()
    assert_one_line_error(run_cli("info", json_path), "lost.gif.clip.json", "latents")
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "000000.png").write_text("not a png")
    (folder / "clip.json").write_text("{")
    assert_one_line_error(run_cli("info", folder), "clip.json", "not readable JSON")
    save_recipe(build_recipe(np.zeros((2, 4), np.float32), ExportSettings(),
                             model="m.safetensors", model_identity=None), f"{folder}/")
    assert_one_line_error(run_cli("info", folder), "000000.png is not a PNG image")
