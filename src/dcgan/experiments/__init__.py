"""The paper's experiments, each a Python API that a command of ``dcgan`` wraps.

- ``latent``: walks (figure 4), vector arithmetic (figure 7), directions (figure 8), z files;
- ``attributes``: the attribute classifier that picks exemplars and scores generated samples;
- ``features``: D as a feature extractor (section 5.1) and the baselines' extractors;
- ``linear_probe``: linear L2-SVMs on those features, the CIFAR-10 / SVHN-1000 protocols and table.
"""
