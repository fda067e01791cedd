"""``dcgan download NAME``: the datasets with official public URLs, verified and resumable.

Files go to ``$DCGAN_CACHE/datasets/<folder>/`` (``~/.cache/dcgan`` by default), exactly as
published (the CIFAR tarballs are read in place), so ``--data NAME`` finds them. Each file
is fetched into ``<file>.part``; an interrupted transfer resumes from where it stopped with
an HTTP Range request, and a file is moved into place only once its MD5 (the checksum the
publishers give) matches. Nothing is ever downloaded unless the user runs this command;
without a network it prints which files to put where, and checks the ones put there by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core.progress import progress_bar
from ..errors import DCGANError
from .cache import cache_root

CHUNK = 1 << 16
TIMEOUT_S = 30


class TransferInterruptedError(Exception):
    """The connection broke mid-transfer; the ``.part`` file keeps what arrived."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str


@dataclass(frozen=True)
class RemoteDataset:
    name: str
    folder: str  # under $DCGAN_CACHE/datasets/
    mirrors: tuple[str, ...]  # base URLs, tried in order
    files: tuple[RemoteFile, ...]
    about: str


def _idx_files(md5s: tuple[str, str, str, str]) -> tuple[RemoteFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
    return tuple(RemoteFile(n, m) for n, m in zip((*names, "t10k-labels-idx1-ubyte.gz"), md5s, strict=True))


DATASETS = {
    d.name: d
    for d in (
        RemoteDataset(
            "mnist",
            "mnist",
            ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
            _idx_files(
                (
                    "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    "d53e105ee54ea40749a09fcbcd1e9432",
                    "9fb629c4189551a2d022fa330f9573f3",
                    "ec29112dd5afa0611ce80d1b7f02629c",
                )
            ),
            "MNIST handwritten digits (LeCun, Cortes, Burges), 60,000 + 10,000",
        ),
        RemoteDataset(
            "fashion-mnist",
            "fashion-mnist",
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            _idx_files(
                (
                    "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    "25c81989df183df01b3e8a0aad5dffbe",
                    "bef4ecab320f06d8554ea6380940ec79",
                    "bb300cfdad3c16e7a12a480ee83cd310",
                )
            ),
            "Fashion-MNIST (Zalando Research), 60,000 + 10,000",
        ),
        RemoteDataset(
            "cifar10",
            "cifar10",
            ("https://www.cs.toronto.edu/~kriz/",),
            (RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"),),
            "CIFAR-10 (Krizhevsky), binary version, 50,000 + 10,000",
        ),
        RemoteDataset(
            "cifar100",
            "cifar100",
            ("https://www.cs.toronto.edu/~kriz/",),
            (RemoteFile("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8"),),
            "CIFAR-100 (Krizhevsky), binary version, 50,000 + 10,000",
        ),
        RemoteDataset(
            "svhn",
            "svhn",
            ("http://ufldl.stanford.edu/housenumbers/",),
            (
                RemoteFile("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
                RemoteFile("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
            ),
            "SVHN cropped digits (Netzer et al.), train 73,257 + test 26,032",
        ),
        RemoteDataset(
            "svhn-extra",
            "svhn",
            ("http://ufldl.stanford.edu/housenumbers/",),
            (RemoteFile("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"),),
            "SVHN's 531,131 extra digits (1.3 GB), read with --data svhn --split extra",
        ),
    )
}


def datasets_root() -> Path:
    return cache_root() / "datasets"


def _where_to_put(dataset: RemoteDataset, folder: Path) -> str:
    lines = [f"{folder}/{f.name}  <- {dataset.mirrors[0]}{f.name}  (md5 {f.md5})" for f in dataset.files]
    return "put these files into place by hand:\n    " + "\n    ".join(lines)


def resolve_name(name: str) -> Path | None:
    """The download folder of a known dataset name, or None for other names; errors if it is incomplete."""
    dataset = DATASETS.get(name.lower())
    if dataset is None:
        return None
    folder = datasets_root() / dataset.folder
    missing = [f for f in dataset.files if not (folder / f.name).is_file()]
    if missing:
        raise DCGANError(
            f"{name} is not downloaded yet (looked in {folder})",
            f"run `dcgan download {dataset.name}`, or {_where_to_put(dataset, folder)}",
        )
    return folder


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)  # the publishers' checksum: integrity, not security
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: Path, md5: str, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` via ``dest.part``, resuming a previous partial transfer; verify ``md5``."""
    if dest.is_file() and md5_of(dest) == md5:
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not have:  # 416: the part file already holds every byte
            raise
        response = None
    if response is not None:
        with response:
            resumed = response.status == 206
            mode = "ab" if resumed else "wb"
            start = have if resumed else 0
            total = int(response.headers.get("Content-Length", 0)) + start
            with (
                open(part, mode) as fh,
                progress_bar(total or None, dest.name, progress, unit="B", initial=start) as bar,
            ):
                try:
                    while block := response.read(CHUNK):
                        fh.write(block)
                        bar.update(len(block))
                except (OSError, http.client.HTTPException) as exc:
                    raise TransferInterruptedError(f"transfer interrupted after {fh.tell():,} bytes: {exc}") from exc
            if total and part.stat().st_size < total:
                raise TransferInterruptedError(f"transfer interrupted after {part.stat().st_size:,} of {total:,} bytes")
    got = md5_of(part)
    if got != md5:
        part.unlink()
        raise DCGANError(
            _not_published(url, got, md5),
            "run the command again; if it fails again, the file on the server has changed",
        )
    part.replace(dest)
    return dest


def _not_published(what: str | Path, got: str, expected: str) -> str:
    return f"{what} does not match its published checksum (md5 {got}, expected {expected})"


def download(name: str, root: Path | None = None, progress: bool = True) -> Path:
    """Fetch every file of the dataset ``name`` into ``root/<folder>``; returns that folder."""
    dataset = DATASETS.get(name.lower())
    if dataset is None:
        raise DCGANError(f"no dataset called {name!r} can be downloaded", f"choose one of {', '.join(DATASETS)}")
    folder = (root or datasets_root()) / dataset.folder
    folder.mkdir(parents=True, exist_ok=True)
    for file in dataset.files:
        errors = []
        for mirror in dataset.mirrors:
            try:
                fetch(mirror + file.name, folder / file.name, file.md5, progress)
                break
            except TransferInterruptedError as exc:  # a partial file is kept: the next attempt resumes it
                raise DCGANError(
                    f"downloading {mirror + file.name} stopped: {exc}", "run the same command again to resume"
                ) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                errors.append(f"{mirror + file.name}: {getattr(exc, 'reason', exc)}")
        else:
            raise _unreachable(dataset, folder, file, errors)
    return folder


def _unreachable(dataset: RemoteDataset, folder: Path, file: RemoteFile, errors: list[str]) -> DCGANError:
    """The error when no mirror sent ``file``; a copy in place (put there by hand) failed its checksum: said first."""
    problem = f"cannot download {file.name}: " + "; ".join(errors)
    present = folder / file.name
    if not present.is_file():
        return DCGANError(problem, f"check the network, or {_where_to_put(dataset, folder)}")
    return DCGANError(
        f"{_not_published(present, md5_of(present), file.md5)}, and {problem}",
        f"replace it with {dataset.mirrors[0]}{file.name}, or check the network and run the command again",
    )
