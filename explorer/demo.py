"""The procedural demo clip: smooth, looping motion whose latent trajectory is a closed curve.

A rounded shape travels a figure-of-eight while it turns, changes colour and morphs from a
circle to a squircle and back; a small moon orbits it; the background's hue drifts. Every
quantity is a periodic function of the loop phase, so frame N wraps around to frame 0.

Regenerate the bundled clip and model (see ``resources/demo/README.md``)::

    python -m explorer.demo resources/demo/demo.mp4
    explorer train resources/demo/demo.mp4 -o resources/demo/demo_vae.safetensors ...
"""

from __future__ import annotations

import argparse
import colorsys
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TAU = 2 * np.pi


def demo_frame(phase: float, size: int = 256) -> np.ndarray:
    """The RGB uint8 frame [size, size, 3] at loop ``phase`` in [0, 1)."""
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(coords, coords, indexing="ij")
    angle = TAU * phase

    top = _hue(0.60 + 0.08 * np.sin(angle), 0.45, 0.30)
    bottom = _hue(0.75 + 0.08 * np.cos(angle), 0.55, 0.12)
    image = top + (bottom - top) * y[..., None]

    centre_x = 0.5 + 0.24 * np.sin(angle)
    centre_y = 0.5 + 0.18 * np.sin(2 * angle)
    radius = 0.17 + 0.03 * np.sin(3 * angle)
    exponent = 2.0 + 2.5 * (1 - np.cos(angle)) / 2
    rotation = angle / 2 + 0.4 * np.sin(angle)
    body = _superellipse(x, y, centre_x, centre_y, radius, exponent, rotation, size)
    image = _over(image, body, _hue(phase, 0.75, 0.95))

    moon_x = centre_x + 0.27 * np.cos(-2 * angle)
    moon_y = centre_y + 0.27 * np.sin(-2 * angle)
    moon = _superellipse(x, y, moon_x, moon_y, 0.06, 2.0, 0.0, size)
    image = _over(image, moon, _hue(phase + 0.5, 0.6, 1.0))
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def demo_frames(count: int, size: int = 256) -> Iterator[np.ndarray]:
    """``count`` frames covering exactly one loop."""
    for index in range(count):
        yield demo_frame(index / count, size)


def write_demo_clip(
    path: str | os.PathLike[str], frames: int = 240, size: int = 256, fps: float = 24.0
) -> Path:
    """Render the demo loop and write it as a video (format from the extension)."""
    from explorer.video.writer import ClipWriter

    with ClipWriter(path, fps=fps, quality=18, overwrite=True) as writer:
        for frame in demo_frames(frames, size):
            writer.write(frame)
    return Path(path)


def _hue(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value), dtype=np.float32)


def _superellipse(
    x: np.ndarray,
    y: np.ndarray,
    centre_x: float,
    centre_y: float,
    radius: float,
    exponent: float,
    rotation: float,
    size: int,
) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a rotated superellipse |u|^p + |v|^p <= 1."""
    cos, sin = np.cos(rotation), np.sin(rotation)
    u = ((x - centre_x) * cos + (y - centre_y) * sin) / radius
    v = (-(x - centre_x) * sin + (y - centre_y) * cos) / radius
    norm = (np.abs(u) ** exponent + np.abs(v) ** exponent) ** (1.0 / exponent)
    edge_in_pixels = (norm - 1.0) * radius * size
    return np.clip(0.5 - edge_in_pixels, 0.0, 1.0)


def _over(image: np.ndarray, coverage: np.ndarray, colour: np.ndarray) -> np.ndarray:
    alpha = coverage[..., None]
    return image * (1 - alpha) + colour * alpha


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the procedural demo clip.")
    parser.add_argument("output", type=Path, help="video file to write (.mp4, .webm, .gif)")
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--fps", type=float, default=24.0)
    args = parser.parse_args(argv)
    write_demo_clip(args.output, args.frames, args.size, args.fps)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
