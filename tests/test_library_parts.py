"""The videos of a library's joined trajectory, as the window's state reads them: which
rows are whose, their labels, colours and hiding; and the joined metadata checked like
every other file's."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer.latent.keyframes import Keyframe
from explorer.latent.projection import PCAProjection
from explorer.latent.trajectory import Trajectory
from explorer.library.catalog import load_library, save_library
from explorer.library.joined import join_library, library_fingerprint, rejoin_library
from explorer.library.parts import joined_videos
from explorer.state.app import AppState, LoadedModel, LoadedVideo
from tests.conftest import LIBRARY_CLIPS as CLIPS


def joined_state(folder) -> AppState:
    joined = join_library(folder, load_library(folder))
    state = AppState()
    state.open(LoadedVideo(folder, joined.trajectory), LoadedModel(folder),
               PCAProjection.fit(joined.trajectory.mu))
    return state


def test_rows_labels_and_pairs_follow_the_videos(library):
    joined = join_library(library, load_library(library))
    parts = joined_videos(joined.trajectory)
    counts = list(CLIPS.values())
    np.testing.assert_array_equal(np.bincount(parts.row_video), counts)
    assert [parts.rows_of(position) for position in range(3)] == [(0, 23), (23, 54), (54, 71)]
    b_frame_7 = int(joined.trajectory.frame_index[23 + 7])
    assert parts.label(b_frame_7) == "b.avi, frame 7"
    assert parts.split(b_frame_7) == (1, 7)
    assert parts.pairs([4, b_frame_7]) == "0:4,1:7"
    assert parts.fps == (24.0, 24.0, 24.0)
    keyframes = [Keyframe(np.zeros(1, np.float32), b_frame_7), Keyframe(np.zeros(1, np.float32))]
    assert [k.frame for k in parts.recipe_keyframes(keyframes)] == [7, None]
    assert parts.recipe_settings(keyframes)["library_keyframes"] == "1:7"
    assert joined_videos(Trajectory.load(library / load_library(library).videos[0]
                                         .trajectory)) is None, "one video's is no library's"


def test_the_joined_trajectory_survives_a_file_and_hostile_metadata_is_one_line(
        library, tmp_path):
    joined = join_library(library, load_library(library))
    saved = Trajectory.load(joined.trajectory.save(tmp_path / "joined.npz"))
    assert joined_videos(saved).names == tuple(CLIPS)
    meta = dict(joined.trajectory.meta)
    for broken, message in (
        ({**meta["library"], "offsets": [0, 40, 30]}, "offsets must start at 0 and increase"),
        ({**meta["library"], "names": ["a.avi"]}, "must be as long as each other"),
        ({**meta["library"], "videos": []}, "library.videos"),
    ):
        hostile = joined.trajectory.with_meta(library=broken).save(tmp_path / "bad.npz")
        with pytest.raises(ExplorerError, match=message) as error:
            Trajectory.load(hostile)
        assert "\n" not in str(error.value)


def test_a_fingerprint_changes_when_a_video_is_encoded_again(library, tmp_path):
    document = load_library(library)
    before = library_fingerprint(document)
    assert before == library_fingerprint(load_library(library)), "the same library, the same"
    changed = document.videos[1].model_copy(update={"fingerprint": "0" * 32})
    other = document.model_copy(update={"videos": [document.videos[0], changed,
                                                   document.videos[2]]})
    assert library_fingerprint(other) != before


def test_a_saved_trajectory_rejoins_only_the_library_it_came_from(library, tmp_path):
    document = load_library(library)
    joined = join_library(library, document)
    assert rejoin_library(library, document, joined.trajectory).videos == (0, 1, 2)
    copy = tmp_path / "lib"
    copy.mkdir()
    renamed = document.videos[2].model_copy(update={"path": str(tmp_path / "other.avi")})
    save_library(copy, document.model_copy(update={"videos": [*document.videos[:2], renamed]}))
    with pytest.raises(ExplorerError, match=r"no longer holds c\.avi"):
        rejoin_library(copy, load_library(copy), joined.trajectory)


def test_the_state_colours_by_video_and_hides_all_but_the_current_one(library):
    state = joined_state(library)
    assert state.colourings == ("time", "video") and state.colouring == "video"
    colours = state.point_colours
    assert colours.categorical and colours.categories == tuple(CLIPS)
    np.testing.assert_array_equal(colours.values, state.library.row_video)
    events: list[str] = []
    state.changed.connect(events.append)
    state.set_video_hidden(1, True)
    state.set_video_hidden(0, True)  # the video on screen stays
    assert state.hidden_videos == {1} and events == ["points"]
    assert state.shown_rows.sum() == 71 - 31
    state.set_frame(30)  # a frame of the hidden video: it shows again
    assert state.hidden_videos == frozenset() and state.shown_rows is None
    state.set_colouring("time")
    assert not state.point_colours.categorical
    with pytest.raises(ValueError):
        state.set_colouring("psnr")  # not measured when the library was encoded
    assert state.describe_frame(state.frame_number(30)) == "b.avi, frame 7"


def test_a_library_json_is_what_a_session_fingerprints(library):
    state = joined_state(library)
    session = state.to_session()
    assert session.video_fingerprint == library_fingerprint(load_library(library))
    assert json.loads(json.dumps(session.trajectory.meta))["library"]["names"] == list(CLIPS)
