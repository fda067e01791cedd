#!/usr/bin/env bash
# Set up, then train on the MNIST sample bundled with the package (offline). Extra arguments go to `dcgan train`.
# On the bundled sample the run also scores its samples twice an epoch (FID, KID, precision/recall against
# the bundled MNIST domain network), so its report.html has a quality curve; with --data or --config, pass your
# own --eval-every (and with --data, --eval-features).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
case " $* " in
*" --data"* | *" --config"* | *" --resume"* | *" --eval-every"* | *" -h "* | *" --help "*) quality=() ;;
*)
	# half an epoch in steps: the images the run reads (the sample, or its --limit) over its --batch-size, as
	# dcgan reads these arguments; with the default cache, the data decoded here is the data the run maps
	every=$(.venv/bin/python - "$@" <<'PY'
import dataclasses, sys
from dcgan import TrainConfig, load_dataset
from dcgan.cli import build_parser
given = vars(build_parser().parse_args(["train", *sys.argv[1:]]))
config = TrainConfig(**{f.name: given[f.name] for f in dataclasses.fields(TrainConfig) if f.name in given})
data = load_dataset(config.data, config.source_options(), progress=config.progress, cache=config.cache)
print(max(1, len(data) // config.batch_size // 2))
PY
	)
	quality=(--eval-every "$every")
	;;
esac
exec .venv/bin/dcgan train "${quality[@]}" "$@"
