"""Latent traversals: what moving along one latent axis does, the others held.

The axes of a flat latent are its dimensions, ordered by how much the model uses them:
for a VAE (one that reports a log-variance) by their mean KL divergence from the prior,
else by the variance of the means over the video. A dimension is dead when the means do
not vary over the video: an "active unit" (Burda et al., 2016) varies by more than
:data:`ACTIVE_VARIANCE` (for a VAE, whose prior has variance 1), or for a model with no
log-variance by more than that share of its busiest dimension. Dead dimensions come last.

An image-shaped latent (``[C, H, W]``) has thousands of numbers, each a few pixels' worth:
its axes are instead the video's principal directions (GANSpace's idea), ordered by the
variance along them.

A traversal sets the coordinate along an axis to the video's mean there plus ``t``
standard deviations of the video along it, keeping the rest of a starting latent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.analysis.features import along
from explorer.errors import ExplorerError
from explorer.latent.projection import principal_axes
from explorer.latent.trajectory import Trajectory

ACTIVE_VARIANCE = 0.01
"""The variance of a dimension's means over the video from which it counts as used."""
PRINCIPAL_DIRECTIONS = 10
"""Principal directions offered as axes for an image-shaped latent."""
MAX_ROWS = 64
"""The most axes one traversal shows."""
STEPS = (2, 61)
"""The fewest and most values a traversal shows along an axis."""
DEVIATIONS = (0.1, 10.0)
"""How far a traversal may go each way, in standard deviations: beyond ten, any decoder
shows only its own artefacts."""


@dataclass(frozen=True)
class TraversalAxes:
    """The axes of a trajectory's latent space, most used first."""

    kind: str
    """``"dimension"`` or ``"principal direction"``."""
    number: np.ndarray
    """[K] each axis's number: a dimension's index, or a principal direction's rank."""
    centre: np.ndarray
    """[K] the video's mean coordinate along each axis."""
    spread: np.ndarray
    """[K] the video's standard deviation along each axis."""
    importance: np.ndarray
    """[K] what the axes are ordered by: mean KL (nats) or variance (:attr:`measure`)."""
    measure: str
    """``"KL"`` or ``"variance"``."""
    dead: np.ndarray
    """[K] bool."""
    directions: np.ndarray | None = None
    """[K, D] unit rows for principal directions, about :attr:`mean`; None for dimensions."""
    mean: np.ndarray | None = None
    """[D] the video's mean latent, for principal directions."""

    def label(self, axis: int) -> str:
        """``z3`` (dimension 3) or ``pc0`` (the first principal direction)."""
        return f"{'z' if self.directions is None else 'pc'}{self.number[axis]}"

    def pick(self, numbers: Sequence[int] | None = None) -> list[int]:
        """Positions of the axes with these numbers (dimension indices, or principal
        direction ranks), in the order given; all of them, most used first, for None
        (at most :data:`MAX_ROWS`)."""
        if numbers is None:
            return list(range(min(len(self.number), MAX_ROWS)))
        where = {int(number): axis for axis, number in enumerate(self.number)}
        wrong = [number for number in numbers if number not in where]
        if wrong:
            raise ExplorerError(
                f"{self.kind} {wrong[0]} does not exist: there are {len(self.number)} "
                f"{self.kind}s, numbered 0 to {len(self.number) - 1}")
        if len(numbers) > MAX_ROWS:
            raise ExplorerError(f"a traversal shows at most {MAX_ROWS} {self.kind}s, not "
                                f"{len(numbers)}")
        return [where[int(number)] for number in numbers]

    def coordinate(self, latents: np.ndarray, axis: int) -> np.ndarray:
        """Flat ``latents`` [N, D] along ``axis``: [N]."""
        latents = np.asarray(latents, np.float64)
        if self.directions is None:
            return latents[:, self.number[axis]]
        return (latents - self.mean) @ self.directions[axis]

    def deviations(self, latents: np.ndarray, axis: int) -> np.ndarray:
        """Where flat ``latents`` [N, D] lie along ``axis``, in the video's standard
        deviations from its mean there (a slider's position): [N], zeros for a dead axis
        that does not vary at all."""
        spread = self.spread[axis]
        offset = self.coordinate(latents, axis) - self.centre[axis]
        return offset / spread if spread > 0 else np.zeros_like(offset)

    def moved(self, base: np.ndarray, axis: int, deviations: np.ndarray) -> np.ndarray:
        """Copies of the flat latent ``base`` [D] whose coordinate along ``axis`` is the
        video's mean plus each of ``deviations`` [S] standard deviations: [S, D] float32."""
        base = np.asarray(base, np.float64).reshape(1, -1)
        values = self.centre[axis] + np.asarray(deviations, np.float64) * self.spread[axis]
        latents = np.repeat(base, len(values), axis=0)
        if self.directions is None:
            latents[:, self.number[axis]] = values
        else:
            change = values - self.coordinate(base, axis)[0]
            latents += change[:, None] * self.directions[axis]
        return latents.astype(np.float32)


