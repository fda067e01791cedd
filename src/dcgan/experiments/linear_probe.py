"""The paper's CIFAR-10 and SVHN protocols and table (section 5.1, 5.2): linear SVMs on frozen features.

:func:`linear_probe` produces the whole table for a checkpoint: D's features beside a random
D, raw pixels and K-means features, each scored by the streaming L2-SVMs of :mod:`.svm` with C
chosen on a held-out validation split; every model row of a table is evaluated on the same splits.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.checkpoints import checkpoint_meta
from ..core.device import peak_rss_mb, pick_device
from ..core.rundir import RunDir
from ..core.tensorfile import atomic_write_json
from ..data import default_test_split
from ..errors import DCGANError
from .features import (
    Extractor,
    discriminator_extractor,
    extract,
    kmeans_extractor,
    load_discriminator,
    load_images_for,
    pixel_extractor,
    random_discriminator,
)
from .svm import DEFAULT_C_GRID, LinearSVM, accuracy, check_c_grid, select_c
from .tables import Table, percent

# ---------------------------------------------------------------------------------------------
# Splits


@dataclass
class Splits:
    """Row indices into the training set: a validation split and labelled draws from the rest."""

    validation: np.ndarray
    pool: np.ndarray  # everything not in validation
    draws: list[np.ndarray] = field(default_factory=list)


def labelled_draw(labels: np.ndarray, pool: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``per_class`` random rows of each class from ``pool`` (sorted)."""
    chosen = []
    for cls in np.unique(labels):
        members = pool[labels[pool] == cls]
        if len(members) < per_class:
            raise DCGANError(
                f"class {cls} has only {len(members)} training examples outside validation, fewer than {per_class}",
                "ask for fewer --labels-per-class or a smaller --validation-size",
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def make_splits(labels: np.ndarray, validation_size: int, per_class: int | None, draws: int, seed: int = 0) -> Splits:
    """A random validation split, then ``draws`` class-balanced labelled sets from the rest; seeded."""
    n = len(labels)
    if not 0 < validation_size < n:
        raise DCGANError(f"validation size must be between 1 and {n - 1}, not {validation_size}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    splits = Splits(np.sort(order[:validation_size]), np.sort(order[validation_size:]))
    if per_class is not None:
        splits.draws = [labelled_draw(labels, splits.pool, per_class, rng) for _ in range(draws)]
    return splits


# ---------------------------------------------------------------------------------------------
# Protocols


@dataclass(frozen=True)
class Protocol:
    """What a table measures: full-data accuracy and/or accuracy over limited-label draws."""

    name: str
    validation_size: int
    labels_per_class: int | None
    full: bool  # also train on every labelled example outside validation
    draws: int = 10


PROTOCOLS = {
    # the paper's CIFAR-10 table: all 50,000 labels, and 400 per class (Coates & Ng's 4,000-label setting)
    "cifar10": Protocol("cifar10", validation_size=5000, labels_per_class=400, full=True),
    # the paper's SVHN table: 10,000 validation examples, 1000 labels (100 per class), test error
    "svhn-1000": Protocol("svhn-1000", validation_size=10000, labels_per_class=100, full=False),
}


def protocol_for(
    name: str,
    labels_per_class: int | None = None,
    validation_size: int | None = None,
    draws: int | None = None,
) -> Protocol:
    """A named protocol (``cifar10``, ``svhn-1000``) with any of its settings overridden, or ``custom``."""
    if name == "custom":
        if labels_per_class is None:
            raise DCGANError("--protocol custom needs --labels-per-class N")
        protocol = Protocol("custom", 5000, labels_per_class, full=True)
    elif name in PROTOCOLS:
        protocol = PROTOCOLS[name]
    else:
        raise DCGANError(f"unknown protocol {name!r}", f"choose one of {', '.join([*PROTOCOLS, 'custom'])}")
    changes = {"labels_per_class": labels_per_class, "validation_size": validation_size, "draws": draws}
    protocol = replace(protocol, **{k: v for k, v in changes.items() if v is not None})
    if protocol.draws < 1 or (protocol.labels_per_class is not None and protocol.labels_per_class < 1):
        raise DCGANError("--draws and --labels-per-class must be at least 1")
    return protocol


@dataclass
class Row:
    """One model's line of the table."""

    model: str
    feature_dim: int
    accuracy: float | None = None  # all labels
    best_c: float | None = None
    validation_accuracy: float | None = None  # of the chosen C: all labels, else the draws' mean
    limited_accuracy_mean: float | None = None
    limited_accuracy_std: float | None = None
    limited_accuracies: list[float] = field(default_factory=list)
    limited_best_c: list[float] = field(default_factory=list)
    extract_seconds: float = 0.0
    svm_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.limited_accuracy_mean is not None:
            out["limited_error_mean"] = 1 - self.limited_accuracy_mean
        if self.accuracy is not None:
            out["error"] = 1 - self.accuracy
        return out


Fit = tuple[float, LinearSVM, dict[float, float]]  # select_c's: the chosen C, its SVM, every C's validation score


def evaluate_features(
    name: str,
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray | None,
    test_labels: np.ndarray | None,
    protocol: Protocol,
    splits: Splits,
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    max_iter: int = 100,
    log=print,
    fits: dict[tuple[str, int], Fit] | None = None,
) -> Row:
    """One model's row: C on validation, test accuracy with all labels and over the labelled draws.

    "All labels" trains on every training example outside the validation split (the SVM of the
    chosen C is the one tested; it is not refitted with the validation examples added). Without
    test features only the validation accuracy is measured. ``fits`` holds the fits of these features on these
    splits by what they fit ("all labels", "draw 1/10") and the number of classes: one found there is used, one
    made is added.
    """
    testing = test_features is not None and test_labels is not None
    num_classes = int(max(train_labels.max(), test_labels.max() if testing else 0)) + 1
    row = Row(name, train_features.shape[1])
    start = time.perf_counter()

    fits = {} if fits is None else fits

    def fit(train: np.ndarray, what: str) -> tuple[float, float | None]:
        key = (what, num_classes)
        if key not in fits:
            fits[key] = select_c(train_features, train_labels, train, splits.validation, c_grid, num_classes, max_iter)
        C, svm, scores = fits[key]
        tested = accuracy(svm, test_features, test_labels, np.arange(len(test_labels))) if testing else None
        log(
            f"{name}: {what}: validation {_fmt(scores)} -> C={C}" + (f", test accuracy {tested:.4f}" if testing else "")
        )
        validations.append(scores[C])
        return C, tested

    validations: list[float] = []
    if protocol.full:
        row.best_c, row.accuracy = fit(splits.pool, "all labels")
    for i, draw in enumerate(splits.draws):
        C, tested = fit(draw, f"draw {i + 1}/{len(splits.draws)}")
        row.limited_best_c.append(C)
        if tested is not None:
            row.limited_accuracies.append(tested)
    if validations:
        row.validation_accuracy = validations[0] if protocol.full else float(np.mean(validations))
    if row.limited_accuracies:
        row.limited_accuracy_mean = float(np.mean(row.limited_accuracies))
        row.limited_accuracy_std = float(np.std(row.limited_accuracies))
    row.svm_seconds = time.perf_counter() - start
    row.peak_rss_mb = peak_rss_mb()
    return row


def _fmt(scores: dict[float, float]) -> str:
    return " ".join(f"C={c}:{s:.3f}" for c, s in scores.items())


BASELINES = ("random", "pixels", "kmeans")  # a randomly initialised D, raw pixels, single-layer K-means


@dataclass
class ProbeReport:
    """The section-5 table of one checkpoint: one :class:`Row` per feature extractor, on the same splits."""

    protocol: Protocol
    settings: dict  # c_grid, max_iter, seed
    train: dict  # source, images
    test: dict | None  # None: scored on the validation split only
    checkpoint: str
    rows: list[Row]
    picked: dict[str, float] | None = None  # pick_by_validation: each candidate's validation accuracy

    def table(self) -> Table:
        """The paper's table: accuracy with all labels and with the limited draws (test error for SVHN-style
        protocols, the mean and the standard deviation over the draws), one row per model; without a test
        split, the validation accuracy of the protocol's headline (all labels, else the draws' mean)."""
        if self.test is None:
            what = "all labels" if self.protocol.full else f"{self.protocol.labels_per_class}/class"
            rows = [[r.model, f"{r.feature_dim:,}", percent(r.validation_accuracy)] for r in self.rows]
            return Table(["model", "features", f"validation accuracy, {what}"], rows)
        protocol, as_error = self.protocol, not self.protocol.full
        columns = ["model", "features", "all labels" if protocol.full else "", f"{protocol.labels_per_class}/class"]
        rows = []
        for row in self.rows:
            full = "" if row.accuracy is None else percent(row.accuracy)
            limited = ""
            if row.limited_accuracy_mean is not None:
                mean = 1 - row.limited_accuracy_mean if as_error else row.limited_accuracy_mean
                limited = f"{percent(mean)} +- {100 * row.limited_accuracy_std:.2f}" + (" error" if as_error else "")
            rows.append([row.model, f"{row.feature_dim:,}", full, limited])
        return Table(columns, rows)

    def to_dict(self) -> dict:
        return {
            "protocol": {**asdict(self.protocol), **self.settings},
            "train": self.train,
            "test": self.test,
            "checkpoint": self.checkpoint,
            "picked_by_validation": self.picked,
            "rows": [r.to_dict() for r in self.rows],
            "table": self.table().markdown(),
        }


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def linear_probe(
    checkpoint: str | Path,
    data: str | Path,
    protocol: Protocol,
    test_data: str | Path | None = None,
    *,
    layers: Sequence[str] | None = None,
    baselines: Sequence[str] = BASELINES,
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    max_iter: int = 100,
    kmeans_k: int = 1600,
    seed: int = 0,
    limit: int | None = None,
    test_limit: int | None = None,
    batch_size: int = 256,
    device: str = "auto",
    workdir: str | Path | None = None,
    progress: bool = True,
    validation_only: bool = False,
    pick_by_validation: bool = False,
    pick_record: str | Path | None = None,
    log: Callable[[str], None] = _stderr,
) -> ProbeReport:
    """The paper's section-5 evaluation of a checkpoint's discriminator, beside ``baselines``.

    ``data`` and ``test_data`` (default: :func:`~dcgan.data.default_test_split` of ``data``)
    are labelled images, read at the checkpoint's resolution and channels. Features are
    written as ``.npy`` memory maps in ``workdir`` (default: a temporary folder).
    ``validation_only`` never reads the test split: the score to choose a checkpoint or a
    setting by, leaving the test split for the one finally chosen. ``pick_by_validation`` does that
    choice: ``checkpoint`` is a run folder, each checkpoint it kept (every ``--checkpoint-every``
    epochs, and the last) is scored on validation, and the best (the later on ties) is the one probed.
    ``pick_record`` (a JSON file) keeps each checkpoint's score as soon as it is measured, so a pick stopped
    midway continues with the next checkpoint when run again.
    """
    check_c_grid(c_grid)
    if max_iter < 1:
        raise DCGANError(f"--max-iter must be at least 1, not {max_iter}")
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise DCGANError(f"unknown baseline {', '.join(unknown)}", f"choose among {', '.join(BASELINES)} or 'none'")
    candidates = _kept_checkpoints(checkpoint) if pick_by_validation else [Path(checkpoint)]
    D = load_discriminator(candidates[-1])  # a run's checkpoints share one spec: the data are read for all of them
    device = pick_device(device)
    ours = discriminator_extractor(D, layers, "DCGAN discriminator (ours)", device)  # checks the layers first
    train = load_images_for(D.spec, data, limit)
    test_path = None if validation_only else str(test_data or default_test_split(data))
    test = None if test_path is None else load_images_for(D.spec, test_path, test_limit)
    if train.labels is None or (test is not None and test.labels is None):  # before any checkpoint is scored
        unlabelled = test_path if train.labels is not None else data
        raise DCGANError(f"{unlabelled} has no labels", "use images in class folders or MNIST IDX")
    if test is not None and train.class_names != test.class_names:
        raise DCGANError(
            f"the training classes ({', '.join(train.class_names)}) differ from the test classes "
            f"({', '.join(test.class_names)})",
            "give a test split with the same class folders",
        )
    tested = "no test split (validation only)" if test is None else f"test {len(test):,} from {test_path}"
    log(f"train {len(train):,} images from {data}, {tested}")
    with tempfile.TemporaryDirectory(prefix="dcgan-features-") as tmp:  # the pick's files too: one is used again
        folder = Path(workdir or tmp)
        pick = None
        if pick_by_validation:
            record = _PickRecord(pick_record, {"data": str(data), "limit": limit, "layers": layers,
                                               "protocol": asdict(protocol), "c_grid": c_grid, "max_iter": max_iter,
                                               "seed": seed})  # fmt: skip
            pick = _pick_on_validation(candidates, train, layers, protocol, c_grid, max_iter, seed, batch_size, device,
                                       folder, progress, log, record)  # fmt: skip
            checkpoint = pick.checkpoint
            log(f"picked on validation: {checkpoint}")
            D = load_discriminator(checkpoint)
            ours = discriminator_extractor(D, layers, "DCGAN discriminator (ours)", device)

        extractors: dict[str, Callable[[], Extractor]] = {"ours": lambda: ours}
        if "random" in baselines:
            rand = random_discriminator(D.spec, seed)
            extractors["random"] = lambda: discriminator_extractor(rand, layers, "random discriminator", device)
        if "pixels" in baselines:
            extractors["pixels"] = lambda: pixel_extractor(D.spec.resolution, D.spec.channels)
        if "kmeans" in baselines:
            extractors["kmeans"] = lambda: kmeans_extractor(train.images, kmeans_k, seed=seed)

        train_labels = train.labels.numpy()
        test_labels = None if test is None else test.labels.numpy()
        per_class = None if validation_only and protocol.full else protocol.labels_per_class  # draws only if headline
        splits = make_splits(train_labels, protocol.validation_size, per_class, protocol.draws, seed)
        rows = []
        for key, make in extractors.items():
            start = time.perf_counter()
            extractor = make()
            # the chosen D's training features and fits, made by the pick (not when scored by an earlier one)
            reused = pick if key == "ours" and pick is not None and pick.train_features is not None else None
            todo = (("test", test),) if reused else (("train", train), ("test", test))
            feats = {
                split: extract(extractor, images.images, folder / f"{key}-{split}.npy", batch_size, progress)
                for split, images in todo
                if images is not None
            }
            if reused:
                feats["train"] = np.load(reused.train_features, mmap_mode="r")
            seconds = time.perf_counter() - start
            log(f"{extractor.name}: {extractor.dim:,} features in {seconds:.1f} s")
            row = evaluate_features(
                extractor.name,
                feats["train"],
                train_labels,
                feats.get("test"),
                test_labels,
                protocol,
                splits,
                c_grid,
                max_iter,
                log,
                reused.fits if reused else None,
            )
            row.extract_seconds = seconds
            if reused:  # the row's seconds: what probing the chosen checkpoint alone takes
                row.extract_seconds += reused.extract_seconds
                row.svm_seconds += reused.svm_seconds
            rows.append(row)
            del feats
    return ProbeReport(
        protocol,
        {"c_grid": list(c_grid), "max_iter": max_iter, "seed": seed},
        {"source": str(data), "images": len(train)},
        None if test is None else {"source": test_path, "images": len(test)},
        str(checkpoint),
        rows,
        pick.scores if pick else None,
    )


def _kept_checkpoints(run: str | Path) -> list[Path]:
    """A run folder's epoch checkpoints, then its last one (when it is not the last epoch's own)."""
    folder = RunDir(run)
    if not folder.last_checkpoint.is_file():
        raise DCGANError(f"{run} is not a run folder with checkpoints", "give --checkpoint the run folder to pick from")
    kept = list(folder.saved_epoch_checkpoints().values())
    last = checkpoint_meta(folder.last_checkpoint)["step"]
    if not kept or checkpoint_meta(kept[-1])["step"] != last:
        kept.append(folder.last_checkpoint)
    return kept


@dataclass
class _Pick:
    """The checkpoint chosen on validation and every candidate's score; and what scoring the chosen one made
    that its probe needs again: its D's features of the training images (a file in the probe's folder) and
    its SVM fits on the same splits. A checkpoint scored by an earlier, stopped pick made neither."""

    checkpoint: Path
    score: float
    scores: dict[str, float]  # every candidate's
    train_features: Path | None
    fits: dict[tuple[str, int], Fit]
    extract_seconds: float  # what making its features took, and its fits
    svm_seconds: float


PICK_RECORD = "pick-scores.json"  # the usual name of a pick's record in a folder of its own


class _PickRecord:
    """The validation scores a pick has measured, written to ``path`` (when given) after each checkpoint. A score
    is used again only for the same checkpoint file (its SHA-256) scored the same way (``setup``: the data, the
    protocol, the SVMs' settings); a record of another setup is replaced."""

    def __init__(self, path: str | Path | None, setup: dict):
        self.path = None if path is None else Path(path)
        self.setup = json.loads(json.dumps(setup))  # as it reads back
        self.scored: dict[str, dict] = {}  # by the file's digest: the checkpoint's path then, its score
        held = self.read(self.path) if self.path is not None else {}
        if held.get("setup") == self.setup and isinstance(held.get("scored"), dict):
            self.scored = held["scored"]

    @staticmethod
    def read(path: Path) -> dict:
        try:
            held = json.loads(path.read_text())
        except (OSError, ValueError):  # none yet, or cut short
            return {}
        return held if isinstance(held, dict) else {}

    def score(self, digest: str) -> float | None:
        return self.scored.get(digest, {}).get("validation_accuracy")

    def add(self, digest: str, checkpoint: Path, score: float) -> None:
        self.scored[digest] = {"checkpoint": str(checkpoint), "validation_accuracy": score}
        if self.path is not None:
            atomic_write_json(self.path, {"setup": self.setup, "scored": self.scored})


def pick_scores(path: str | Path) -> dict[str, float]:
    """The validation accuracy of each checkpoint a pick's record at ``path`` holds (a pick stopped midway has
    some), by the checkpoint's path; empty where there is no record."""
    scored = _PickRecord.read(Path(path)).get("scored")
    entries = scored.values() if isinstance(scored, dict) else []
    return {entry["checkpoint"]: entry["validation_accuracy"] for entry in entries}


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pick_on_validation(
    candidates: list[Path], train, layers, protocol: Protocol, c_grid, max_iter: int, seed: int, batch_size: int,
    device, folder: Path, progress: bool, log: Callable[[str], None], record: _PickRecord,
) -> _Pick:  # fmt: skip
    """Each checkpoint's D scored on the validation split alone: the fit of the protocol's headline (all labels,
    else the labelled draws) on the same splits as the final probe. The best so far (the later on ties) keeps
    its features file and fits, so the probe of the chosen one extracts and fits none of them again."""
    labels = train.labels.numpy()
    per_class = None if protocol.full else protocol.labels_per_class
    splits = make_splits(labels, protocol.validation_size, per_class, protocol.draws, seed)
    scores: dict[str, float] = {}
    best: _Pick | None = None
    for index, candidate in enumerate(candidates):
        digest = _digest(candidate)
        before = record.score(digest)
        if before is not None:
            scored = _Pick(candidate, before, scores, None, {}, 0.0, 0.0)
            log(f"{candidate.name}: validation {scored.score:.4f}, scored before ({record.path})")
        else:
            start = time.perf_counter()
            extractor = discriminator_extractor(load_discriminator(candidate), layers, candidate.name, device)
            path = folder / f"pick-{index}-train.npy"
            features = extract(extractor, train.images, path, batch_size, progress)
            seconds = time.perf_counter() - start
            fits: dict[tuple[str, int], Fit] = {}
            row = evaluate_features(candidate.name, features, labels, None, None, protocol, splits, c_grid, max_iter,
                                    log, fits)  # fmt: skip
            del features
            assert row.validation_accuracy is not None, "the protocol's headline (all labels, else its draws) is fitted"
            scored = _Pick(candidate, row.validation_accuracy, scores, path, fits, seconds, row.svm_seconds)
            record.add(digest, candidate, scored.score)
        scores[str(candidate)] = scored.score
        if best is None or scored.score >= best.score:
            best, dropped = scored, best
        else:
            dropped = scored
        if dropped is not None and dropped.train_features is not None:
            dropped.train_features.unlink()
    assert best is not None, "a run folder keeps at least its last checkpoint"
    return best
