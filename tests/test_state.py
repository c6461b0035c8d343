"""The application state without Qt: change events, undo, and the session round trip."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from explorer.latent.keyframes import Keyframe
from explorer.latent.projection import PCAProjection
from explorer.latent.trajectory import Trajectory
from explorer.session.document import SessionError, load_session, save_session
from explorer.state.app import AppState, Clip, LoadedModel, LoadedVideo
from explorer.state.settings import ExportChoices, InterpolationSettings
from explorer.state.undo import Edit, UndoStack
from tests.conftest import PROJECT_ROOT


def make_state(frames: int = 40, width: int = 6) -> AppState:
    rng = np.random.default_rng(1)
    mu = rng.standard_normal((frames, width)).astype(np.float32)
    frame_index = np.arange(frames) * 3  # every third frame was encoded
    meta = {"video": {"fps": 25.0, "fingerprint": "v1"}, "model": {"sha256": "m1"}}
    trajectory = Trajectory(mu, mu * 0, frame_index, frame_index / 25.0, meta=meta)
    state = AppState()
    state.open(LoadedVideo(PROJECT_ROOT / "clip.mp4", trajectory),
               LoadedModel(PROJECT_ROOT / "model.safetensors"), PCAProjection.fit(mu))
    return state


def recorder(state: AppState) -> list[str]:
    seen: list[str] = []
    state.changed.connect(seen.append)
    return seen


def test_state_and_sessions_never_import_qt_or_torch():
    code = ("import sys, explorer.state.app, explorer.session.document; "
            "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_a_trajectory_is_never_changed_in_place():
    state = make_state()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.trajectory.embedding = np.zeros((40, 2))
    laid_out = state.trajectory.with_embedding(np.zeros((40, 2), np.float32), {"kind": "pca"})
    assert state.trajectory.embedding is None and "projection" not in state.trajectory.meta
    assert laid_out.meta["projection"] == {"kind": "pca"} and laid_out.mu is state.trajectory.mu


def test_changes_are_announced_once_and_only_when_something_changed():
    state = make_state()
    seen = recorder(state)
    state.set_frame(5)
    state.set_frame(5)
    state.set_frame(10_000)  # clamped to the last row
    assert seen == ["frame", "frame"] and state.frame == 39
    state.set_interpolation(InterpolationSettings())  # the same values
    state.set_interpolation(InterpolationSettings(fps=12.0))
    state.set_export(ExportChoices(format="webm"))
    assert seen[2:] == ["interpolation", "export"]
    with pytest.raises(ValueError, match="umap"):
        state.show_layout("umap")


def test_frames_and_rows_map_both_ways():
    state = make_state()
    assert state.frame_number(4) == 12 and state.row_of_frame(12) == 4
    assert state.row_of_frame(13) is None and state.row_of_frame(10**6) is None
    keyframe = state.keyframe_at_row(4)
    assert keyframe.frame == 12
    np.testing.assert_array_equal(keyframe.latent, state.trajectory.mu[4])


def test_clip_edits_undo_and_redo_through_the_history():
    state = make_state()
    seen = recorder(state)
    first, second = state.keyframe_at_row(0), state.keyframe_at_row(9)
    state.edit_clip(state.clip.with_keyframes((first,)), "Add frame 0")
    state.edit_clip(state.clip.with_keyframes((first, second)), "Add frame 27")
    assert state.clip_path is not None and len(state.clip_path.latents) == 48
    assert state.clip_message == "2 keyframes, 48 frames."
    assert state.history.undo_text == "Add frame 27" and not state.history.clean
    state.history.undo()
    assert state.clip.keyframes == (first,) and state.clip_path is None
    state.history.redo()
    assert len(state.clip.keyframes) == 2 and state.clip_path.frames[-1] == 27
    drawn = state.trajectory.mu[:7]
    state.edit_clip(state.clip.with_drawn(drawn), "Draw path")
    assert state.clip_message == "Drawn path: 7 frames."
    state.history.undo()
    assert state.clip.drawn is None
    assert seen.count("clip") == 6


def test_clip_length_follows_the_interpolation_settings():
    state = make_state()
    state.edit_clip(Clip((state.keyframe_at_row(0), state.keyframe_at_row(1))), "Add")
    state.set_interpolation(InterpolationSettings(seconds=1.0, fps=10.0, method="lerp"))
    assert len(state.clip_path.latents) == 10
    state.set_interpolation(InterpolationSettings(seconds=0.1, fps=10.0))
    assert state.clip_path is not None and len(state.clip_path.latents) == 2


def test_probe_moves_are_undoable_and_a_click_in_place_is_not_an_edit():
    state = make_state()
    start, moved = state.trajectory.mu[0], state.trajectory.mu[5]
    state.set_probe(start)
    state.record_probe_move(start)
    assert not state.history.can_undo
    state.set_probe(moved)
    state.record_probe_move(start)
    state.history.undo()
    np.testing.assert_array_equal(state.probe, start)
    state.history.redo()
    np.testing.assert_array_equal(state.probe, moved)


def test_opening_another_video_drops_the_old_clip_probe_and_history_but_not_settings():
    state = make_state()
    state.edit_clip(Clip((state.keyframe_at_row(0),)), "Add")
    state.set_probe(state.trajectory.mu[3])
    state.set_interpolation(InterpolationSettings(method="spline"))
    other = make_state(frames=10)
    state.open(other.videos[0], other.models[0], other.projection)
    assert state.clip.keyframes == () and state.probe is None and not state.history.can_undo
    assert state.interpolation.method == "spline" and len(state.trajectory) == 10


def test_undo_stack_forgets_redo_after_a_new_edit_and_knows_when_it_is_clean():
    values = []
    stack = UndoStack()
    for value in (1, 2):
        values.append(value)
        stack.push(Edit(f"set {value}", values.append, value - 1, value))
    stack.set_clean()
    stack.undo()
    assert not stack.clean and stack.redo_text == "set 2"
    stack.push(Edit("set 5", values.append, 1, 5))
    assert not stack.can_redo and not stack.clean
    stack.undo()
    stack.undo()
    assert values[-2:] == [1, 0] and not stack.can_undo  # no way back to the saved point
    stack.clear()
    assert stack.clean and not stack.can_undo


def test_session_round_trip_restores_the_whole_state(tmp_path):
    state = make_state()
    state.edit_clip(Clip((state.keyframe_at_row(2), Keyframe(state.trajectory.mu[20] * 2))),
                    "Add")
    state.edit_clip(state.clip.with_drawn(state.trajectory.mu[10:14]), "Draw path")
    state.set_probe(state.trajectory.mu[8] + 0.5)
    state.set_frame(17)
    state.set_interpolation(InterpolationSettings(method="lerp", easing="ease-in", fps=30.0))
    state.set_export(ExportChoices(format="gif", size=None, quality=40, ping_pong=True))
    state.remember_view("pca", ((-1.0, 2.0), (-3.0, 4.0)))

    path = save_session(state.to_session(), tmp_path / "s.lxsession")
    restored = AppState.from_session(load_session(path))

    assert restored.frame == 17 and restored.projection_kind == "pca"
    assert restored.interpolation == state.interpolation and restored.export == state.export
    assert restored.export.format == "gif" and restored.export.size is None
    assert [k.frame for k in restored.clip.keyframes] == [6, None]
    np.testing.assert_allclose(restored.clip.keyframes[1].latent, state.trajectory.mu[20] * 2)
    np.testing.assert_array_equal(restored.clip.drawn, state.trajectory.mu[10:14])
    np.testing.assert_array_equal(restored.probe, state.probe)
    assert restored.view_ranges["pca"] == ((-1.0, 2.0), (-3.0, 4.0))
    np.testing.assert_allclose(restored.projection.embedding, state.projection.embedding,
                               atol=1e-6)
    assert restored.video_path == state.video_path and not restored.history.can_undo


def test_sessions_refuse_absurd_settings_with_one_line(tmp_path):
    import json
    import zipfile

    path = save_session(make_state().to_session(), tmp_path / "s.lxsession")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for key, value, word in (("export", {"fps": 1e9}, "export.fps"),
                             ("export", {"format": "exe"}, "export.format"),
                             ("interpolation", {"method": "warp"}, "interpolation.method")):
        document = json.loads(members["session.json"])
        document[key] = value
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("session.json", json.dumps(document))
            archive.writestr("arrays.npz", members["arrays.npz"])
        with pytest.raises(SessionError, match=word) as caught:
            load_session(path)
        assert "\n" not in str(caught.value)


def test_an_old_session_without_export_settings_opens_with_defaults(tmp_path):
    import json
    import zipfile

    path = save_session(make_state().to_session(), tmp_path / "s.lxsession")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members["session.json"])
    document["export"] = {}  # what sessions saved before export settings were kept
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("session.json", json.dumps(document))
        archive.writestr("arrays.npz", members["arrays.npz"])
    assert load_session(path).export == ExportChoices()


def test_poor_reconstructions_are_explained():
    from explorer.state.quality import reconstruction_warning

    state = make_state()
    trajectory = state.trajectory
    assert reconstruction_warning(trajectory, {}) is None  # not measured
    poor = dataclasses.replace(trajectory, psnr_db=np.full(len(trajectory), 15.0, np.float32),
                               meta={**trajectory.meta, "video": {"path": "/v/street.mp4"}})
    trained = {"training": {"source_video": "demo.mp4"}}
    assert reconstruction_warning(poor, trained) == (
        "Reconstructions are poor here (mean PSNR 15.0 dB): the model was trained on "
        "demo.mp4, not on this video")
    assert "does not reconstruct" in reconstruction_warning(poor, {})
    good = dataclasses.replace(poor, psnr_db=np.full(len(trajectory), 30.0, np.float32))
    assert reconstruction_warning(good, trained) is None
