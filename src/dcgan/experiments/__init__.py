"""The paper's experiments, each with one entry point that its ``dcgan`` command and its recipe stage both call.

An entry point takes the networks and the experiment's settings and returns a typed report: a
dataclass of its numbers, its figure(s), its table (:class:`~.tables.Table`) and ``to_dict()``
(its JSON). The command prints and writes the report; the recipe stage sets it on the page. A new
experiment is one more such function and report, in the module of its figure:

- ``walk``: ``walk_experiment``, a walk through z (figure 4);
- ``arithmetic``: ``arithmetic_experiment``, vector arithmetic on exemplars, measured (figure 7);
- ``direction``: ``direction_experiment``, samples moved along a direction, measured (figure 8);
- ``guided_backprop``: ``guided_backprop_experiment``, what excites D's feature maps (figure 5);
- ``forgetting``: ``forgetting_experiment``, dropping the G maps of a boxed object (figure 6), the boxes file;
- ``memorisation``: ``memorisation_check``, nearest training images against held-out ones (section 4.1);
- ``linear_probe``: ``linear_probe``, the CIFAR-10 / SVHN-1000 tables (section 5), on ``svm``'s L2-SVMs.

Their parts: ``latent`` (the maths of z, z files), ``attributes`` (the attribute classifier that
picks exemplars and scores samples), ``features`` (D as a feature extractor and the baselines').
"""
