"""Epoch time of msmix against MMSA 2.2.1's own pipeline, side by side in one run.

Both sides train the same model (the published MOSI config, same layers, dropout and parameter
count) on the same MOSI-shaped unaligned_50 file at the published batch size, with no
augmentation, on the CPU, with the same number of torch threads. An epoch is one training pass
plus one validation pass, as in MMSA's trainer. The sides alternate (MMSA, msmix, MMSA, msmix ...)
so a change in the machine's load hits both; the script reports the median seconds per epoch
after the first epoch, and the ratio MMSA / msmix.

MMSA runs in a virtual environment of its own (see ``benchmarks/mmsa_epoch.py`` for its set-up);
pass its Python with ``--mmsa-python``. Example (a quarter of MOSI's samples):

    .venv/bin/python benchmarks/epoch_time.py --mmsa-python /path/to/mmsa-venv/bin/python \\
        --models tfn lmf --epochs 4 --rounds 2 --threads 1

MulT and MISA read the sequences (no time-averaging). MISA fine-tunes BERT on both sides: a local
folder given with ``--bert``, by default a randomly initialised one of bert-base-uncased's shape
(the script writes it), so both sides fine-tune the same 110 M-parameter encoder.

Fairness notes: msmix's loader averages audio and vision over valid frames once at load time
(MMSA's ``need_normalized`` also averages once, at load); neither side writes checkpoints unless
``--checkpoints`` is given to msmix (MMSA writes one whenever validation improves, which the MMSA
half counts). msmix's trainer keeps freed CPU memory for reuse (``TrainConfig.reuse_cpu_memory``);
``--no-reuse-memory`` turns that off to show what it contributes. OpenMP's wait policy is left at
its default (threads spin while they wait): ``OMP_WAIT_POLICY=PASSIVE`` makes two-thread epochs of
both sides much slower, and the comparison would measure the waiting instead of the work. On a
machine shared with other jobs, run with ``--threads 1``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_data(path: Path, mmsa_python: str) -> None:
    """Write the MOSI-shaped file with the MMSA script's own generator (numpy only)."""
    subprocess.run(
        [mmsa_python, str(HERE / "mmsa_epoch.py"), "--make-data", str(path),
         "--n-train", "320", "--n-valid", "57", "--n-test", "171"],
        check=True,
    )


def write_random_bert(path: Path) -> None:
    """A randomly initialised BERT of bert-base-uncased's shape (12 layers, 768 wide) with a vocab.txt.

    MISA fine-tunes bert-base-uncased, which cannot be downloaded here; timing needs its shape, not
    its weights. MMSA's MISA also loads the tokenizer, hence the vocabulary file.
    """
    from transformers import BertConfig, BertModel

    BertModel(BertConfig()).save_pretrained(path)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = special + [f"w{i}" for i in range(BertConfig().vocab_size - len(special))]
    (path / "vocab.txt").write_text("\n".join(words) + "\n")


def mmsa_epoch_seconds(
    mmsa_python: str, data: Path, model: str, epochs: int, threads: int, bert: Path | None, device: str = "cpu"
) -> dict:
    extra = ["--bert", str(bert)] if bert is not None and model == "misa" else []
    done = subprocess.run(
        [mmsa_python, str(HERE / "mmsa_epoch.py"), "--data", str(data), "--model", model,
         "--epochs", str(epochs), "--threads", str(threads), "--device", device, *extra],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no error output)"])[-1]
        raise RuntimeError(f"MMSA's {model} epoch failed in {mmsa_python} (status {done.returncode}): {last}")
    out = done.stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return rows[-1]


def msmix_epoch_seconds(
    data: Path, model: str, epochs: int, threads: int, checkpoints: bool, reuse_memory: bool, bert: Path | None
) -> dict:
    """Run the msmix half in a fresh process, so neither side inherits the other's allocator state."""
    overrides = {"text_encoder": str(bert)} if bert is not None and model == "misa" else {}
    code = f"""
import json, statistics, tempfile, torch
torch.set_num_threads({threads})
import msmix.data, msmix.mixing, msmix.models
from msmix.train import Trainer, TrainConfig
averaged = msmix.models.backbone_class({model!r}).needs_time_average
ds = msmix.data.load({str(data)!r}, time_average=averaged)
model = msmix.models.create({model!r}, ds.spec, **{overrides!r})
mixer = msmix.mixing.create("none", model.latent_dims, ds.spec.label_range)
config = TrainConfig.for_backbone({model!r}, "mosi", max_epochs={epochs}, patience={epochs + 1},
                                  device="cpu", reuse_cpu_memory={reuse_memory})
run_dir = tempfile.mkdtemp() if {checkpoints} else None
trainer = Trainer(model, mixer, ds, config, run_dir=run_dir, progress=False)
trainer.fit()
secs = [float(s) for s in trainer.history["seconds"]]
print(json.dumps({{"epoch_seconds": secs, "seconds_per_epoch": statistics.median(secs[1:] or secs),
                  "parameters": sum(p.numel() for p in model.parameters()),
                  "batch_size": config.batch_size}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mmsa-python", required=True, help="Python of a venv with MMSA==2.2.1")
    parser.add_argument("--data", type=Path, help="MOSI-shaped pickle (made if absent)")
    parser.add_argument("--models", nargs="+", default=["tfn", "lmf"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="alternating repetitions per side")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoints", action="store_true", help="msmix writes its per-epoch checkpoints")
    parser.add_argument("--no-reuse-memory", action="store_true")
    parser.add_argument("--bert", type=Path, help="local BERT folder MISA fine-tunes on both sides (made, random, if absent)")
    args = parser.parse_args(argv)

    data = args.data or Path(tempfile.gettempdir()) / "msmix_mosi_quarter.pkl"
    if not data.exists():
        make_data(data, args.mmsa_python)
    bert = args.bert or Path(tempfile.gettempdir()) / "msmix_random_bert_base"
    if "misa" in args.models and not (bert / "config.json").exists():
        write_random_bert(bert)

    print(f"# {datetime.date.today()}  {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} torch thread(s), load average {os.getloadavg()[0]:.1f} at start")
    print("| model | batch | params (MMSA / msmix) | MMSA s/epoch | msmix s/epoch | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        mmsa, ours = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            m = mmsa_epoch_seconds(args.mmsa_python, data, model, args.epochs, args.threads, bert)
            o = msmix_epoch_seconds(data, model, args.epochs, args.threads, args.checkpoints, not args.no_reuse_memory, bert)
            mmsa.append(m["seconds_per_epoch"])
            ours.append(o["seconds_per_epoch"])
            print(f"#   {model}: MMSA {m['seconds_per_epoch']:.3f} s, msmix {o['seconds_per_epoch']:.3f} s "
                  f"({time.perf_counter() - started:.0f} s for the round)", file=sys.stderr)
        a, b = statistics.median(mmsa), statistics.median(ours)
        print(f"| {model} | {o['batch_size']} | {m['parameters']:,} / {o['parameters']:,} | {a:.3f} | {b:.3f} | {a / b:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
