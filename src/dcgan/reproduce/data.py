"""Where a recipe finds its data: one root folder (``--data-root``), never the network.

The root defaults to ``$DCGAN_DATA``, else ``../shared/data`` beside the working folder or
beside the repository (the layout of a fresh clone next to the project's shared data). Each
data set is looked up under a few names, the first found wins; a data set that is not there
is one message naming the files and the folder to put them in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DCGANError

DATA_ENV = "DCGAN_DATA"
SIBLING = Path("..") / "shared" / "data"
REPOSITORY = Path(__file__).resolve().parents[3]  # src/dcgan/reproduce/data.py -> the checkout


def data_root(given: str | Path | None = None) -> Path:
    """``given`` (``--data-root``), else :func:`default_data_root`."""
    return Path(given).expanduser() if given else default_data_root()


def default_data_root() -> Path:
    """``$DCGAN_DATA``, else the first ``../shared/data`` that exists (beside the working folder, then the checkout)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    for base in (Path.cwd(), REPOSITORY):
        if (base / SIBLING).is_dir():
            return (base / SIBLING).resolve()
    return Path.cwd() / SIBLING


@dataclass(frozen=True)
class DataSet:
    """A data set a recipe reads: where it may lie under the root (first found wins) and how to get it."""

    name: str
    train: tuple[str, ...]  # candidate paths of the training split, relative to the root
    test: tuple[str, ...] = ()  # the test split beside each candidate, in the same order ("" when not needed)
    get: str = ""  # how to put it there
    terms: str = ""  # the terms its images come under: they bind a model trained on them too

    def find(self, root: Path) -> tuple[Path, Path | None] | None:
        """(train, test) paths under ``root`` (the first candidate whose splits are all there), else None."""
        for i, candidate in enumerate(self.train):
            path = root / candidate
            test = root / self.test[i] if self.test and self.test[i] else None
            if _present(path) and (test is None or _present(test)):
                return path, test
        return None

    def locate(self, root: Path) -> tuple[Path, Path | None]:
        """(train, test) paths under ``root``; a clear error naming what to put where when neither is there."""
        found = self.find(root)
        if found is None:
            raise self.missing(root)
        return found

    def missing(self, root: Path) -> DCGANError:
        """The error of a data set not under ``root``: the paths looked for and how to put it there."""
        wanted = " or ".join(str(root / c) for c in self.train)
        fix = self.get.replace("DATA_ROOT", str(root))
        return DCGANError(f"{self.name} is not in {root}: looked for {wanted}", f"{fix}, or pass --data-root DIR")


def _present(path: Path) -> bool:
    """A file, a folder, or a member folder of a zip (``archive.zip/inner/folder``) that exists."""
    for parent in (path, *path.parents):
        if parent.is_file():
            return parent == path or parent.suffix == ".zip"
        if parent.is_dir():
            return parent == path
    return False


MNIST = DataSet(
    "MNIST",
    ("mnist",),
    ("mnist",),
    get="put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz in DATA_ROOT/mnist (dcgan download mnist --dir DATA_ROOT/mnist where online)",
    terms="Creative Commons Attribution-Share Alike 3.0 (Yann LeCun and Corinna Cortes)",
)
CIFAR10 = DataSet(
    "CIFAR-10",
    ("cifar10-jpg.zip/cifar10/train", "cifar10/train"),
    ("cifar10-jpg.zip/cifar10/test", "cifar10/test"),
    get="put cifar10-jpg.zip (cifar10/{train,test}/<class>/*.jpg) in DATA_ROOT, or class folders in "
    "DATA_ROOT/cifar10/train and DATA_ROOT/cifar10/test",
    terms="research use: no licence is given with CIFAR-10 (Krizhevsky, 2009), whose images come from the web",
)
CELEBA = DataSet(
    "CelebA",
    ("celeba", "celeba.zip", "celeba-10k.zip"),
    get="put CelebA (img_align_celeba/ and list_attr_celeba.txt) in DATA_ROOT/celeba or DATA_ROOT/celeba.zip "
    "(the 10,000-image celeba-10k.zip also works)",
    terms="non-commercial research only (the CelebA agreement)",
)
SVHN = DataSet(
    "SVHN",
    ("svhn/train_32x32.mat",),
    ("svhn/test_32x32.mat",),
    get="put train_32x32.mat and test_32x32.mat (the cropped digits) in DATA_ROOT/svhn "
    "(dcgan download svhn --dir DATA_ROOT/svhn where online)",
    terms="non-commercial use only (the SVHN site)",
)
LSUN_BEDROOMS = DataSet(
    "LSUN bedrooms",
    ("lsun/bedroom_train_lmdb", "bedroom_train_lmdb", "lsun-bedroom-9k.zip"),
    get="put the full LMDB database bedroom_train_lmdb/ (data.mdb, lock.mdb; from the LSUN site) in DATA_ROOT/lsun, "
    "or the 9,000-bedroom sample lsun-bedroom-9k.zip (lsun-bedroom/<key>.jpg) in DATA_ROOT",
    terms="research use: LSUN's images come from the web and are given for research",
)
