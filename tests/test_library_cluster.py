"""``explorer library encode --ray-address`` on a two-node Ray cluster simulated on this
machine (``ray.cluster_utils.Cluster``), all of it on 127.0.0.1."""

from __future__ import annotations

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on loopback only

import pytest

from explorer.demo import demo_frames
from explorer.latent.trajectory import Trajectory
from explorer.library.catalog import load_library
from tests.conftest import write_mjpg
from tests.test_library import MODEL, assert_same_as_alone, encode_into


@pytest.fixture(scope="module")
def cluster():
    """A head and a second node, a CPU each: two workers need both nodes."""
    import ray
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized()  # the command connects by the address it is given
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1,
                                                            "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


def test_a_two_node_cluster_encodes_by_its_address(cluster, tmp_path):
    from explorer.model.files import load_model
    from explorer.pipeline.encode import encode_video

    assert cluster.address.startswith("127.0.0.1:")
    clips = tmp_path / "clips"
    clips.mkdir()
    for name, count in (("one.avi", 19), ("two.avi", 27)):
        write_mjpg(clips / name, demo_frames(count, 48))
    library = tmp_path / "lib"
    code, out, err = encode_into(library, clips,
                                 extra=("--ray-address", cluster.address, "--workers", "2"))
    assert code == 0, err
    assert "2 videos, 46 frames" in out
    vae = load_model(MODEL)
    for _, video in load_library(library).done():
        assert_same_as_alone(Trajectory.load(library / video.trajectory),
                             encode_video(video.path, vae))
    import ray

    assert not ray.is_initialized()  # the command let go of the cluster
