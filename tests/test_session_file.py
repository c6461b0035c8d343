"""Session files: complete round trips, clear refusals, and no torn files after a kill."""

import json
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from explorer.latent.keyframes import Keyframe
from explorer.latent.projection import PCAProjection
from explorer.latent.trajectory import Trajectory
from explorer.session.autosave import AutosaveStore
from explorer.session.document import Session, SessionError, load_session, save_session
from explorer.state.settings import ExportChoices, InterpolationSettings
from tests.conftest import PROJECT_ROOT


def make_session(frames: int = 50) -> Session:
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((frames, 8)).astype(np.float32)
    trajectory = Trajectory(mu, mu * 0 - 1, np.arange(frames), np.arange(frames) / 25.0,
                            meta={"video": {"fps": 25.0}}, psnr_db=np.full(frames, 30, np.float32))
    pca = PCAProjection.fit(mu)
    return Session(
        video_path="/videos/clip.mp4", video_fingerprint="abc", model_path="/m.safetensors",
        model_sha256="f00", trajectory=trajectory, projections={"pca": pca.state()},
        keyframes=[Keyframe(mu[3], 3), Keyframe(rng.standard_normal(8).astype(np.float32))],
        probe=mu[7], drawn_path=mu[:5],
        interpolation=InterpolationSettings(method="spline", seconds=3.0),
        export=ExportChoices(format="gif", fps=12.0, size=None, ping_pong=True),
        current_frame=17, view_range=[[-1.0, 2.0], [0.0, 1.0]],
    )


def test_a_session_stored_without_compression_reads_as_a_deflated_one(tmp_path):
    session = make_session(400)
    packed = save_session(session, tmp_path / "packed.lxsession")
    stored = save_session(session, tmp_path / "stored.lxsession", compress=False)
    for path, method in ((packed, zipfile.ZIP_DEFLATED), (stored, zipfile.ZIP_STORED)):
        with zipfile.ZipFile(path) as archive:
            assert archive.getinfo("arrays.npz").compress_type == method
    assert stored.stat().st_size > packed.stat().st_size
    a, b = load_session(packed), load_session(stored)
    np.testing.assert_array_equal(a.trajectory.mu, b.trajectory.mu)
    np.testing.assert_array_equal(a.trajectory.mu, session.trajectory.mu)
    assert [k.frame for k in a.keyframes] == [k.frame for k in b.keyframes] == [3, None]


def test_round_trip_keeps_everything(tmp_path):
    session = make_session()
    loaded = load_session(save_session(session, tmp_path / "work.lxsession"))
    np.testing.assert_array_equal(loaded.trajectory.mu, session.trajectory.mu)
    np.testing.assert_array_equal(loaded.trajectory.psnr_db, session.trajectory.psnr_db)
    assert loaded.trajectory.meta == session.trajectory.meta
    for got, want in zip(loaded.keyframes, session.keyframes, strict=True):
        assert got.frame == want.frame
        np.testing.assert_array_equal(got.latent, want.latent)
    np.testing.assert_array_equal(loaded.projections["pca"]["components"],
                                  session.projections["pca"]["components"])
    assert loaded.projections["pca"]["kind"] == "pca"
    np.testing.assert_array_equal(loaded.probe, session.probe)
    np.testing.assert_array_equal(loaded.drawn_path, session.drawn_path)
    assert (loaded.interpolation, loaded.export) == (session.interpolation, session.export)
    assert (loaded.current_frame, loaded.view_range) == (17, [[-1.0, 2.0], [0.0, 1.0]])
    assert (loaded.video_path, loaded.model_sha256) == ("/videos/clip.mp4", "f00")


def scened_session() -> Session:
    """A session with what version 2 added: directions, a moved path, named scenes."""
    from explorer.analysis.segments import Segmentation

    session = make_session()
    segment = np.repeat([0, 1, 2], [20, 20, 10])
    session.scenes = Segmentation(np.repeat([0, 1, 0], [20, 20, 10]), segment, 0.5)
    session.scene_names = ("Opening", "Square", "Opening again")
    session.directions = {"B − A": np.arange(8, dtype=np.float32), "PC 1": np.ones(8, np.float32)}
    session.path_shift = np.full(8, 0.5, np.float32)
    return session


