"""The linear baseline a trained model must beat: PCA with as many components as latents.

PCA is fitted on the training frames and scored on the held-out ones, exactly as the
model is (same fitted frames, same split, PSNR per frame then averaged, reconstructions
clipped to [0, 1]), so the two figures compare like with like. A model that does not beat
it has learnt less than a linear projection would. The same fit is where training starts
(:meth:`explorer.model.conv_vae.ConvVAE.start_from_pca`); spatial latents start from PCA of
the frames' patches instead (:func:`fit_patch_pca`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_FIT_VALUES = 64 * 2**20
"""At most this many float32 values (256 MB) are fitted: for long videos or large frames,
PCA is fitted on training frames evenly spaced among them."""
_BATCH = 64


@dataclass(frozen=True)
class FramePCA:
    """PCA of frames flattened as they are stored (height, width, channel), in [0, 1]."""

    mean: np.ndarray
    """[values] float32."""
    axes: np.ndarray
    """[k, values] float32 unit rows, k ≤ the components asked for."""
    spreads: np.ndarray
    """[k] float32: the standard deviation of the fitted frames along each axis."""

    def holdout_psnr(self, frames: np.ndarray, indices: np.ndarray) -> float:
        """Mean PSNR (dB) of ``frames[indices]`` projected on the axes and clipped."""
        scores = []
        for start in range(0, len(indices), _BATCH):
            held = _flat(frames[indices[start : start + _BATCH]])
            centred = held - self.mean
            projected = np.clip(centred @ self.axes.T @ self.axes + self.mean, 0.0, 1.0)
            mse = np.square(projected - held).mean(axis=1)
            scores.append(10 * np.log10(1.0 / np.maximum(mse, 1e-10)))
        return float(np.concatenate(scores).mean())


def fit_frame_pca(frames: np.ndarray, train_index: np.ndarray, components: int) -> FramePCA:
    """The first ``components`` principal components of ``frames[train_index]`` (uint8
    [N, H, W, 3]), fitted on at most :data:`MAX_FIT_VALUES` values of evenly spaced frames.

    Found through the n × n Gram matrix, since there are far fewer frames than pixel
    values: several times faster than an SVD. Axes of (numerically) zero variance are
    dropped, so a clip of fewer frames than components keeps what it has.
    """
    data = _flat(frames[_fitted_rows(frames, train_index)])
    mean = data.mean(axis=0)
    data -= mean
    variances, vectors = np.linalg.eigh((data @ data.T).astype(np.float64))
    kept = _leading(variances, components)
    axes = (vectors[:, kept].T @ data) / np.sqrt(variances[kept])[:, None]
    spreads = np.sqrt(variances[kept] / len(data))
    return FramePCA(mean, axes.astype(np.float32), spreads.astype(np.float32))


def fit_patch_pca(frames: np.ndarray, train_index: np.ndarray, patch: int,
                  components: int) -> FramePCA:
    """The first ``components`` principal components of the ``patch`` × ``patch`` tiles of
    ``frames[train_index]`` (uint8 [N, H, W, 3], sides a multiple of ``patch``), each
    flattened as stored (row, column, channel); fitted on the frames
    :func:`fit_frame_pca` would fit.

    Found through the covariance of the tile's values, summed a batch of frames at a time:
    there are far more tiles than values in one.
    """
    values = 3 * patch * patch
    total, outer, count = np.zeros(values), np.zeros((values, values)), 0
    rows = _fitted_rows(frames, train_index)
    for start in range(0, len(rows), _BATCH):
        tiles = _tiles(frames[rows[start : start + _BATCH]], patch)
        total += tiles.sum(axis=0)
        outer += tiles.T @ tiles
        count += len(tiles)
    mean = total / count
    variances, vectors = np.linalg.eigh(outer / count - np.outer(mean, mean))
    kept = _leading(variances, components)
    return FramePCA(mean.astype(np.float32), vectors[:, kept].T.astype(np.float32),
                    np.sqrt(variances[kept]).astype(np.float32))


def pca_holdout_psnr(
    frames: np.ndarray, train_index: np.ndarray, holdout_index: np.ndarray, components: int
) -> float:
    """Mean PSNR (dB) of the held-out ``frames`` (uint8 [N, H, W, 3]) projected on the
    first ``components`` principal components of the training frames."""
    return fit_frame_pca(frames, train_index, components).holdout_psnr(frames, holdout_index)


def _leading(variances: np.ndarray, components: int) -> np.ndarray:
    """The indices of the ``components`` largest ``variances``, largest first, less those of
    (numerically) zero variance."""
    order = np.argsort(variances)[::-1][:components]
    return order[variances[order] > 1e-9 * max(variances.max(), 1e-30)]


def _fitted_rows(frames: np.ndarray, train_index: np.ndarray) -> np.ndarray:
    """The training frames a fit reads: all, or at most :data:`MAX_FIT_VALUES` values of
    them evenly spaced."""
    limit = max(2, MAX_FIT_VALUES // int(np.prod(frames.shape[1:])))
    picks = np.linspace(0, len(train_index) - 1, min(limit, len(train_index)))
    return np.unique(train_index[picks.round().astype(int)])


def _tiles(frames: np.ndarray, patch: int) -> np.ndarray:
    """The ``patch``-square tiles of ``frames`` [N, H, W, 3], float64 in [0, 1], one a row."""
    count, height, width, _ = frames.shape
    tiles = frames.reshape(count, height // patch, patch, width // patch, patch, 3)
    return tiles.transpose(0, 1, 3, 2, 4, 5).reshape(-1, 3 * patch * patch) / 255.0


def _flat(frames: np.ndarray) -> np.ndarray:
    return frames.reshape(len(frames), -1).astype(np.float32) / 255.0
