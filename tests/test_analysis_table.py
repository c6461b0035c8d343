"""The trajectory as a table: a line a video frame, whatever a row covers."""

from __future__ import annotations

import csv

import numpy as np

from explorer.analysis.anomalies import score_anomalies
from explorer.analysis.segments import find_segments, write_segments_csv
from explorer.analysis.table import frame_lines, write_trajectory_csv
from explorer.latent.trajectory import Trajectory


def per_frame(rows: int = 6) -> Trajectory:
    mu = np.random.default_rng(0).normal(0, 1, (rows, 4)).astype(np.float32)
    frames = np.arange(0, 2 * rows, 2)  # every other frame
    return Trajectory(mu, np.zeros_like(mu), frames, frames / 25.0,
                      embedding=mu[:, :2].copy(), psnr_db=np.linspace(20, 30, rows))


def temporal() -> Trajectory:
    """Three latent steps: the first covers frame 0 alone, the others four frames each."""
    mu = np.random.default_rng(1).normal(0, 1, (3, 4)).astype(np.float32)
    first, last = np.array([0, 1, 5]), np.array([0, 4, 8])
    meta = {"video": {"fps": 10.0},
            "temporal": {"stride": 4, "causal_first_frame": True, "rule": "", "windows": []}}
    return Trajectory(mu, np.zeros_like(mu), first, first / 10.0, meta=meta, last_frame=last)


def read(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_latent_step_gets_a_line_for_each_frame_it_covers():
    lines = frame_lines(temporal())
    assert lines.frame.tolist() == list(range(9))
    assert lines.row.tolist() == [0, 1, 1, 1, 1, 2, 2, 2, 2]
    np.testing.assert_allclose(lines.time, np.arange(9) / 10.0)


def test_the_trajectory_table_has_every_column(tmp_path):
    trajectory = per_frame()
    segments = find_segments(trajectory.mu, trajectory.time_s)
    scores = score_anomalies(trajectory.mu, trajectory.psnr_db)
    write_trajectory_csv(tmp_path / "t.csv", trajectory, segments, scores)
    table = read(tmp_path / "t.csv")
    assert list(table[0]) == ["frame", "time", "x", "y", "psnr_db", "cluster", "segment",
                              "score"]
    assert [line["frame"] for line in table] == ["0", "2", "4", "6", "8", "10"]
    assert table[1]["time"] == "0.0800" and table[-1]["psnr_db"] == "30.00"
    assert float(table[2]["x"]) == float(f"{trajectory.embedding[2, 0]:.6g}")
    assert float(table[3]["score"]) == round(scores.score[3], 3)


def test_unknown_values_are_empty_fields(tmp_path):
    trajectory = temporal()
    write_trajectory_csv(tmp_path / "t.csv", trajectory)
    table = read(tmp_path / "t.csv")
    assert len(table) == 9
    assert {table[4][name] for name in ("x", "y", "psnr_db", "cluster", "segment", "score")} \
        == {""}
    write_segments_csv(tmp_path / "s.csv", trajectory, find_segments(trajectory.mu))
    assert [line["segment"] for line in read(tmp_path / "s.csv")] == ["0"] * 9
