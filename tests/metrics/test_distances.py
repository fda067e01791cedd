"""FID, KID and precision/recall against direct numpy/scipy computations, and on sets whose answer is known."""

import itertools

import numpy as np
import pytest
import scipy.linalg

from dcgan import DCGANError
from dcgan.metrics.distances import (
    fid,
    frechet_distance,
    frechet_distance_low_rank,
    gaussian_fit,
    kid,
    polynomial_mmd2,
    precision_recall,
)


def direct_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The definition, by eigenvalues: tr (S1 S2)^(1/2) = sum of sqrt(eig(S1 S2)) (real, >= 0 for covariances)."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2).real.clip(min=0)
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum()


def features(n, d, seed, shift=0.0, scale=1.0):
    mix = np.random.default_rng(123).normal(size=(d, d)) / np.sqrt(d)  # correlated dimensions, the same in every set
    return np.random.default_rng(seed).normal(size=(n, d)) @ mix * scale + shift


@pytest.mark.parametrize("n", [400, 30])  # 30 < d: singular, non-positive-definite covariances
def test_frechet_distance_matches_the_definition(n):
    a, b = features(n, 40, 0), features(n + 7, 40, 1, shift=0.3, scale=1.3)
    expected = direct_frechet(a, b)
    assert frechet_distance(*gaussian_fit(a), *gaussian_fit(b)) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_low_rank(a, b) == pytest.approx(expected, rel=1e-6)
    assert fid(a, b) == pytest.approx(expected, rel=1e-6)
    singular = np.linalg.matrix_rank(np.cov(a, rowvar=False)) < 40
    assert singular == (n < 40)  # the small case really is not positive definite


def test_frechet_distance_survives_a_non_finite_square_root(monkeypatch):
    """The reference remedy: when sqrtm(S1 S2) is not finite, retry with eps on both diagonals."""
    real_sqrtm, calls = scipy.linalg.sqrtm, []

    def flaky(m):
        calls.append(m)
        return np.full_like(m, np.nan) if len(calls) == 1 else real_sqrtm(m)

    monkeypatch.setattr(scipy.linalg, "sqrtm", flaky)
    s1 = np.diag([1.0, 0.0, 2.0])  # singular: not positive definite
    s2 = np.diag([4.0, 1.0, 0.0])
    got = frechet_distance(np.zeros(3), s1, np.ones(3), s2, eps=1e-6)
    assert len(calls) == 2 and np.allclose(calls[1], (s1 + 1e-6 * np.eye(3)) @ (s2 + 1e-6 * np.eye(3)))
    # 3 (means) + 3 + 5 (traces) - 2 (sqrt(4) + sqrt(0) + sqrt(0)), up to the eps offset
    assert got == pytest.approx(7.0, abs=1e-2)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise():
    a = features(600, 16, 2)
    assert abs(fid(a, a)) < 1e-6
    rng = np.random.default_rng(3)
    noise = rng.normal(size=a.shape)
    values = [fid(a, a + level * noise) for level in (0.05, 0.2, 0.5, 1.0, 2.0)]
    assert all(x < y for x, y in itertools.pairwise(values)), values
    assert values[0] > 0


def direct_mmd2(x, y):
    """Unbiased MMD^2 by its definition, with explicit loops over pairs."""

    def k(a, b):
        return (a @ b / x.shape[1] + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_the_definition():
    x, y = features(25, 6, 4), features(31, 6, 5, shift=0.5)
    assert polynomial_mmd2(x, y) == pytest.approx(direct_mmd2(x, y), rel=1e-9)
    # one subset of the smaller set's size: every x, and 25 of the y's, as the seeded draw picks them
    mean, std = kid(x, y, subsets=1, subset_size=25, seed=0)
    rng = np.random.default_rng(0)
    xs, ys = x[rng.choice(25, 25, replace=False)], y[rng.choice(31, 25, replace=False)]
    assert mean == pytest.approx(direct_mmd2(xs, ys), rel=1e-9) and std == 0


def test_kid_averages_subsets_and_separates_distributions():
    a, b = features(600, 8, 6), features(600, 8, 7)
    same, same_std = kid(a, b, subsets=20, subset_size=200)
    shifted, shifted_std = kid(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 3 * same_std + 1e-3  # unbiased: around zero for one distribution
    assert shifted > 10 * shifted_std > 0


def direct_precision_recall(real, fake, k):
    def radii(x):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    def share(centres, r, queries):
        d = np.linalg.norm(queries[:, None] - centres[None], axis=-1)
        return (d <= r[None]).any(axis=1).mean()

    return share(real, radii(real), fake), share(fake, radii(fake), real)


def test_precision_recall_match_a_brute_force_computation():
    real, fake = features(80, 5, 8), features(70, 5, 9, shift=0.4, scale=0.7)
    assert precision_recall(real, fake, k=3) == pytest.approx(direct_precision_recall(real, fake, 3))


def test_precision_recall_on_known_overlaps():
    rng = np.random.default_rng(10)
    real = rng.uniform(0, 1, (2000, 2))
    half = rng.uniform(0, 1, (2000, 2)) + np.array([0.5, 0])  # half of its mass inside the real square, half outside
    p, r = precision_recall(real, half)
    assert p == pytest.approx(0.5, abs=0.06) and r == pytest.approx(0.5, abs=0.06)
    p, r = precision_recall(real, rng.uniform(0, 1, (2000, 2)) * [0.5, 1])  # realistic, covers half
    assert p > 0.95 and r == pytest.approx(0.5, abs=0.06)
    assert precision_recall(real, real + 5) == (0.0, 0.0)  # disjoint


def test_too_few_samples_are_clear_errors():
    with pytest.raises(DCGANError, match="more than 3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(DCGANError, match="at least 2"):
        kid(np.zeros((1, 2)), np.zeros((10, 2)))
