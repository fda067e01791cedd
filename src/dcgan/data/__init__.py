"""Datasets: every format read into one uint8 tensor, prepared sets, the training cache, downloads, dedup.

options.py   SourceOptions: the data options (size, channels, filters, split), defined once
loading.py   load_dataset / prepare_dataset: path + options -> ImageData (the one entry point)
formats/     one reader per format (IDX, CIFAR, SVHN, CelebA, LSUN, image folders and zips)
source.py    a dataset before decoding, and the parallel decode loop they all share
imaging.py   one image -> the training size (crop + resample)
prepared.py  the prepared-set format (images.npy + manifest.json)
cache.py     the training cache of prepared copies
download.py  official files, checksummed and resumable
dedup.py     near-duplicate removal
"""

from .loading import (
    FORMATS,
    ImageData,
    bundled_mnist_path,
    default_test_split,
    load_dataset,
    open_source,
    prepare_dataset,
)
from .options import SourceOptions

__all__ = [
    "FORMATS",
    "ImageData",
    "SourceOptions",
    "bundled_mnist_path",
    "default_test_split",
    "load_dataset",
    "open_source",
    "prepare_dataset",
]
