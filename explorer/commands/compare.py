"""``explorer compare``: one video through two models, as one figure (both maps, both PSNR
curves, sample reconstructions) and a table of each frame's PSNR under each model (see
:mod:`explorer.analysis.compare` for what is compared, and how)."""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.analysis.compare import (
    frame_psnr,
    match_rows,
    mean_db,
    paired_maps,
    write_compare_csv,
)
from explorer.analysis.compare_figure import Report, collect_samples, report_image
from explorer.commands.sources import encode_with_bar
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output, check_output_path
from explorer.latent.projection import PCAProjection
from explorer.model.open import open_model
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.encode import Selection
from explorer.video.reader import probe_video
from explorer.video.writer import write_png


def compare_command(args: argparse.Namespace) -> int:
    if len(args.model) != 2:
        raise ExplorerError(f"give --model exactly twice (the two models to compare), not "
                            f"{len(args.model)} time{'s' if len(args.model) != 1 else ''}")
    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise ExplorerError(f"-o names the figure, a .png file, not {output.name}")
    table_path = Path(args.csv) if args.csv is not None else output.with_suffix(".csv")
    inputs = (args.video, *args.model)
    check_output_path(output, args.overwrite, inputs)
    check_output_path(table_path, args.overwrite, inputs)
    if table_path.resolve() == output.resolve():
        raise ExplorerError("--csv and -o name the same file; give the table its own name")
    probe_video(args.video)
    vaes = [open_model(spec, device=args.device, trust_code=args.trust_code)
            for spec in args.model]
    # every frame, its PSNR measured: each model at its own input size
    selection = Selection(max_frames=args.max_frames, measure_error=True)
    cache = None if args.no_cache else TrajectoryCache()
    a, b = (encode_with_bar(args.video, spec, vae, selection, cache,
                            batch_size=args.batch_size)[0]
            for spec, vae in zip(args.model, vaes, strict=True))
    table = frame_psnr(a, b)
    maps = paired_maps(PCAProjection.fit(a.mu).embedding, "pca",
                       PCAProjection.fit(b.mu).embedding, "pca", match_rows(a, b))
    names = [_name(spec) for spec in args.model]
    if names[0] == names[1]:
        names = [str(Path(spec)) for spec in args.model]
    report = Report(f"{Path(args.video).name}: {len(table)} frames, two models",
                    names[0], names[1], maps, a.time_s, b.time_s, table,
                    collect_samples(args.video, vaes[0], a, vaes[1], b, table, args.samples))
    image = report_image(report)
    # nothing is written before all is computed; the table goes into place after the figure
    with atomic_output(table_path, overwrite=args.overwrite) as temp_table:
        write_compare_csv(temp_table, table)
        write_png(output, image, args.overwrite)
    print(f"wrote {output}: maps ({maps.note}), PSNR curves and {len(report.samples)} samples")
    print(f"wrote {table_path}: a line a frame (frame, time, psnr_a, psnr_b)")
    for letter, name, psnr in (("A", names[0], table.psnr_a), ("B", names[1], table.psnr_b)):
        mean = mean_db(psnr)
        print(f"  {letter} {name}: mean PSNR "
              f"{'not measured' if mean is None else f'{mean:.2f} dB'}")
    return 0


def _name(spec: str) -> str:
    """A model's short name: its file or folder's, or a plugin's ``module:factory``."""
    return Path(spec).name or spec
