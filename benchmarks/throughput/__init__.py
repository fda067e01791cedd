"""Training throughput: the pytorch/examples DCGAN pipeline against ours, interleaved, on real images.

    python -m benchmarks.throughput            # full run (tens of minutes on 2 cores)
    python -m benchmarks.throughput --quick    # under a minute: checks that everything runs

Every measurement runs in a fresh subprocess (so peak memory is its own and no state leaks
between configurations), and configurations are interleaved (baseline, ours, baseline, ours,
...) so that a shared, noisy machine slows all of them alike: compare ratios, not absolutes.

The baseline follows the pytorch/examples dcgan pipeline as documented there, written here
without torchvision: an image-folder dataset that opens each file with PIL per item and
applies resize + centre crop + to-tensor + normalise per item, a DataLoader with 2 workers
and batch 128, eager fp32 NCHW networks of the same architecture, Sigmoid + BCELoss, Adam,
D on a real then a fake batch, G on the same fake batch, and the per-step ``.item()`` reads
of its logging. Ours is ``Trainer.train_batch``, the exact code path of ``dcgan train``,
on images decoded once into memory (the one-off decode is timed separately).

FLOP utilisation = FLOPs per image per iteration (``torch.utils.flop_counter``) x images/s
divided by a peak measured in the same run: a large matmul and a DCGAN-shaped convolution.

One module per part: ``data`` (the images), ``baseline`` and ``ours`` (the two pipelines),
``limits`` (machine peaks, convolutions alone), ``measure`` (what those share), ``worker`` (one
measurement in its subprocess), ``plan`` (which measurements, in which order), ``report`` (the
markdown); ``__main__`` runs the plan and writes the JSON and the table.
"""
