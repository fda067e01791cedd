"""The arithmetic of the quality metrics, on feature arrays of real and generated images.

* FID (Heusel et al. 2017): the Frechet distance between Gaussians fitted to the two sets.
* KID (Binkowski et al. 2018): the unbiased MMD^2 with the kernel (x.y / d + 1)^3, averaged
  over random subsets, with its standard deviation (unbiased: no Gaussian assumption, and
  meaningful on the few thousand samples a CPU affords).
* Precision and recall (Kynkaanniemi et al. 2019): each set's k-NN balls estimate its
  manifold; precision is the share of generated samples inside the real manifold ("are the
  samples realistic"), recall the share of real samples inside the generated one ("is the
  data covered").

Everything is float64 numpy (torch only for batched distances), so the figures do not depend
on the device that computed the features.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..errors import DCGANError


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of ``features`` (N, d), float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DCGANError(f"need at least 2 feature vectors to fit a Gaussian, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), as the reference FID code computes it.

    The product of two covariances fitted to fewer samples than dimensions is singular, and
    ``sqrtm`` may then return non-finite values: the standard remedy adds ``eps`` to both
    diagonals and tries again. Rounding leaves tiny imaginary parts, which are dropped; large
    ones mean the inputs were not covariances.
    """
    from scipy import linalg  # on first use: it adds a quarter of a second to every command's start-up

    diff = mu1 - mu2
    with warnings.catch_warnings():  # "singular matrix": expected here, and handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.abs(covmean.imag).max():.3g} in sqrtm(S1 S2)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance_low_rank(real: np.ndarray, fake: np.ndarray) -> float:
    """The same distance from the samples, exactly, when there are fewer samples than dimensions.

    With centred samples A (n, d) and B (m, d), S1 S2 = A'A B'B / ((n-1)(m-1)) has the nonzero
    eigenvalues of (AB')(AB')', so tr (S1 S2)^(1/2) is the sum of the singular values of AB'
    over sqrt((n-1)(m-1)): an n x m SVD instead of a d x d matrix square root (d is 7,168 for
    the small preset's D features at 32x32), and no singular product to work around.
    """
    a, b = (np.asarray(x, np.float64) for x in (real, fake))
    a_c, b_c = a - a.mean(axis=0), b - b.mean(axis=0)
    n, m = len(a), len(b)
    diff = a.mean(axis=0) - b.mean(axis=0)
    trace_sqrt = np.linalg.svd(a_c @ b_c.T, compute_uv=False).sum() / np.sqrt((n - 1) * (m - 1))
    traces = (a_c**2).sum() / (n - 1) + (b_c**2).sum() / (m - 1)
    return float(diff @ diff + traces - 2 * trace_sqrt)


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature sets (N, d) and (M, d): the reference computation, or the exact
    sample form where the sets are smaller than the dimension."""
    for which, x in (("real", real), ("generated", fake)):
        if np.ndim(x) != 2 or len(x) < 2:
            raise DCGANError(f"FID needs at least 2 {which} feature vectors (N, d), got shape {np.shape(x)}")
    if min(len(real), len(fake)) < np.shape(real)[1]:
        return frechet_distance_low_rank(real, fake)
    return frechet_distance(*gaussian_fit(real), *gaussian_fit(fake))


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples ``x`` (m, d) and ``y`` (n, d) with the kernel (a.b / d + 1)^3."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kid(
    real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD^2 over ``subsets`` random subsets of each set."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise DCGANError(f"KID needs at least 2 images per set, got {len(real)} real and {len(fake)} generated")
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2(
            real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _row_blocks(a: np.ndarray, b: np.ndarray, rows: int = 512):
    """Euclidean distances from ``a`` to ``b``, float64, one block of rows of ``a`` at a time (bounded memory)."""
    tb = torch.from_numpy(np.asarray(b, np.float64))
    for chunk in torch.from_numpy(np.asarray(a, np.float64)).split(rows):
        yield torch.cdist(chunk, tb)


def knn_radii(features: np.ndarray, k: int) -> torch.Tensor:
    """Distance of each sample to its k-th nearest other sample of the same set."""
    if len(features) <= k:
        raise DCGANError(f"precision/recall with k={k} needs more than {k} images per set, got {len(features)}")
    # the k+1 smallest distances of a row include the sample itself (0)
    return torch.cat([block.kthvalue(k + 1, dim=1).values for block in _row_blocks(features, features)])


def coverage_share(manifold: np.ndarray, radii: torch.Tensor, queries: np.ndarray) -> float:
    """Share of ``queries`` inside at least one ball (centre in ``manifold``, its radius in ``radii``)."""
    inside = torch.cat([(block <= radii[None, :]).any(dim=1) for block in _row_blocks(queries, manifold)])
    return float(inside.double().mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall: (share of fake in the real manifold, share of real in the fake one)."""
    precision = coverage_share(real, knn_radii(real, k), fake)
    recall = coverage_share(fake, knn_radii(fake, k), real)
    return precision, recall
