"""Yaw from landmarks, the regressor that reads it from images (learned, mirrored, saved and loaded), and the turn
vector of figure 8 measured with it."""

import numpy as np
import pytest
import torch
from torch import nn

from dcgan import DCGANError, ImageData
from dcgan.core.models import ModelSpec
from dcgan.experiments.attributes import NoExemplarsError
from dcgan.experiments.direction import TURN_STRENGTHS, TURNED, turn_experiment
from dcgan.experiments.latent import load_z, load_z_meta
from dcgan.experiments.pose import load_regressor, save_regressor, train_yaw_regressor, yaw

NAMES = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]


def face(nose_x: float, eyes=((0.3, 0.4), (0.7, 0.4))) -> list[list[float]]:
    """Five landmarks as (x, y) fractions: the eyes given, the nose at ``nose_x`` below them, a level mouth."""
    return [list(eyes[0]), list(eyes[1]), [nose_x, 0.6], [0.35, 0.8], [0.65, 0.8]]


def test_a_frontal_face_has_yaw_0_and_the_sign_says_where_the_nose_points():
    landmarks = torch.tensor([face(0.5), face(0.3), face(0.6), face(0.4, ((0.2, 0.3), (0.4, 0.3)))])
    # the nose in line with an eye: half the distance between the eyes; to the image's left: negative
    assert yaw(landmarks, NAMES).tolist() == pytest.approx([0.0, -0.5, 0.25, 0.5])
    mirrored = landmarks[:, [1, 0, 2, 4, 3]] * torch.tensor([-1.0, 1.0]) + torch.tensor([1.0, 0.0])
    assert yaw(mirrored, NAMES).tolist() == pytest.approx((-yaw(landmarks, NAMES)).tolist())
    tilted = torch.tensor([face(0.5 + 0.1 * 0.6, ((0.3, 0.3), (0.7, 0.6)))])  # the eyes 0.5 apart, not 0.4
    assert yaw(tilted, NAMES).item() == pytest.approx(0.06 / 0.5)


def test_yaw_refuses_landmarks_it_cannot_read():
    with pytest.raises(DCGANError, match=r"needs the landmarks .*no nose"):
        yaw(torch.zeros(1, 2, 2), ["left_eye", "right_eye"])
    with pytest.raises(DCGANError, match="both eyes' landmarks on one point"):
        yaw(torch.tensor([face(0.5, ((0.5, 0.4), (0.5, 0.4)))]), NAMES)


def nose_bars(n: int = 480, resolution: int = 16, seed: int = 0) -> ImageData:
    """Noisy dark images with a bright vertical bar under the nose landmark: the yaw is where the bar is."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(-0.5, 0.5, n)
    nose_x = 0.5 + 0.4 * truth  # the eyes are 0.4 apart: yaw = truth
    pixels = rng.normal(60, 20, (n, 1, resolution, resolution))
    for i, x in enumerate(nose_x):
        pixels[i, 0, 4:14, int(x * resolution)] = 230
    return ImageData(
        torch.from_numpy(pixels.clip(0, 255).astype(np.uint8)),
        landmarks=torch.tensor([face(x) for x in nose_x], dtype=torch.float32),
        landmark_names=NAMES,
        source="synthetic",
    )


@pytest.fixture(scope="module")
def regressor():
    return train_yaw_regressor(nose_bars(), epochs=6, batch_size=16, width=8, holdout=0.25, seed=0)


def test_the_regressor_learns_yaw_and_reports_its_held_out_error(regressor):
    held_out = regressor.report["held_out"]
    assert held_out["faces"] == 120 and regressor.report["train_images"] == 360
    assert held_out["correlation"] > 0.9 and held_out["mae"] < 0.3 * held_out["mae_of_the_mean"]
    assert held_out["real_yaw_std"] == pytest.approx(1 / 12**0.5, rel=0.15) == regressor.real_spread  # U(-0.5, 0.5)
    fresh = nose_bars(100, seed=1)
    predicted = regressor.predict(fresh.images.float() / 127.5 - 1)
    assert torch.corrcoef(torch.stack([predicted, yaw(fresh.landmarks, NAMES)]))[0, 1] > 0.9
    assert regressor.table().columns == ["faces", "mae", "correlation", "real_yaw_std", "mae_of_the_mean"]


def test_a_mirrored_image_reads_the_opposite_yaw(regressor):
    images = nose_bars(20, seed=2).images.float() / 127.5 - 1
    assert torch.allclose(regressor.predict(images.flip(-1)), -regressor.predict(images), atol=1e-6)


def test_the_regressor_is_seeded_and_round_trips(regressor, tmp_path):
    again = train_yaw_regressor(nose_bars(), epochs=6, batch_size=16, width=8, holdout=0.25, seed=0)
    images = nose_bars(20, seed=3).images.float() / 127.5 - 1
    assert torch.equal(again.predict(images), regressor.predict(images))
    loaded = load_regressor(save_regressor(regressor, tmp_path / "yaw.safetensors"))
    assert loaded.report == regressor.report and torch.equal(loaded.predict(images), regressor.predict(images))
    with pytest.raises(DCGANError, match="shape"):
        loaded.predict(torch.zeros(2, 3, 16, 16))
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    with pytest.raises(DCGANError, match="not a yaw regressor"):
        load_regressor(tmp_path / "bad.safetensors")
    with pytest.raises(DCGANError, match="does not exist"):
        load_regressor(tmp_path / "none.safetensors")


def test_data_without_landmarks_is_refused():
    with pytest.raises(DCGANError, match="has no landmarks to learn yaw from"):
        train_yaw_regressor(ImageData(torch.zeros(100, 1, 16, 16, dtype=torch.uint8), source="bars"))


RAMP = torch.linspace(-1, 1, 16)  # a stand-in face's yaw is how steeply its brightness rises to the right


class TurningG(nn.Module):
    """A stand-in generator whose faces' yaw is a known function of z: ``slope * z[0] + offset``."""

    spec = ModelSpec(resolution=16, channels=1, nz=64)

    def __init__(self, slope: float = 0.1, offset: float = 0.0):
        super().__init__()
        self.slope, self.offset = nn.Parameter(torch.tensor(slope)), offset

    def forward(self, z):
        return ((self.slope * z[:, 0] + self.offset)[:, None, None, None] * RAMP).expand(-1, 1, 16, 16)


