"""The paper's experiments, each a Python API that a command of ``dcgan`` wraps.

- ``latent``: walks (figure 4), vector arithmetic (figure 7), directions (figure 8), z files;
- ``attributes``: the attribute classifier that picks exemplars and scores generated samples;
- ``features``: D as a feature extractor (section 5.1) and the baselines' extractors;
- ``linear_probe``: linear L2-SVMs on those features, the CIFAR-10 / SVHN-1000 protocols and table;
- ``guided_backprop``: what excites D's feature maps (figure 5);
- ``forgetting``: dropping the G feature maps of a boxed object (figure 6), and the boxes file;
- ``memorisation``: nearest training images of samples against held-out real images (section 4.1).
"""
