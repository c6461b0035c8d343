"""``explorer bench``: measure the interactive, encode and export targets and print them.

A target that fails is reported, not an error: the command exits 0 whenever the bench
itself ran. Progress goes to standard error, so ``--json`` output can be piped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from explorer.bench import FULL, TARGETS, BenchResult, BenchSettings, run_bench, scale_metric_names
from explorer.errors import ExplorerError
from explorer.paths import demo_model_path

_ROWS = (
    "preview_overhead_ms_p95",
    "preview_latency_ms_p95",
    "decode_ms",
    "preview_queue_max",
    "preview_last_is_latest",
    "preview_requests",
    "preview_decoded",
    "inverse_ms_p95",
    "umap_inverse_ms",
    "inverse_speedup",
    "encode_vs_limit",
    "encode_efficiency",
    "encode_overlap_limit",
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
    "library_vs_sequential",
    "library_encode_fps",
    "sequential_encode_fps",
    "library_workers",
    "library_start_s",
    "ray_start_s",
    "window_shown_s",
    "demo_ready_s",
    "ui_stall_ms_max",
    "umap_fit_s",
    *scale_metric_names(FULL.scale_points),
)
"""Table order: each target followed by the numbers that explain it (rows a run did not
measure are left out: ``--quick`` has no scale section)."""


def bench_command(args: argparse.Namespace) -> int:
    """Run the bench with ``args.model``, ``args.video``, ``args.quick``; print ``args.json``."""
    if args.video is not None and not args.video.exists():
        raise ExplorerError(f"video not found: {args.video}")
    started = time.monotonic()
    settings = BenchSettings(
        model=args.model or str(demo_model_path()),
        video=args.video,
        quick=args.quick,
        trust_code=args.trust_code,
    )
    result = run_bench(
        settings,
        log=lambda step: print(f"bench: {step}…", file=sys.stderr, flush=True),
    )
    print(f"bench: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(json.dumps(result.metrics, indent=2) if args.json else format_table(result))
    return 0


def format_table(result: BenchResult) -> str:
    """The metrics as a text table: metric, value, target, pass; notes underneath."""
    targets = {target.metric: target for target in TARGETS}
    verdicts = result.verdicts()
    rows = [("metric", "value", "target", "pass")]
    for metric in (name for name in _ROWS if name in result.metrics):
        target = targets.get(metric)
        value = format_value(result.metrics[metric])
        if target is None:
            rows.append((metric, value, "", ""))
        else:
            rows.append((metric, value, target.text, _verdict(verdicts.get(metric))))
    lines = _aligned(rows)
    quick = " (--quick)" if result.metrics["quick"] else ""
    device = result.metrics["device"]
    lines.append(f"\n{sum(verdicts.values())}/{len(verdicts)} targets pass on {device}{quick}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def _verdict(passed: bool | None) -> str:
    """pass, FAIL, or n/a for a target of other machines (a GPU's, on the CPU)."""
    return "n/a" if passed is None else "pass" if passed else "FAIL"


def _aligned(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """Left-aligned columns, with a rule under the header."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return [line.rstrip() for line in lines]


def format_value(value: object) -> str:
    """Three significant figures, whole numbers from 100 up; booleans as true/false."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:#.3g}"
    return str(value)
