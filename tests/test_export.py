"""Exported clips decode everywhere: codec, frame count, fps, size and content checked."""

import json
import os
import sys
import threading
import time
from dataclasses import asdict
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from explorer.errors import Cancelled
from explorer.latent.keyframes import Keyframe, clip_path, keyframes_at_frames
from explorer.latent.trajectory import Trajectory
from explorer.model.files import load_model
from explorer.model.identity import model_identity
from explorer.paths import demo_model_path
from explorer.pipeline import prefetch as prefetch_module
from explorer.pipeline.export import (
    ExportSettings,
    Originals,
    ShownFrame,
    build_recipe,
    export_clip,
    save_recipe,
)
from explorer.pipeline.recipe import load_recipe

CODECS = {"mp4": "h264", "webm": "vp9", "gif": "gif"}


@pytest.fixture(scope="module")
def vae():
    return load_model(demo_model_path())


@pytest.fixture(scope="module")
def path(vae):
    rng = np.random.default_rng(0)
    keyframes = [Keyframe(rng.standard_normal(16).astype(np.float32)) for _ in range(3)]
    return clip_path(keyframes, 20, "slerp")


def decode(file):
    with av.open(str(file)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return stream.codec_context.name, stream.average_rate, frames


@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
def test_clip_formats_decode_with_the_right_codec_count_rate_and_size(tmp_path, vae, path, fmt):
    output = tmp_path / f"clip.{fmt}"
    fps = 20.0 if fmt == "gif" else 24.0  # GIF delays are whole centiseconds
    export_clip(path.latents, vae, output, ExportSettings(fps=fps, size=128))
    codec, rate, frames = decode(output)
    assert codec == CODECS[fmt]
    assert len(frames) == 20 and frames[0].shape == (128, 128, 3)
    assert rate == Fraction(fps).limit_denominator(1001)
    expected = vae.decode(path.latents[[0, -1]])
    for got, want in zip((frames[0], frames[-1]), expected, strict=True):
        want = cv2.resize(want, (128, 128), interpolation=cv2.INTER_LANCZOS4)
        assert np.abs(got.astype(int) - want).mean() < 12, "first/last frame is the keyframe"


def test_mp4_is_h264_yuv420p_for_browsers(tmp_path, vae, path):
    output = tmp_path / "clip.mp4"
    export_clip(path.latents, vae, output, ExportSettings())
    with av.open(str(output)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_png_frames_are_exact(tmp_path, vae, path):
    export_clip(path.latents, vae, f"{tmp_path}/frames/", ExportSettings())
    files = sorted((tmp_path / "frames").glob("*.png"))
    assert len(files) == 20
    first = cv2.imread(str(files[0]))[..., ::-1].astype(int)
    # Lossless: the decoder's float rounding differs by batch, at most one level here and there.
    difference = np.abs(first - vae.decode(path.latents[:1])[0])
    assert difference.max() <= 1 and difference.mean() < 0.01


def test_ping_pong_side_by_side_and_counter(tmp_path, vae, path):
    shown = [ShownFrame(0, exact=True)] + [ShownFrame(7, exact=False)] * 19
    reads = []

    def read(frame):
        reads.append(frame)
        return np.full((64, 64, 3), 200 if frame == 0 else 90, np.uint8)

    output = tmp_path / "pp.mp4"
    export_clip(path.latents, vae, output,
                ExportSettings(side_by_side=True, frame_counter=True, ping_pong=True),
                originals=Originals(shown, read))
    _, _, frames = decode(output)
    assert len(frames) == 2 * 20 - 2
    assert frames[0].shape == (64, 128, 3)
    between_labels = (slice(25, 42), slice(10, 50))  # below the frame label, above the counter
    assert abs(frames[0][between_labels].mean() - 200) < 10, "the keyframe's own frame"
    assert abs(frames[5][between_labels].mean() - 90) < 10, "between keyframes, the nearest"
    assert reads == [0, 7], "a run of steps that show one frame reads it once"
    decoded_half = (slice(None), slice(64, None))
    way_back = np.abs(frames[1][decoded_half].astype(int) - frames[-1][decoded_half]).mean()
    assert way_back < 3, "the way back repeats frame 2"
    assert np.abs(frames[1].astype(int) - frames[18]).mean() > 3


def test_cancel_leaves_no_file_and_keeps_an_existing_one(tmp_path, vae, path):
    output = tmp_path / "clip.mp4"
    output.write_bytes(b"the user's older clip")
    calls = []
    with pytest.raises(Cancelled):
        export_clip(path.latents, vae, output,
                    ExportSettings(overwrite=True, batch_size=4),
                    should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert output.read_bytes() == b"the user's older clip"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"], "no temp file left behind"
    fresh = tmp_path / "fresh.webm"
    with pytest.raises(Cancelled):
        export_clip(path.latents, vae, fresh, ExportSettings(batch_size=4),
                    should_stop=lambda: True)
    assert not fresh.exists()


class WatchedVAE:
    """The demo model, noting where and when it decodes."""

    def __init__(self, vae):
        self._vae = vae
        self.frame_size, self.latent_shape = vae.frame_size, vae.latent_shape
        self.decoding = threading.Event()
        self.decoders: list[tuple[threading.Thread, int]] = []

    def decode(self, latents):
        self.decoding.set()
        try:
            thread = threading.current_thread()
            self.decoders.append((thread, os.getpriority(os.PRIO_PROCESS, thread.native_id)))
            time.sleep(0.01)  # long enough for a preview to run into it
            return self._vae.decode(latents)
        finally:
            self.decoding.clear()


def test_decoding_runs_politely_beside_the_caller_and_never_during_previews(
    tmp_path, vae, path, monkeypatch
):
    monkeypatch.setattr(prefetch_module, "PATIENCE_S", 60.0)  # polite even on a busy machine
    watched = WatchedVAE(vae)
    clashes = []

    def serve_previews():
        clashes.append(watched.decoding.is_set())
        time.sleep(0.005)
        clashes.append(watched.decoding.is_set())

    export_clip(path.latents, watched, tmp_path / "clip.mp4", ExportSettings(batch_size=4),
                between_batches=serve_previews)
    assert len(watched.decoders) == 5 and len(clashes) == 10
    assert not any(clashes), "a preview ran while the export was decoding"
    assert all(thread is not threading.current_thread() for thread, _ in watched.decoders)
    if sys.platform.startswith("linux"):
        normal = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert [priority for _, priority in watched.decoders] == [normal] + [19] * 4


def test_inner_keyframes_are_shown_exactly(vae):
    rng = np.random.default_rng(1)
    keyframes = [Keyframe(rng.standard_normal(16).astype(np.float32), frame=f)
                 for f in (0, 50, 90)]
    clip = clip_path(keyframes, 31, "spline")
    assert clip.frames[0] == 0 and clip.frames[-1] == 90 and clip.frames.count(50) == 1
    step = clip.frames.index(50)
    np.testing.assert_array_equal(clip.latents[step], keyframes[1].latent)


def test_export_command_writes_clip_and_recipe(tmp_path, run_cli, demo_clip):
    output = tmp_path / "out.webm"
    result = run_cli("export", "--model", demo_model_path(), "--video", demo_clip,
                     "--keyframes", "0,20,39", "--steps", "12", "--fps", "12",
                     "--size", "96", "--side-by-side", "-o", output)
    assert result.returncode == 0, result.stderr
    codec, rate, frames = decode(output)
    assert (codec, rate, len(frames), frames[0].shape) == ("vp9", 12, 12, (96, 192, 3))
    recipe = json.loads((tmp_path / "out.webm.clip.json").read_text())
    assert [k["frame"] for k in recipe["keyframes"]] == [0, 20, 39]
    latents = np.load(tmp_path / "out.webm.latents.npy")
    assert latents.shape == (12, 16)
    again = f"{tmp_path}/again/"
    rerun = run_cli("export", "--model", demo_model_path(), "--latents",
                    tmp_path / "out.webm.latents.npy", "-o", again)
    assert rerun.returncode == 0, rerun.stderr
    assert len(list((tmp_path / "again").glob("*.png"))) == 12
    refused = run_cli("export", "--model", demo_model_path(), "--latents",
                      tmp_path / "out.webm.latents.npy", "-o", output)
    assert refused.returncode == 1 and "--overwrite" in refused.stderr


def test_export_command_rejects_bad_keyframes_and_latents(tmp_path, run_cli, demo_clip):
    result = run_cli("export", "--model", demo_model_path(), "--video", demo_clip,
                     "--keyframes", "0,500", "-o", tmp_path / "x.mp4")
    assert result.returncode == 1 and "frame 500 is not in the trajectory" in result.stderr
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 5), np.float32))
    result = run_cli("export", "--model", demo_model_path(), "--latents", wrong,
                     "-o", tmp_path / "x.mp4")
    assert result.returncode == 1 and "expected [N, 16]" in result.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_a_built_recipe_round_trips_through_its_files(tmp_path):
    rng = np.random.default_rng(4)
    latents = rng.standard_normal((7, 16)).astype(np.float32)
    keyframes = [Keyframe(latents[0], frame=3), Keyframe(latents[-1])]  # a frame and a probe
    settings = ExportSettings(fps=12.5, size=96, resize_filter="bicubic", ping_pong=True)
    recipe = build_recipe(latents, settings, keyframes=keyframes, method="spline",
                          easing="ease-in", model=demo_model_path(), model_identity="abc123",
                          video=tmp_path / "source.mp4")
    assert recipe.keyframes == [{"frame": 3}, {"latent": [float(v) for v in latents[-1]]}]
    assert recipe.settings == {
        **asdict(settings), "method": "spline", "easing": "ease-in",
        "model": str(demo_model_path().resolve()), "model_identity": "abc123",
        "video": str((tmp_path / "source.mp4").resolve()),
    }
    _, json_path = save_recipe(recipe, tmp_path / "clip.mp4")
    loaded = load_recipe(json_path)
    np.testing.assert_array_equal(loaded.latents, latents)
    assert (loaded.keyframes, loaded.settings) == (recipe.keyframes, recipe.settings)
    rendered = build_recipe(latents, settings, model="package.module:factory",
                            model_identity=None)  # latents rendered as they are, by a plugin
    assert rendered.keyframes == [] and "video" not in rendered.settings
    assert rendered.settings["model"] == "package.module:factory"
    (tmp_path / "frames").mkdir()  # a PNG export's recipe goes inside its folder
    _, json_path = save_recipe(rendered, f"{tmp_path}/frames/")
    assert load_recipe(json_path).settings == rendered.settings