class RampReader:
    """A stand-in regressor reading the yaw TurningG drew; real faces' yaw spread 0.2."""

    real_spread = 0.2

    def predict(self, images):
        return (images * RAMP).mean((-3, -2)).sum(-1) / RAMP.square().sum()


def test_the_turn_vector_turns_as_far_as_g_says_and_random_directions_do_not(tmp_path):
    G = TurningG()
    report = turn_experiment(G, "normal", RampReader(), k=10, pool=400, num=32, rows=4, draws=3, seed=0)
    strengths = torch.tensor(TURN_STRENGTHS)
    start = report.direction.moved[:, list(TURN_STRENGTHS).index(0.0), 0]  # each sample's z[0] before it moved
    v0 = float(report.direction.vector[0])
    assert v0 > 4  # the furthest right-looking samples have z[0] over 2, the left-looking ones under -2
    expected = 0.1 * (start[:, None] + strengths * v0)
    assert torch.allclose(report.turn_yaw, expected, atol=1e-5)
    right, left = report.exemplar_yaw["right"], report.exemplar_yaw["left"]
    assert len(right) == len(left) == 10 and min(right) > TURNED and max(left) < -TURNED
    assert right == sorted(right, reverse=True) and left == sorted(left)
    summary = report.summary()
    assert summary["monotone"] and summary["change"] == pytest.approx(0.2 * v0, abs=1e-4)
    assert summary["change_in_real_spreads"] == pytest.approx(summary["change"] / 0.2, abs=1e-3)
    random_v0 = report.random_vectors[:, 0]
    assert torch.allclose(report.random_vectors.norm(dim=1), report.direction.vector.norm().expand(3))
    assert summary["random_change"] == pytest.approx(float((0.2 * random_v0).abs().mean()), abs=1e-4)
    assert summary["random_change"] < 0.25 * summary["change"]  # a random 64-d direction barely turns
    table = report.table()
    assert table.columns[0] == "strength" and [row[0] for row in table.rows] == ["-1", "-0.5", "0", "0.5", "1"]
    assert float(table.rows[-1][1]) == pytest.approx(float(expected[:, -1].mean()), abs=1e-3)
    assert report.figure.size == (5 * 16 + 6 * 2, 4 * 16 + 5 * 2)  # 4 rows of 5 strengths
    assert report.to_dict()["summary"] == summary and report.to_dict()["random_directions"] == 3
    zfile = report.save_z(tmp_path / "turn.safetensors")
    assert torch.equal(load_z(zfile), report.direction.shown) and load_z_meta(zfile)["strengths"] == list(
        TURN_STRENGTHS
    )
    again = turn_experiment(G, "normal", RampReader(), k=10, pool=400, num=32, rows=4, draws=3, seed=0)
    assert torch.equal(again.turn_yaw, report.turn_yaw) and torch.equal(again.random_yaw, report.random_yaw)


def test_a_g_whose_faces_never_turn_gives_no_exemplars_and_bad_sizes_are_refused():
    with pytest.raises(NoExemplarsError, match=r"only 0 of 100 samples look left .*3 needed"):
        turn_experiment(TurningG(slope=0.01, offset=0.05), "normal", RampReader(), pool=100)
    with pytest.raises(DCGANError, match="need a --pool of at least 20"):
        turn_experiment(TurningG(), "normal", RampReader(), k=10, pool=19)
    with pytest.raises(DCGANError, match="random-directions at least 1"):
        turn_experiment(TurningG(), "normal", RampReader(), draws=0)
