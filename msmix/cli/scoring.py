"""``msmix evaluate`` and ``msmix predict``: a trained checkpoint scored on a data set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from msmix.cli.common import UsageError, add_kind_option, load_source
from msmix.cli.run_folders import holds_checkpoint, not_a_run_folder

_CHECKPOINT_HELP = "a run folder, OUT/<run>/ of `msmix train --out OUT` (it prints it), or a .pt checkpoint"


def add(commands: Any) -> None:
    """Register ``msmix evaluate`` and ``msmix predict`` on the subcommand parser."""
    _add_evaluate(commands)
    _add_predict(commands)


def _add_evaluate(commands: Any) -> None:
    p = commands.add_parser(
        "evaluate", help="MMSA metrics of a trained checkpoint on a data set's test split",
        description="Load a checkpoint (a run folder or its best.pt) and report MMSA's metrics on the test split of DATA.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help=_CHECKPOINT_HELP)
    p.add_argument("data", metavar="DATA", help='"toy" or the path of an MMSA .pkl file')
    _add_scoring_options(p)
    p.set_defaults(handler=evaluate)


def _add_predict(commands: Any) -> None:
    p = commands.add_parser(
        "predict", help="one score per sample of an MMSA-format file",
        description="Score every sample of one split of an MMSA-format file with a trained checkpoint: "
        "a CSV of id, prediction and label (to stdout, or to --out).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help=_CHECKPOINT_HELP)
    p.add_argument("features", metavar="FEATURES", help='an MMSA .pkl file (or "toy")')
    p.add_argument("--split", choices=["train", "valid", "test"], default="test", help="which split to score (default: test)")
    p.add_argument("--out", metavar="CSV", help="write the scores here instead of stdout")
    _add_scoring_options(p)
    p.set_defaults(handler=predict)


def _add_scoring_options(p: argparse.ArgumentParser) -> None:
    add_kind_option(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to run the model (default: auto)")


def evaluate(args: argparse.Namespace) -> int:
    """Run ``msmix evaluate``; returns the exit status."""
    import pandas as pd

    from msmix.inference import predict as predictions
    from msmix.metrics import regression_metrics

    loaded, data = _scoring_model(args.checkpoint, args.data, args.kind, args.device)
    test = data.test
    metrics = regression_metrics(predictions(loaded.model, test).cpu(), test.labels.cpu(), data.spec.metrics_kind)
    print(f"{loaded.backbone} + {loaded.mixer_name} from {args.checkpoint} on {_data_label(data)}, "
          f"test split (n={len(test)}):")
    print(pd.DataFrame([metrics]).to_string(index=False))
    return 0


def predict(args: argparse.Namespace) -> int:
    """Run ``msmix predict``; returns the exit status."""
    import pandas as pd

    from msmix.inference import predict as predictions

    loaded, data = _scoring_model(args.checkpoint, args.features, args.kind, args.device)
    split = data[args.split]
    scores = pd.DataFrame({
        "id": split.ids,
        "prediction": predictions(loaded.model, split).cpu().numpy(),
        "label": split.labels.cpu().numpy(),
    })
    if args.out:
        try:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            scores.to_csv(args.out, index=False)
        except OSError as err:
            raise UsageError(f"cannot write the scores to {args.out}: {err.strerror or err}") from None
        print(f"{len(scores)} scores of the {args.split} split of {_data_label(data)} written to {args.out}")
    else:
        scores.to_csv(sys.stdout, index=False)
    return 0


def _data_label(data: Any) -> str:
    return f"{data.source} (SYNTHETIC demo data)" if data.synthetic else str(data.source)


def _scoring_model(checkpoint: str, source: str, kind: str | None, device: str) -> tuple[Any, Any]:
    """A checkpoint's LoadedRun (its model on ``device``) and ``source`` loaded as the run loaded its data."""
    import json

    from msmix.train import RunSpec, load_checkpoint, load_data
    from msmix.train.run import SPEC_FILE, data_options_for
    from msmix.train.trainer import resolve_device

    path = Path(checkpoint)
    if not path.exists():
        raise UsageError(f"no checkpoint at {path}")
    if path.is_dir() and not holds_checkpoint(path) and (hint := not_a_run_folder(path)):
        raise UsageError(hint)
    try:
        loaded = load_checkpoint(path)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if loaded.data_args is not None:
        data = load_source(lambda: loaded.load_data(source, **({"kind": kind} if kind else {})), source)
    else:  # a checkpoint from before data arguments were recorded: its run folder's spec.json
        spec_file = (path if path.is_dir() else path.parent) / SPEC_FILE
        stored = json.loads(spec_file.read_text())["data_options"] if spec_file.is_file() else {}
        options = data_options_for(RunSpec(backbone=loaded.backbone, data_options=stored))
        data = load_source(lambda: load_data(source, kind=kind, **options), source)
    if data.spec.dims != loaded.spec.dims:
        raise UsageError(f"{checkpoint} was trained on features of sizes {loaded.spec.dims}, but {source} has {data.spec.dims}")
    try:
        loaded.model.to(resolve_device(device))
    except RuntimeError as err:
        raise UsageError(str(err)) from None
    return loaded, data