def test_version_2_keeps_directions_the_moved_path_and_named_scenes(tmp_path):
    session = scened_session()
    loaded = load_session(save_session(session, tmp_path / "v2.lxsession"))
    assert list(loaded.directions) == ["B − A", "PC 1"]
    np.testing.assert_array_equal(loaded.directions["B − A"], np.arange(8))
    np.testing.assert_array_equal(loaded.path_shift, session.path_shift)
    np.testing.assert_array_equal(loaded.scenes.segment, session.scenes.segment)
    np.testing.assert_array_equal(loaded.scenes.cluster, session.scenes.cluster)
    assert loaded.scene_names == session.scene_names and loaded.scenes.silhouette == 0.5


def test_a_version_1_session_still_opens(tmp_path):
    path = save_session(make_session(), tmp_path / "v1.lxsession")
    rewrite(path, "session.json", lambda d: json.dumps(
        {key: value for key, value in {**json.loads(d), "version": 1}.items()
         if key not in ("directions", "scenes")}).encode())
    loaded = load_session(path)
    assert loaded.directions == {} and loaded.scenes is None and loaded.path_shift is None


@pytest.mark.parametrize(("name", "values", "message"), [
    ("scene.segment", np.repeat([0, 2, 3], [20, 20, 10]), "count up from 0 in steps of 1"),
    ("scene.segment", np.repeat([0, 1], [20, 30]), "2 scenes for 3 names"),
    ("scene.cluster", np.arange(50), "one cluster a scene"),
    ("directions", np.zeros((3, 8), np.float32), "directions"),
])
def test_bad_version_2_arrays_are_one_line(tmp_path, name, values, message):
    import io

    path = save_session(scened_session(), tmp_path / "bad.lxsession")

    def replace_array(data: bytes) -> bytes:
        arrays = dict(np.load(io.BytesIO(data)))
        arrays[name] = values
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    rewrite(path, "arrays.npz", replace_array)
    with pytest.raises(SessionError, match=message) as error:
        load_session(path)
    assert "\n" not in str(error.value)


def rewrite(path, name, transform):
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = transform(members[name])
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def test_bad_session_files_are_refused_with_one_line(tmp_path):
    good = save_session(make_session(), tmp_path / "good.lxsession")
    cases = {}
    cases["text"] = tmp_path / "text.lxsession"
    cases["text"].write_text("hello")
    cases["truncated"] = tmp_path / "truncated.lxsession"
    cases["truncated"].write_bytes(good.read_bytes()[:300])
    cases["future"] = tmp_path / "future.lxsession"
    cases["future"].write_bytes(good.read_bytes())
    rewrite(cases["future"], "session.json",
            lambda d: json.dumps({**json.loads(d), "version": 99}).encode())
    cases["bad json"] = tmp_path / "badjson.lxsession"
    cases["bad json"].write_bytes(good.read_bytes())
    rewrite(cases["bad json"], "session.json", lambda d: d[:20])
    cases["missing arrays"] = tmp_path / "arrays.lxsession"
    cases["missing arrays"].write_bytes(good.read_bytes())
    rewrite(cases["missing arrays"], "arrays.npz", lambda d: d[:100])
    expected = {"text": "not a zip", "truncated": "not a zip", "future": "newer Latent Explorer",
                "bad json": "damaged", "missing arrays": "damaged"}
    for name, path in cases.items():
        with pytest.raises(SessionError) as error:
            load_session(path)
        assert expected[name] in str(error.value) and "\n" not in str(error.value), name
    with pytest.raises(SessionError, match="not found"):
        load_session(tmp_path / "absent.lxsession")


CHILD = """
import sys
import numpy as np
from tests.test_session_file import make_session
from explorer.session.document import save_session
session = make_session(frames=20000)
print("ready", flush=True)
while True:
    session.current_frame += 1
    save_session(session, sys.argv[1])
"""


def test_a_kill_during_save_leaves_a_loadable_file(tmp_path):
    target = tmp_path / "work.lxsession"
    save_session(make_session(), target)
    for delay in (0.05, 0.17, 0.31):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], cwd=PROJECT_ROOT,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        session = load_session(target)  # the old file or a complete new one
        assert len(session.trajectory) in (50, 20000)


def test_autosaves_of_dead_processes_are_orphans(tmp_path):
    mine = AutosaveStore(tmp_path, pid=None)
    save_session(make_session(), mine.prepare())
    dead = AutosaveStore(tmp_path, pid=2**22 + 12345)
    save_session(make_session(), dead.prepare())
    assert mine.orphans() == [dead.path]
    mine.discard()
    assert not mine.path.exists() and dead.path.exists()
