"""``explorer bench``: the report's shape, never its timings (shared machines are noisy)."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from explorer.bench import (
    FULL,
    QUICK,
    SCALE_FIGURES,
    TARGETS,
    BenchResult,
    Rate,
    Target,
    best_rates,
    overlap_limit,
    scale_metric_names,
    scale_metrics,
    size_label,
    trajectory_like,
)
from explorer.commands.bench import format_table, format_value
from explorer.pipeline.prefetch import leave_cores
from tests.conftest import PROJECT_ROOT

FLOAT_METRICS = {
    "preview_overhead_ms_p95",
    "preview_latency_ms_p95",
    "decode_ms",
    "inverse_ms_p95",
    "umap_inverse_ms",
    "inverse_speedup",
    "encode_efficiency",
    "encode_overlap_limit",
    "encode_vs_limit",
    "reader_fps",
    "model_fps",
    "encode_fps",
    "export_efficiency",
    "export_overlap_limit",
    "decode_fps",
    "writer_fps",
    "export_fps",
    "encode_peak_rss_growth",
    "encode_rss_short_mb",
    "encode_rss_long_mb",
    "window_shown_s",
    "demo_ready_s",
    "ui_stall_ms_max",
    "umap_fit_s",
    "library_vs_sequential",
    "library_encode_fps",
    "sequential_encode_fps",
    "library_start_s",
    "ray_start_s",
}
INT_METRICS = {
    "preview_queue_max",
    "preview_requests",
    "preview_decoded",
    "encode_frames",
    "export_frames",
    "inverse_points",
    "umap_inverse_points",
    "ui_stall_points",
    "library_workers",
    "library_frames",
}
BOOL_METRICS = {"preview_last_is_latest", "quick"}
SCALE_METRICS = set(scale_metric_names(FULL.scale_points))
"""The full bench's scale section: floats, none of them in ``--quick``."""