def traversal_axes(trajectory: Trajectory) -> TraversalAxes:
    """The axes of ``trajectory``'s latents (see the module docstring)."""
    if len(trajectory.latent_shape) > 1:
        return principal_direction_axes(trajectory.mu)
    return dimension_axes(trajectory.mu, trajectory.logvar)


def dimension_axes(mu: np.ndarray, logvar: np.ndarray) -> TraversalAxes:
    """The dimensions of flat latents ``mu`` [N, D], with their ``logvar``: by mean KL when
    the log-variance varies (a VAE's), else by variance (a model that reports a constant
    one has none)."""
    mu = np.asarray(mu, np.float64)
    variance = mu.var(axis=0)
    if np.ptp(logvar) > 0:
        logvar = np.asarray(logvar, np.float64)
        importance = 0.5 * np.mean(np.square(mu) + np.exp(logvar) - 1.0 - logvar, axis=0)
        measure, dead = "KL", variance <= ACTIVE_VARIANCE
    else:
        importance, measure = variance, "variance"
        dead = variance <= ACTIVE_VARIANCE * variance.max()
    order = np.lexsort((-importance, dead))  # live first, then by importance
    return TraversalAxes("dimension", order, mu.mean(axis=0)[order], np.sqrt(variance)[order],
                         importance[order], measure, dead[order])


def principal_direction_axes(latents: np.ndarray,
                         count: int = PRINCIPAL_DIRECTIONS) -> TraversalAxes:
    """The top ``count`` principal directions of ``latents`` [N, ...]; directions the
    video hardly moves along (a short video has fewer than ``count``) are dead."""
    flat = np.asarray(latents).reshape(len(latents), -1)
    count = min(count, flat.shape[1])
    mean, directions = principal_axes(flat, count)
    variance = along(flat, mean, directions).var(axis=0)
    dead = variance <= ACTIVE_VARIANCE * variance.max()
    return TraversalAxes("principal direction", np.arange(count), np.zeros(count),
                         np.sqrt(variance), variance, "variance", dead, directions, mean)


def traversal_latents(axes: TraversalAxes, base: np.ndarray, picked: Sequence[int],
                      steps: int, deviations: float) -> np.ndarray:
    """The classic grid: a row for each of the ``picked`` axes, ``steps`` columns from
    ``-deviations`` to ``+deviations`` standard deviations, from the flat latent ``base``:
    [rows, steps, D] float32."""
    if not (STEPS[0] <= steps <= STEPS[1] and DEVIATIONS[0] <= deviations <= DEVIATIONS[1]):
        raise ExplorerError(f"a traversal takes {STEPS[0]} to {STEPS[1]} steps out to "
                            f"{DEVIATIONS[0]:g} to {DEVIATIONS[1]:g} standard deviations, not "
                            f"{steps} to {deviations:g}")
    values = np.linspace(-deviations, deviations, steps)
    return np.stack([axes.moved(base, axis, values) for axis in picked])
