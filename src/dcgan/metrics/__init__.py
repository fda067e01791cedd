"""Sample quality: FID, KID and precision/recall in a choice of feature spaces, offline; the NN protocol.

distances.py    the arithmetic (Frechet distance, unbiased polynomial MMD, k-NN manifolds)
inception.py    the FID standard's Inception-v3, built here, loading the reference weights file
classifier.py   the domain network: a small classifier trained on the labelled real data
networks.py     feature networks by name (inception, domain:PATH, discriminator[:CHECKPOINT])
evaluate.py     a checkpoint against real data: the API of ``dcgan evaluate`` and of evaluation in training
nn_protocol.py  the paper's nearest-neighbour protocol for a class-conditional G (appendix, table 3)
"""

from .classifier import load_classifier, train_classifier
from .distances import fid, frechet_distance, kid, precision_recall
from .evaluate import METRICS, Evaluation, evaluate, score
from .networks import feature_network
from .nn_protocol import NNProtocolReport, nn_protocol, nn_protocol_files

__all__ = [
    "METRICS",
    "Evaluation",
    "NNProtocolReport",
    "evaluate",
    "feature_network",
    "fid",
    "frechet_distance",
    "kid",
    "load_classifier",
    "nn_protocol",
    "nn_protocol_files",
    "precision_recall",
    "score",
    "train_classifier",
]
