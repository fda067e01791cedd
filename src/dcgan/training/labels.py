"""The labels a class-conditional run trains with (``--conditional``)."""

from __future__ import annotations

from ..data import ImageData
from ..errors import DCGANError


def class_names_of(data: ImageData) -> list[str]:
    """The class names of labelled data, one per label value; refuses data without labels."""
    if data.labels is None or len(data.labels) == 0:
        raise DCGANError(
            f"--conditional needs labelled data, but {data.source or 'this dataset'} has no labels",
            "use a labelled set (MNIST with its labels file, CIFAR, SVHN, or a folder of class folders),"
            " or train without --conditional",
        )
    count = int(data.labels.max()) + 1
    names = data.class_names or [str(i) for i in range(count)]
    if int(data.labels.min()) < 0 or count > len(names):
        raise DCGANError(
            f"{data.source or 'the data'} has labels from {int(data.labels.min())} to {count - 1}"
            f" but {len(names)} class names",
            "check the dataset's labels",
        )
    if len(names) < 2:
        raise DCGANError(f"--conditional needs two or more classes, but the data has {len(names)}")
    return list(names)