def test_the_export_command_writes_the_recipe_build_recipe_makes(tmp_path, run_cli, demo_clip):
    model = demo_model_path()
    trajectory_file = tmp_path / "t.npz"
    assert run_cli("encode", demo_clip, "--model", model, "-o", trajectory_file).returncode == 0
    output = tmp_path / "out.gif"
    result = run_cli("export", "--model", model, "--trajectory", trajectory_file,
                     "--keyframes", "0,20,39", "--steps", "9", "--fps", "10", "--size", "32",
                     "--method", "spline", "--easing", "ease-out", "--filter", "nearest",
                     "--quality", "30", "--counter", "--ping-pong", "-o", output)
    assert result.returncode == 0, result.stderr
    written = load_recipe(tmp_path / "out.gif.clip.json")

    trajectory = Trajectory.load(trajectory_file)
    keyframes = keyframes_at_frames(trajectory, [0, 20, 39])
    path = clip_path(keyframes, 9, "spline", "ease-out")
    settings = ExportSettings(fps=10.0, size=32, resize_filter="nearest", quality=30,
                              frame_counter=True, ping_pong=True)
    built = build_recipe(path.latents, settings, keyframes=keyframes, method="spline",
                         easing="ease-out", model=model, model_identity=model_identity(model),
                         video=trajectory.meta["video"]["path"])
    assert written.settings == built.settings
    assert written.keyframes == built.keyframes
    np.testing.assert_allclose(written.latents, built.latents, rtol=0, atol=1e-6)
