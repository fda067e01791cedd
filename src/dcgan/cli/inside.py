"""``dcgan visualize-d``, ``dcgan forget`` and ``dcgan nearest``: looking inside the networks (sections 6.2, 6.3, 4.1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.checkpoints import FULL_CHECKPOINT, load_checkpoint
from ..core.images import save_image
from ..errors import DCGANError
from ..experiments.attributes import load_classifier
from ..experiments.features import load_images_for
from ..experiments.forgetting import forgetting_experiment, load_boxes
from ..experiments.guided_backprop import guided_backprop_experiment
from ..experiments.latent import load_z, load_z_meta
from ..experiments.memorisation import memorisation_check
from .options import add_checkpoint, add_limit, add_progress, add_seed, source_options, write_json


def register_visualize_d(sub) -> None:
    p = sub.add_parser(
        "visualize-d",
        help="guided backpropagation of D's feature maps, trained beside random (figure 5)",
        description="For the feature maps of a discriminator layer most active on real images, render the "
        "guided-backpropagation map of each on the real images that excite it most; one row per map, the "
        "trained D's rows above those of a randomly initialised D of the same architecture.",
    )
    add_checkpoint(p)
    p.add_argument("--data", required=True, metavar="PATH", help="real images, read at the checkpoint's size")
    p.add_argument("-o", "--output", required=True, metavar="FIGURE.png")
    p.add_argument("--layer", help="a discriminator block, e.g. down3 [default: the last convolutional layer]")
    p.add_argument("--features", type=int, default=6, help="feature maps shown per network [default: 6]")
    p.add_argument("--per-feature", type=int, default=8, help="top images per feature map [default: 8]")
    add_seed(p, "seed of the random D")
    add_limit(p)
    p.set_defaults(run=run_visualize_d)


def run_visualize_d(args: argparse.Namespace) -> int:
    if args.features < 1 or args.per_feature < 1:
        raise DCGANError("--features and --per-feature must be at least 1")
    trained = load_checkpoint(args.checkpoint).network("D")
    images = load_images_for(trained.spec, args.data, source_options(args).limit).images
    report = guided_backprop_experiment(trained, images, args.layer, args.features, args.per_feature, args.seed)
    path = save_image(report.figure(), args.output)
    for name, vis in report.panels.items():
        print(f"{name} D: maps {', '.join(map(str, vis.channels))}")
    print(f"wrote {path}")
    return 0


def register_forget(sub) -> None:
    p = sub.add_parser(
        "forget",
        help="make G forget an object: drop the feature maps a box-trained logistic regression picks (figure 6)",
        description="Fit a logistic regression on G's second-highest convolutional layer, positions inside the "
        "boxes against positions outside them on the same samples; drop the maps with positive weight and draw "
        "the boxed cells again. With --classifier and --detect, also count how often the object is recognised "
        "on --held-out fresh samples before and after.",
    )
    add_checkpoint(p, generator=True)
    p.add_argument("--sheet", required=True, metavar="SHEET.safetensors", help="z file of dcgan sample --sheet")
    p.add_argument("--boxes", required=True, metavar="BOXES.json", help='{"boxes": {"CELL": [[x0, y0, x1, y1]]}}')
    p.add_argument("-o", "--output", required=True, metavar="FORGET.png", help="the boxed cells, before and after")
    p.add_argument("--classifier", metavar="FILE", help="an attribute classifier (dcgan attribute-classifier)")
    p.add_argument("--detect", metavar="CONDITION", help="the object as a classifier condition, e.g. Eyeglasses")
    p.add_argument(
        "--held-out", type=int, default=300, dest="fresh", help="fresh samples for the detection rate [default: 300]"
    )
    add_seed(p, "seed of those samples and of the negatives", default=1)
    p.add_argument(
        "--most", type=int, help="drop at most this many maps, the largest weights [default: every positive one]"
    )
    p.add_argument("--show", type=int, help="boxed cells shown in the figure [default: all]")
    p.add_argument("--json", metavar="OUT.json", help="also write the report as JSON")
    p.set_defaults(run=run_forget)


def run_forget(args: argparse.Namespace) -> int:
    if (args.classifier is None) != (args.detect is None):
        raise DCGANError("--classifier and --detect go together", "give both, or neither")
    if args.fresh < 1 or any(v is not None and v < 1 for v in (args.show, args.most)):
        raise DCGANError("--held-out, --show and --most must be at least 1")
    checkpoint = load_checkpoint(args.checkpoint)
    G = checkpoint.generator(args.generator)
    z = load_z(args.sheet)
    if z.shape[1] != G.spec.nz:
        raise DCGANError(
            f"the sheet's z have length {z.shape[1]}, the generator of {checkpoint.path} takes {G.spec.nz}",
            "make the sheet with dcgan sample --sheet --checkpoint of this run",
        )
    drawn_by = load_z_meta(args.sheet).get("checkpoint")
    if drawn_by and Path(drawn_by).resolve() != Path(checkpoint.path).resolve():
        print(f"note: the sheet was drawn by {drawn_by}; its boxes are applied to {checkpoint.path}", file=sys.stderr)
    boxes = load_boxes(args.boxes, len(z), G.spec.resolution)
    result = forgetting_experiment(
        G,
        z,
        boxes,
        seed=args.seed,
        most=args.most,
        classifier=load_classifier(args.classifier) if args.classifier else None,
        detect=args.detect,
        held_out=args.fresh,
        noise=checkpoint.noise,
    )
    save_image(result.figure(args.show), args.output)
    a = result.activation
    print(f"{len(boxes)} cells, {sum(map(len, boxes.values()))} boxes; layer {result.layer}")
    print(f"dropped {len(result.dropped)} of {len(result.weights)} maps")
    print(f"mean activation inside the boxes {a['inside_before']:.4f} -> {a['inside_after']:.4f}")
    print(f"mean activation outside the boxes {a['outside_before']:.4f} -> {a['outside_after']:.4f}")
    for condition, rates in result.detection.items():
        each = " ".join(f"{r:.3f}" for r in rates["after_random_maps_each"])
        print(
            f"{condition} on {rates['samples']} fresh samples: {rates['before']:.3f} -> {rates['after']:.3f} "
            f"({rates['after_random_maps']:.3f} with as many random maps dropped instead, mean of "
            f"{len(rates['after_random_maps_each'])} draws: {each})"
        )
    print(f"wrote {args.output}")
    write_json(args.json, result.to_dict())
    return 0


def register_nearest(sub) -> None:
    p = sub.add_parser(
        "nearest",
        help="memorisation check: nearest training images of samples, against held-out real images (section 4.1)",
        description="Exact nearest training images of generated samples in pixel space and in D-feature space "
        "(the checkpoint's own D, last conv layer pooled to 4x4), shown as a montage; the distances are compared "
        "with those of held-out real images (--held-out-data, or a random --held-out of --data left out of the "
        "reference set). A median ratio far below 1 means the generator copies training images.",
    )
    add_checkpoint(p, generator=True)
    p.add_argument("--data", required=True, metavar="PATH", help="the training images")
    p.add_argument("-n", type=int, default=16, help="samples shown in the montage [default: 16]")
    p.add_argument("-o", "--output", required=True, metavar="NN.png", help="the montage; NN-distances.png beside it")
    p.add_argument("--samples", type=int, default=500, help="generated samples measured [default: 500]")
    p.add_argument("-k", type=int, default=3, help="nearest training images shown per space [default: 3]")
    p.add_argument("--held-out-data", metavar="PATH", help="real images the generator never saw (e.g. a test split)")
    p.add_argument(
        "--held-out",
        type=int,
        default=500,
        dest="held_out_count",
        help="images of --data held out otherwise [default: 500]",
    )
    add_seed(p, "seed of the samples and the held-out split")
    p.add_argument("--json", metavar="OUT.json", help="also write the summary as JSON")
    add_limit(p)
    add_progress(p)
    p.set_defaults(run=run_nearest)


def run_nearest(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    G = checkpoint.generator(args.generator)
    D = checkpoint.network("D") if "D" in checkpoint.networks else None
    if D is None:  # a generator-only file
        note = f"{checkpoint.path} has no discriminator, so pixel space only; for D features use {FULL_CHECKPOINT}"
        print(f"note: {note}", file=sys.stderr)
    limit = source_options(args).limit
    training = load_images_for(G.spec, args.data, limit).images
    held_out = load_images_for(G.spec, args.held_out_data, limit).images if args.held_out_data else args.held_out_count
    result = memorisation_check(
        G, D, training, held_out, args.samples, args.n, args.k, args.seed, checkpoint.noise, args.progress
    )
    path = save_image(result.montage(), args.output)
    result.plot_distances(path.with_name(path.stem + "-distances.png"))
    held = result.distances[0].held_out
    print(f"{result.references:,} training images, {len(held):,} held out, {args.samples} samples")
    print(result.table().markdown())
    print(f"wrote {path} and {path.stem}-distances.png")
    write_json(args.json, {"checkpoint": str(checkpoint.path), **result.to_dict()})
    return 0