@pytest.fixture(scope="module")
def quick_report() -> dict:
    """``explorer bench --quick --json``, run once, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "explorer", "bench", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_quick_json_has_every_metric_with_its_type(quick_report):
    assert {target.metric for target in TARGETS} <= (FLOAT_METRICS | INT_METRICS | BOOL_METRICS
                                                     | SCALE_METRICS)
    assert set(quick_report) == FLOAT_METRICS | INT_METRICS | BOOL_METRICS | {"device"}
    for name in FLOAT_METRICS:
        assert isinstance(quick_report[name], float), name
    for name in INT_METRICS:
        assert type(quick_report[name]) is int, name
    for name in BOOL_METRICS:
        assert isinstance(quick_report[name], bool), name
    assert isinstance(quick_report["device"], str)
    assert quick_report["quick"] is True
    assert quick_report["library_frames"] == QUICK.library_videos * QUICK.library_frames
    assert quick_report["library_workers"] >= 1


def test_table_lists_each_target_with_a_verdict(quick_report):
    table = format_table(BenchResult(quick_report, ["a note"]))
    for target in TARGETS:
        rows = [line for line in table.splitlines() if line.startswith(target.metric + " ")]
        if target.metric in SCALE_METRICS:
            assert not rows, "--quick has no scale section"
            continue
        passed = target.passes(quick_report[target.metric])
        verdict = ("pass" if passed else "FAIL") if target.applies(quick_report) else "n/a"
        assert target.text in rows[0] and rows[0].endswith(verdict)
    assert "targets pass on" in table and "note: a note" in table


def test_targets_hold_on_the_machines_they_name():
    gpu_only = Target("e", ">=", 0.85, machine="gpu")
    assert gpu_only.text == "≥ 0.85 (GPU)"
    assert not gpu_only.applies({"e": 0.5, "device": "cpu"})
    assert gpu_only.applies({"e": 0.5, "device": "cuda:0"})
    assert Target("e", ">=", 0.9, machine="cpu").applies({"e": 0.5, "device": "cpu"})
    assert not Target("e", ">=", 0.9).applies({"device": "cpu"}), "not measured"
    result = BenchResult({"encode_efficiency": 0.5, "encode_vs_limit": 0.95, "device": "cpu"})
    assert result.verdicts() == {"encode_vs_limit": True}


def test_scale_metrics_name_each_size_and_the_ratio():
    assert [size_label(count) for count in (1_000_000, 1_000, 25_000, 1_500)] == [
        "1m", "1k", "25k", "1500"]
    figures = {1_000_000: dict.fromkeys(SCALE_FIGURES, 6.0), 1_000: dict.fromkeys(SCALE_FIGURES, 2)}
    metrics = scale_metrics(figures)
    assert list(metrics) == scale_metric_names((1_000_000, 1_000))
    assert metrics["map_load_s_1m"] == 6.0 and metrics["map_load_s_1k"] == 2.0
    assert metrics["map_load_s_1m_vs_1k"] == 3.0
    assert all(isinstance(value, float) for value in metrics.values())


def test_targets_compare_in_their_direction():
    assert Target("a", "<=", 5.0, " ms").passes(5.0)
    assert not Target("a", "<=", 5.0).passes(5.1)
    assert Target("b", ">=", 0.85).passes(0.9) and not Target("b", ">=", 0.85).passes(0.8)
    assert Target("c", "==", True).passes(True) and not Target("c", "==", True).passes(False)
    assert Target("a", "<=", 5.0, " ms").text == "≤ 5 ms"
    assert Target("c", "==", True).text == "true"


def test_values_print_with_three_figures():
    assert format_value(0.034567) == "0.0346"
    assert format_value(1.0) == "1.00"
    assert format_value(12_345.6) == "12,346"
    assert format_value(True) == "true"
    assert format_value(1200) == "1,200"


def test_the_scale_child_works_the_window_and_reports_every_figure(tmp_path):
    """The scale section's child process on a trajectory just large enough for the map's
    density image and spatial index (the full bench's million frames take minutes)."""
    from explorer.latent.synthetic import random_walk_trajectory
    from explorer.ui.map_detail import DETAIL_LIMIT

    count = DETAIL_LIMIT + 1000
    walk = random_walk_trajectory(count, 16).save(tmp_path / "walk.npz")
    done = subprocess.run(
        [sys.executable, "-m", "explorer.bench", "scale", str(walk), str(count)],
        capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert set(figures) == set(SCALE_FIGURES)
    assert all(isinstance(value, float) and value > 0 for value in figures.values())


def test_best_rates_time_each_stage_after_a_warm_up_round():
    calls = {"a": 0, "b": 0}

    def stage(name):
        def run():
            calls[name] += 1

        return run

    rates = best_rates({"a": stage("a"), "b": stage("b")}, count=10, rounds=3)
    assert calls == {"a": 4, "b": 4}
    assert all(rate.per_s > 0 and rate.cpu_s >= 0 for rate in rates.values())


def test_best_rates_count_the_cpu_time_of_every_thread():
    def two_threads_busy():
        def spin():
            end = time.thread_time() + 0.05
            while time.thread_time() < end:
                pass

        workers = [threading.Thread(target=spin) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    rate = best_rates({"busy": two_threads_busy}, count=1, rounds=1)["busy"]
    assert rate.cpu_s >= 0.09, "both threads' CPU time counts"


def test_overlap_limit_is_the_slowest_stage_unless_the_cores_run_out():
    # two stages that each keep 2 cores busy: no overlap can beat doing them in turn
    balanced = [Rate(per_s=100.0, cpu_s=0.02), Rate(per_s=100.0, cpu_s=0.02)]
    assert overlap_limit(balanced, cores=2) == pytest.approx(0.5)
    # one cheap stage hides behind the other
    lopsided = [Rate(per_s=100.0, cpu_s=0.01), Rate(per_s=1000.0, cpu_s=0.001)]
    assert overlap_limit(lopsided, cores=2) == 1.0
    assert overlap_limit(balanced, cores=8) == 1.0


def test_trajectory_like_latents_are_a_smooth_curve():
    latents = trajectory_like(1000)
    assert latents.shape == (1000, 16) and latents.dtype == np.float32
    steps = np.linalg.norm(np.diff(latents, axis=0), axis=1)
    spread = np.linalg.norm(latents - latents.mean(axis=0), axis=1)
    assert np.median(steps) < 0.2 * np.median(spread)


def test_leave_cores_gives_torch_a_core_less_in_this_thread_until_the_end():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with leave_cores():
        assert torch.get_num_threads() == max(1, min(before, cores - 1))
    assert torch.get_num_threads() == before
