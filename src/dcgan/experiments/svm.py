"""Linear L2-SVMs on features too large for memory: the classifier of the section-5 table.

The classifier is a one-vs-rest linear SVM with the squared hinge loss and an L2 penalty,
min_w 1/2 |w|^2 + C sum_i max(0, 1 - y_i (w.x_i + b))^2, on standardised features. It is
solved in the primal with L-BFGS (the objective is smooth), in float32, streaming the rows of
a ``.npy`` memory map in chunks: a 50,000 x 28,672 training set needs no float64 copy
(liblinear, behind scikit-learn's ``LinearSVC``, would make one: 11.5 GB). C is chosen on a
held-out validation split (:func:`select_c`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DCGANError

CHUNK_ROWS = 4096
DEFAULT_C_GRID = (1e-5, 1e-4, 1e-3, 1e-2)


def _chunks(X: np.ndarray, rows: np.ndarray) -> Iterator[tuple[slice, torch.Tensor]]:
    """(position in ``rows``, float32 tensor of those rows of X), chunk by chunk (rows read in file order).

    Every chunk is gathered by torch, in parallel, into the same buffer: numpy's fancy indexing into a fresh
    470 MB array per chunk of the paper-sized matrix made a pass over it 1.6x as long (docs/features.md, "What a
    pass costs"). So a chunk is only valid until the next one is taken.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a read-only memmap; its rows are only read
        source = torch.from_numpy(X)
    size = CHUNK_ROWS
    buffer = torch.empty(min(size, len(rows)), *source.shape[1:], dtype=source.dtype)
    for start in range(0, len(rows), size):
        part = slice(start, start + size)
        index = torch.from_numpy(np.asarray(rows[part], dtype=np.int64))
        chunk = torch.index_select(source, 0, index, out=buffer[: len(index)])
        yield part, chunk.float()


def _standardisation(X: np.ndarray, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std over ``rows`` (constant features get std 1)."""
    total = torch.zeros(X.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for _, x in _chunks(X, rows):
        total += x.sum(0, dtype=torch.float64)
        squares += x.double().square().sum(0)
    mean = total / len(rows)
    std = (squares / len(rows) - mean.square()).clamp(min=0).sqrt()
    return mean.float(), torch.where(std > 1e-6, std, torch.ones_like(std)).float()


@dataclass
class LinearSVM:
    """One-vs-rest weights on standardised features: score = ((x - mean) / scale) @ weight + bias."""

    weight: torch.Tensor  # (D, K)
    bias: torch.Tensor  # (K,)
    mean: torch.Tensor
    scale: torch.Tensor
    iterations: int = 0  # L-BFGS iterations
    passes: int = 0  # objective evaluations, each one pass over the training rows

    def decision(self, X: np.ndarray, rows: np.ndarray | None = None) -> torch.Tensor:
        rows = np.arange(len(X)) if rows is None else rows
        w, b = self._raw()
        with torch.no_grad():
            return torch.cat([x @ w + b for _, x in _chunks(X, rows)])

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        return self.decision(X, rows).argmax(1).numpy()

    def _raw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The same map on raw features, so chunks are never standardised one element at a time."""
        w = self.weight / self.scale[:, None]
        return w, self.bias - self.mean @ w


def svm_objective(svm: LinearSVM, X: np.ndarray, y: np.ndarray, rows: np.ndarray, C: float) -> torch.Tensor:
    """1/2 |W|^2 + C sum of squared hinges (summed over the one-vs-rest problems), divided by C n."""
    targets = _signs(y[rows], svm.weight.shape[1])
    w, b = svm._raw()
    hinge = torch.zeros(())
    for part, x in _chunks(X, rows):
        hinge = hinge + (1 - targets[part] * (x @ w + b)).clamp(min=0).square().sum()
    return (0.5 * svm.weight.square().sum() / C + hinge) / len(rows)


def _signs(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    onehot = torch.nn.functional.one_hot(torch.from_numpy(labels).long(), num_classes)
    return onehot.float() * 2 - 1


def check_c_grid(c_grid: Sequence[float]) -> None:
    if not c_grid or min(c_grid) <= 0:
        raise DCGANError(f"C values must be positive, not {list(c_grid)}", "e.g. --c-grid 0.01,0.1,1")


def fit_svms(
    X: np.ndarray, y: np.ndarray, rows: np.ndarray, c_grid: Sequence[float], num_classes: int, max_iter: int = 100
) -> list[LinearSVM]:
    """One SVM per C, minimising :func:`svm_objective` over ``rows`` of X with L-BFGS.

    The C values are solved as one problem (its objective is the sum of theirs, which share no
    weights), so each pass over X, the whole cost when X is large, serves the whole grid.
    """
    check_c_grid(c_grid)
    mean, scale = _standardisation(X, rows)
    groups, n = len(c_grid), len(rows)
    weight = torch.zeros(X.shape[1], groups * num_classes, requires_grad=True)
    bias = torch.zeros(groups * num_classes, requires_grad=True)
    joint = LinearSVM(weight, bias, mean, scale)
    targets = _signs(y[rows], num_classes).repeat(1, groups)
    penalty = torch.tensor(c_grid, dtype=torch.float32).repeat_interleave(num_classes).reciprocal() / (2 * n)
    opt = torch.optim.LBFGS(
        [weight, bias],
        lr=1,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-10,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (weight.square() * penalty).sum()
        loss.backward()
        total = loss.detach()
        for part, x in _chunks(X, rows):
            w, b = joint._raw()
            chunk = (1 - targets[part] * (x @ w + b)).clamp(min=0).square().sum() / n
            chunk.backward()
            total = total + chunk.detach()
        return total

    opt.step(closure)
    state = opt.state[weight]
    blocks = zip(weight.detach().split(num_classes, 1), bias.detach().split(num_classes), strict=True)
    return [LinearSVM(w.contiguous(), b, mean, scale, state["n_iter"], state["func_evals"]) for w, b in blocks]


def fit_svm(
    X: np.ndarray, y: np.ndarray, rows: np.ndarray, C: float, num_classes: int, max_iter: int = 100
) -> LinearSVM:
    """One SVM (see :func:`fit_svms`)."""
    return fit_svms(X, y, rows, [C], num_classes, max_iter)[0]


def accuracy(svm: LinearSVM, X: np.ndarray, y: np.ndarray, rows: np.ndarray) -> float:
    return float((svm.predict(X, rows) == y[rows]).mean())


def select_c(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    validation: np.ndarray,
    c_grid: Sequence[float],
    num_classes: int,
    max_iter: int = 100,
) -> tuple[float, LinearSVM, dict[float, float]]:
    """Fit every C on ``train``; keep the one most accurate on ``validation`` (the smaller C on ties)."""
    svms = fit_svms(X, y, train, sorted(c_grid), num_classes, max_iter)
    scores = {C: accuracy(svm, X, y, validation) for C, svm in zip(sorted(c_grid), svms, strict=True)}
    best = max(scores, key=lambda C: (scores[C], -C))
    return best, svms[sorted(c_grid).index(best)], scores
