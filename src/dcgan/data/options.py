"""The data options every command shares: which images of a source to read, and at what size.

:class:`SourceOptions` is the one definition of them: ``dcgan train``'s config, ``dcgan
prepare`` and the other commands build their flags and help from its fields, and the cache
keys a prepared copy by them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from ..core.models import ModelSpec
from ..errors import DCGANError

CLASS_FOLDERS = ("top", "innermost")  # which folder names an image folder's classes


def option(default, help: str, **extra):
    """A dataclass field that is also a command-line flag: its ``help`` (and ``choices``) live here, once."""
    return field(default=default, metadata={"help": help, **extra})


def parse_where(text: str | dict | None) -> dict[str, int]:
    """``"Smiling=1,Male=-1"`` -> {"Smiling": 1, "Male": -1}."""
    if not text:
        return {}
    if isinstance(text, dict):
        return text
    conditions = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or value.strip() not in ("1", "-1", "+1"):
            raise DCGANError(f"cannot read --where term {part!r}", "write Attribute=1 or Attribute=-1, comma-separated")
        conditions[name.strip()] = int(value)
    return conditions


def format_where(conditions: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in conditions.items())


@dataclass(frozen=True)
class SourceOptions:
    """Which images of a source to read and how: size, channels, filters and split."""

    resolution: int | None = option(
        None, "image size, a power of two 16..256 (default: the data's size rounded up to a power of two, at most 64)"
    )
    channels: int | None = option(None, "1 (grayscale) or 3 (RGB) (default: the data's)", choices=(1, 3))
    limit: int | None = option(
        None,
        "use only N images, a fixed random subset with every class in its share (quick experiments; the cached full"
        " set is reused)",
    )
    skip_bad: bool = option(False, "skip unreadable image files and report how many, instead of failing")
    where: str | None = option(
        None, "keep only images whose attributes match, e.g. 'Smiling=1,Male=-1' (sources with attributes: CelebA)"
    )
    split: str | None = option(
        None,
        "official split: train/test (MNIST, Fashion-MNIST, CIFAR), train/test/extra (SVHN), train/valid/test"
        " (CelebA); for image folders, the images under a folder of that name (default: train, or every image)",
    )

    class_folder: str = option(
        "top",
        "which folder names an image folder's classes: 'top', the folder directly under the dataset root"
        " (faces/smile/batch3/x.jpg -> smile), or 'innermost', the folder holding each file (-> batch3)",
        choices=CLASS_FOLDERS,
    )
    held_out: bool = option(
        False,
        "with --limit N: read the images --limit N leaves out instead of those it keeps (a held-out set that no"
        " run trained with --limit N saw)",
    )

    def __post_init__(self) -> None:
        # any size decodes (the networks' powers of two are checked by training and prepare); channels are 1 or 3
        if self.channels is not None:
            ModelSpec(channels=self.channels)
        if self.resolution is not None and self.resolution < 1:
            raise DCGANError(f"--resolution must be at least 1, not {self.resolution}")
        if self.limit is not None and self.limit < 1:
            raise DCGANError(f"--limit must be at least 1, not {self.limit}")
        if self.held_out and self.limit is None:
            raise DCGANError("--held-out needs --limit N: it reads the images --limit N leaves out", "add --limit N")
        parse_where(self.where)  # a misspelt condition fails here, not after the data is read
        if self.class_folder not in CLASS_FOLDERS:
            raise DCGANError(f"unknown --class-folder {self.class_folder!r}", "choose 'top' or 'innermost'")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @property
    def conditions(self) -> dict[str, int]:
        """``where`` as {attribute: +1 or -1} (it may be given as text or as that dict)."""
        return parse_where(self.where)

    @classmethod
    def of(cls, args: tuple, values: dict) -> SourceOptions:
        """Options given as ``(SourceOptions,)`` or as its fields, positionally (resolution, channels, limit,
        skip_bad, ...) and/or by name, plus changes by name: how ``load_dataset`` and ``prepare_dataset`` take them."""
        if args and isinstance(args[0], cls):
            if len(args) > 1:
                raise TypeError("give a SourceOptions or its fields, not both positionally")
            return replace(args[0], **values)
        return cls(*args, **values)

    def to_dict(self) -> dict:
        """JSON-able, with ``where`` parsed: the options part of a prepared set's provenance and cache key."""
        return asdict(self) | {"where": self.conditions}
