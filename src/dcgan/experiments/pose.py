"""Head pose: yaw from CelebA's landmarks, and a small regressor of it from the image that measures generated faces.

Figure 8's turn vector needs faces looking left and right and a way to tell how far an output
turned. CelebA has no pose labels, but its 5 landmarks (``ImageData.landmarks``) give yaw: the
nose's horizontal offset from the eyes' midpoint over the distance between the eyes. Generated
faces have no landmarks, so a regressor (the attribute classifier's network with one output)
learns that yaw from real images and measures samples. Mirroring a face negates its yaw
exactly, which the regressor uses twice: as augmentation while it learns, and when it measures
(the mean of its reading of an image and minus its reading of the mirror), so a frontal face
reads 0 by construction rather than by luck.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ..core.images import to_unit_range
from ..core.sampling import seeded
from ..data import ImageData
from ..errors import DCGANError
from ..metrics.classifier import fit
from .attributes import TrunkNet, load_trunk, mirror_some, save_trunk, split_rows
from .tables import Table, number

FORMAT = "dcgan-yaw-1"
POINTS = ("left_eye", "right_eye", "nose")  # the landmarks yaw is read from (CelebA's names: by the image's side)
# Beyond this the face is in profile: the far eye's landmark sits on the near one and the ratio grows without
# measuring the angle any more (0.3% of CelebA's faces); the regressor learns yaw clipped to it.
YAW_LIMIT = 1.0


def yaw(landmarks: torch.Tensor, names: list[str]) -> torch.Tensor:
    """Signed yaw per face (N,) from landmarks (N, P, 2) as (x, y) fractions of the image: the nose's horizontal
    offset from the midpoint of the eyes, over the distance between the eyes.

    0: frontal. Negative: the face is turned towards the image's left (its nose points left); positive:
    towards the image's right. About 0.5 puts the nose in line with an eye, a face turned well to the side.
    """
    missing = [point for point in POINTS if point not in names]
    if missing:
        raise DCGANError(
            f"yaw needs the landmarks {', '.join(POINTS)}; these have no {', '.join(missing)}",
            "load CelebA with its list_landmarks_align_celeba.txt",
        )
    left, right, nose = (landmarks[:, names.index(point)].double() for point in POINTS)
    between = (right - left).norm(dim=-1)
    if (between <= 0).any():
        raise DCGANError("some faces have both eyes' landmarks on one point", "check the landmark file")
    return ((nose[:, 0] - (left[:, 0] + right[:, 0]) / 2) / between).float()


class YawRegressor(TrunkNet):
    """Images in [-1, 1] -> yaw (:func:`yaw`), read from the image and its mirror."""

    def __init__(self, resolution: int, channels: int, width: int = 16):
        super().__init__(resolution, channels, 1, width)
        # the network learns yaw in units of the training faces' spread (an output of about 1, as initialised)
        self.register_buffer("unit", torch.ones(()))

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Yaw (N,) of images (N, C, H, W) in [-1, 1]: the mean of the reading of each image and minus that of
        its mirror, so a mirrored face reads exactly the opposite."""
        readings = self.outputs(torch.cat([images, images.flip(-1)]), batch_size)[:, 0] * self.unit
        return (readings[: len(images)] - readings[len(images) :]) / 2

    def table(self) -> Table:
        """The held-out error beside the spread of the real faces' yaw, from :attr:`report`."""
        return Table(list(self.report["held_out"]), [list(map(number, self.report["held_out"].values()))])

    @property
    def real_spread(self) -> float:
        """The standard deviation of the held-out real faces' yaw: the unit a turn is measured in."""
        return self.report["held_out"]["real_yaw_std"]


def train_yaw_regressor(
    data: ImageData,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1e-3,
    width: int = 16,
    holdout: float = 0.1,
    seed: int = 0,
    progress: bool = False,
    decay: bool = False,
    validate: bool = False,
) -> YawRegressor:
    """Fit the yaw of ``data``'s landmarks (clipped to +-``YAW_LIMIT``) on a seeded random ``1 - holdout`` of its
    faces, each batch half mirrored (yaw negated); ``report`` gives the error on the rest. ``decay`` and
    ``validate``: as the attribute classifier's (:func:`~.attributes.train_classifier`)."""
    if data.landmarks is None:
        raise DCGANError(
            f"{data.source or 'the data'} has no landmarks to learn yaw from",
            "give CelebA with its list_landmarks_align_celeba.txt beside list_attr_celeba.txt",
        )
    target = yaw(data.landmarks, data.landmark_names).clamp(-YAW_LIMIT, YAW_LIMIT)
    order = seeded(seed)
    train_part, test_part = split_rows(len(data), holdout, batch_size, order, validate)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        regressor = YawRegressor(data.resolution, data.channels, width)
    regressor.unit.fill_(target[train_part].abs().square().mean().sqrt())  # yaw's spread about 0, its mirrors'
    flips = seeded(seed + 1)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        images, mirrored = mirror_some(to_unit_range(data.images[batch]), flips)
        wanted = torch.where(mirrored, -target[batch], target[batch]) / regressor.unit
        return F.smooth_l1_loss(regressor(images)[:, 0], wanted)

    fit(regressor, train_part, batch_loss, epochs, batch_size, lr, order, "yaw regressor", progress, decay)
    regressor.report = {
        "held_out": yaw_error(regressor.predict(to_unit_range(data.images[test_part])), target[test_part]),
        "train_images": len(train_part),
        "epochs": epochs,
        "training": {"width": width, "lr": lr, "decay": decay},
        "split": "validation" if validate else "held out",
    }
    return regressor


def yaw_error(predicted: torch.Tensor, true: torch.Tensor) -> dict:
    """How well ``predicted`` yaw matches ``true``: mean absolute error, correlation, and the spread to judge them
    by (the true yaw's standard deviation, and the error of always guessing its mean)."""
    centred_p, centred_t = predicted - predicted.mean(), true - true.mean()
    correlation = (centred_p * centred_t).sum() / (centred_p.norm() * centred_t.norm()).clamp(min=1e-12)
    return {
        "faces": len(true),
        "mae": round(float((predicted - true).abs().mean()), 4),
        "correlation": round(float(correlation), 4),
        "real_yaw_std": round(float(true.std()), 4),
        "mae_of_the_mean": round(float(centred_t.abs().mean()), 4),
    }


def save_regressor(regressor: YawRegressor, path: str | Path) -> Path:
    return save_trunk(regressor, path, FORMAT)


def load_regressor(path: str | Path) -> YawRegressor:
    return load_trunk(
        path,
        FORMAT,
        ("yaw regressor", "a yaw regressor", "dcgan attribute-classifier --yaw"),
        lambda meta: YawRegressor(meta["resolution"], meta["channels"], meta["width"]),
    )
