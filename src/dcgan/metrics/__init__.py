"""Sample quality: FID, KID and precision/recall in a choice of feature spaces, offline.

distances.py   the arithmetic (Frechet distance, unbiased polynomial MMD, k-NN manifolds)
inception.py   the FID standard's Inception-v3, built here, loading the reference weights file
classifier.py  the domain network: a small classifier trained on the labelled real data
networks.py    feature networks by name (inception, domain:PATH, discriminator[:CHECKPOINT])
evaluate.py    a checkpoint against real data: the API of ``dcgan evaluate`` and of evaluation in training
"""

from .classifier import load_classifier, train_classifier
from .distances import fid, frechet_distance, kid, precision_recall
from .evaluate import METRICS, Evaluation, evaluate, score
from .networks import feature_network

__all__ = [
    "METRICS",
    "Evaluation",
    "evaluate",
    "feature_network",
    "fid",
    "frechet_distance",
    "kid",
    "load_classifier",
    "precision_recall",
    "score",
    "train_classifier",
]
