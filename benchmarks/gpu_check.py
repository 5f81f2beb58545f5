"""Every CUDA check and GPU measurement of msmix in one run, written as one markdown report.

    PYTHONPATH=. python benchmarks/gpu_check.py --out gpu_check.md [--mmsa-python /path/to/mmsa-venv/bin/python]

(a) CUDA equivalence: each backbone x mixer trains a short fp32 run on the CPU and on the device
    with the same random draws; their losses and metrics must agree (``gpu_equivalence.py``).
(b) No host synchronisation: a warmed-up training epoch of each backbone with MS-Mix, of LMF with
    each mixer, and of two MS-Mix seeds of each stackable backbone stacked (at different learning
    rates), runs under ``torch.cuda.set_sync_debug_mode("error")`` (the trainers of
    ``cuda_step_check.py``); the first synchronising msmix line is named.
(c) Seconds per epoch, peak memory and last validation loss of each backbone at MOSI's shapes: fp32, bf16,
    compiled, compiled as CUDA graphs (``compile_mode="reduce-overhead"``), fp32 writing its
    checkpoints after every epoch, and fp32 without padding attention head sizes for the fused
    kernel (``gpu_epoch_times.py``).
(d) MMSA 2.2.1's own pipeline on the same file, model config and batch, beside (c)'s fp32 numbers
    (``mmsa_epoch.py`` run by ``epoch_time.mmsa_epoch_seconds``), when a Python with MMSA is given.
(e) Stacked seeds: N MS-Mix runs of each stackable backbone on the same file, in turn and then as
    one stacked model (``stacked_seeds.py``): wall times, speed-up and peak memory.
(f) The paper's 540-run grid projected from (e)'s and (c)'s epoch times (``grid_projection.py``).
(g) MS-Mix's share of a training step: each backbone's fp32 training pass with no mixer, Manifold
    Mixup and MS-Mix (``mixer_share.py``); the goal is the MS-Mix call at most 10 % of a step.

The cheap parts run first and the report is rewritten after every row, so a run cut short keeps
what it measured; a part or row that fails leaves its error line in the report and the others go
on. ``--device cpu --quick`` runs the same code on the CPU, for LMF and TFN with two mixers on a
fraction of the data, in well under a minute (a dry run: nothing GPU-specific is measured), which
is how the tests keep it working.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

import msmix.data  # noqa: E402
import msmix.mixing  # noqa: E402
import msmix.models  # noqa: E402
from msmix.data.subset import train_subset  # noqa: E402

import cuda_step_check  # noqa: E402
import epoch_time  # noqa: E402
import gpu_epoch_times  # noqa: E402
import gpu_equivalence  # noqa: E402
import grid_projection  # noqa: E402
import mixer_share  # noqa: E402
import mmsa_epoch  # noqa: E402
import stacked_seeds  # noqa: E402

T = TypeVar("T")
PARTS = ("a", "b", "c", "d", "e", "f", "g")
TITLES = {
    "a": "(a) CUDA equivalence: fp32 on the device against the CPU",
    "b": '(b) No host synchronisation: a training epoch under set_sync_debug_mode("error")',
    "c": "(c) Epoch time and peak memory at MOSI's shapes",
    "d": "(d) Side by side with MMSA 2.2.1's pipeline (fp32, same file, config and batch)",
    "e": "(e) Stacked seeds against the same seeds in turn",
    "f": "(f) The paper's grid, projected from (e) and (c)",
    "g": "(g) MS-Mix's share of a training step (fp32 training passes, MOSI's shapes)",
}
MMSA_MODELS = ("tfn", "lmf", "mult")
GOALS = {"tfn": 30, "lmf": 30, "mult": 35}
"""The speed-up over MMSA's pipeline each backbone's epoch is to reach on one H100 or H200."""
QUICK_MOSI_SIZES = {"train": 16, "valid": 4, "test": 4}
QUICK_FRACTION = 0.1
EQUIVALENCE_FRACTION = 0.5
"""(a) trains on half the demo train split: its 72 runs send every operator through a Python
dispatch mode (``SameRandomDraws``), and 200 samples show a difference as well as 400."""
QUICK_BACKBONES = ("lmf", "tfn")
"""The backbones of a quick run: the sequence models take tens of seconds per epoch at MOSI's lengths on a CPU."""
QUICK_MIXERS = ("none", "msmix")


@dataclass
class Report:
    """The report as it grows: a section per part, failures kept beside the numbers."""

    header: str
    out: Path | None
    sections: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, part: str, text: str) -> None:
        """A new block at the end of the part's section."""
        self.put(part, f"block {len(self.sections.get(part, {}))}", text)

    def put(self, part: str, key: str, text: str) -> None:
        """Set (or replace) the part's block ``key``: a table rewritten as its rows come in."""
        self.sections.setdefault(part, {})[key] = text
        self.write()

    def failed(self, part: str, what: str, err: BaseException) -> None:
        traceback.print_exception(err, file=sys.stderr)
        first = (str(err).strip().splitlines() or [""])[0]
        self.add(part, f"- FAILED {what}: {type(err).__name__}: {first} ({where(err)})")

    def text(self) -> str:
        blocks = [self.header]
        for part in PARTS:
            blocks.append(f"## {TITLES[part]}\n\n" + "\n\n".join(self.sections.get(part, {"": "(not run)"}).values()))
        return "\n\n".join(blocks) + "\n"

    def write(self) -> None:
        if self.out is not None:
            self.out.write_text(self.text())


def where(err: BaseException) -> str:
    """The innermost msmix or benchmark line an error passed through."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/msmix/" in f.filename or "/benchmarks/" in f.filename]
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "outside msmix"


def guarded(report: Report, part: str, what: str, work: Callable[[], T]) -> T | None:
    """``work()``, or None with its error line in the report."""
    try:
        return work()
    except Exception as err:  # noqa: BLE001 - one failure must not lose the other numbers
        report.failed(part, what, err)
        return None


def header(device: str, quick: bool) -> str:
    if device == "cuda":
        name = torch.cuda.get_device_name()
        extra = f"capability {torch.cuda.get_device_capability()}, bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}"
    else:
        name, extra = platform.processor() or platform.machine(), "CPU dry run"
    mode = ", --quick (a fraction of the data: not numbers to record)" if quick else ""
    return (f"# msmix GPU check\n\n{name} ({extra}), torch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC{mode}")


def demo_data(fraction: float) -> dict[bool, msmix.data.Dataset]:
    """The demo data, time-averaged (True) and as sequences (False), with ``fraction`` of its train split."""
    loaded = {averaged: msmix.data.load("toy", time_average=averaged) for averaged in (True, False)}
    return {k: train_subset(v, fraction, 1111) if fraction < 1 else v for k, v in loaded.items()}


def data_for(backbone: str, data: dict[bool, msmix.data.Dataset]) -> msmix.data.Dataset:
    return data[msmix.models.backbone_class(backbone).needs_time_average]


def part_a(report: Report, args: argparse.Namespace, data: dict[bool, msmix.data.Dataset]) -> None:
    rows = []
    for backbone in args.backbones:
        for mixer in args.mixers:
            row = guarded(report, "a", f"{backbone} + {mixer}", lambda: gpu_equivalence.compare(
                backbone, mixer, data_for(backbone, data), args.device, epochs=1))
            rows += [row] if row is not None else []
            report.put("a", "table", gpu_equivalence.table(rows, args.device))


@contextlib.contextmanager
def sync_errors(cuda: bool) -> Iterator[None]:
    """Inside the block every synchronising CUDA operation raises (nothing is checked on a CPU)."""
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        if cuda:
            torch.cuda.set_sync_debug_mode(0)
            torch.cuda.synchronize()


def sync_verdict(epoch: Callable[[], torch.Tensor | None], device: str) -> str:
    """Run ``epoch`` (a training pass returning its loss sums) under the sync guard: "yes", or "NO"
    with the first synchronising msmix line, or a note that its losses are not finite."""
    try:
        with sync_errors(device == "cuda"):
            sums = epoch()
    except RuntimeError as err:
        return f"NO: {where(err)}: {(str(err).strip().splitlines() or [''])[0]}"
    finite = sums is not None and bool(torch.isfinite(sums).all())
    checked = "yes" if device == "cuda" else "not checked (CPU)"
    return checked if finite else f"{checked}, but the epoch's losses are not finite"


def sync_free_epoch(backbone: str, mixer: str, data: msmix.data.Dataset, device: str) -> str:
    trainer = cuda_step_check.warmed_trainer(backbone, mixer, data, device)
    return sync_verdict(lambda: trainer._train_epoch(2), device)


def sync_free_stacked_epoch(backbone: str, data: msmix.data.Dataset, device: str) -> str:
    stacked = cuda_step_check.warmed_stacked(backbone, data, device)
    return sync_verdict(lambda: stacked._train_epoch([1.0, 0.5])[0], device)  # members at different rates: the scaled step


def part_b(report: Report, args: argparse.Namespace, data: dict[bool, msmix.data.Dataset]) -> None:
    pairs = [(b, "msmix") for b in args.backbones] + [("lmf", m) for m in args.mixers if m != "msmix" and "lmf" in args.backbones]
    stackable = [b for b in args.backbones if b in stacked_seeds.STACKABLE]
    lines = ["| backbone | mixer | no host sync |", "| --- | --- | --- |"]
    for backbone, mixer in pairs:
        verdict = guarded(report, "b", f"{backbone} + {mixer}", lambda: sync_free_epoch(backbone, mixer, data_for(backbone, data), args.device))
        if verdict is not None:
            lines.append(f"| {backbone} | {mixer} | {verdict} |")
        report.put("b", "table", "\n".join(lines))
    for backbone in stackable:
        verdict = guarded(report, "b", f"{backbone} stacked", lambda: sync_free_stacked_epoch(backbone, data_for(backbone, data), args.device))
        if verdict is not None:
            lines.append(f"| {backbone}, 2 seeds stacked | msmix | {verdict} |")
        report.put("b", "table", "\n".join(lines))


def mosi_shaped_file(folder: Path, quick: bool) -> Path:
    path = folder / "mosi_shaped.pkl"
    mmsa_epoch.make_data(path, QUICK_MOSI_SIZES if quick else mmsa_epoch.MOSI_SPLIT_SIZES, seed=1111)
    return path


def part_c(report: Report, args: argparse.Namespace, path: Path, variants: list[str]) -> list[gpu_epoch_times.EpochTime]:
    rows = []
    for backbone in args.backbones:
        data = guarded(report, "c", f"loading {path.name} for {backbone}", lambda: gpu_epoch_times.load_mosi_shaped(path, backbone))
        for variant in variants if data is not None else []:
            row = guarded(report, "c", f"{backbone} {variant}", lambda: gpu_epoch_times.time_variant(
                backbone, variant, data, args.device, args.epochs))
            rows += [row] if row is not None else []
            report.put("c", "table " + " ".join(variants), gpu_epoch_times.table(rows))
    return rows


def mmsa_python(given: str | None, quick: bool) -> str | None:
    """A Python that can import MMSA: the one given, else (unless quick) this one if it can, else None."""
    if given or quick:
        return given
    return sys.executable if importlib.util.find_spec("MMSA") is not None else None


def part_d(report: Report, args: argparse.Namespace, path: Path, ours: list[gpu_epoch_times.EpochTime]) -> None:
    python = mmsa_python(args.mmsa_python, args.quick)
    if python is None:
        report.add("d", "- skipped: no Python with MMSA 2.2.1 (none is looked for when quick); give --mmsa-python (a venv with MMSA==2.2.1 "
                        "and a torch that sees this device; see benchmarks/mmsa_epoch.py)")
        return
    fp32 = {r.backbone: r.seconds_per_epoch for r in ours if r.variant == "fp32"}
    lines = ["| backbone | batch | MMSA s/epoch | msmix s/epoch | speed-up | goal |", "| --- | --- | --- | --- | --- | --- |"]
    for backbone in (b for b in MMSA_MODELS if b in args.backbones):
        mmsa = guarded(report, "d", f"MMSA {backbone}", lambda: epoch_time.mmsa_epoch_seconds(
            python, path, backbone, args.epochs, torch.get_num_threads(), None, device=args.device))
        if mmsa is None:
            continue
        theirs, mine = mmsa["seconds_per_epoch"], fp32.get(backbone)
        ours, ratio = (f"{mine:.4f}", f"{theirs / mine:.1f}x") if mine else ("- (part c not run)", "-")
        lines.append(f"| {backbone} | {mmsa['batch_size']} | {theirs:.4f} | {ours} | {ratio} | >= {GOALS[backbone]}x |")
        report.put("d", "table", "\n".join(lines))


def part_e(report: Report, args: argparse.Namespace, path: Path) -> list[stacked_seeds.StackedTime]:
    rows = []
    for backbone in [b for b in args.backbones if b in stacked_seeds.STACKABLE]:
        row = guarded(report, "e", backbone, lambda: stacked_seeds.measure(
            backbone, stacked_seeds.load(str(path), backbone), args.seeds, args.epochs, args.device))
        rows += [row] if row is not None else []
        report.put("e", "table", stacked_seeds.table(rows, args.device))
    return rows


def part_f(report: Report, timed: list[Any]) -> None:
    """Seconds per MOSI epoch of one seed: (e)'s faster way with MS-Mix, else (c)'s plain fp32."""
    seconds: dict[str, tuple[float, str]] = {}
    for row in timed:
        if isinstance(row, stacked_seeds.StackedTime):
            runs = row.seeds * row.epochs
            stacked, alone = row.stacked_seconds / runs, row.sequential_seconds / runs
            how = f"MS-Mix, {row.seeds} stacked (e)" if stacked <= alone else "MS-Mix, in turn (e)"
            seconds[row.backbone] = (min(stacked, alone), how)
    for row in timed:
        if isinstance(row, gpu_epoch_times.EpochTime) and row.variant == "fp32" and row.backbone not in seconds:
            seconds[row.backbone] = (row.seconds_per_epoch, "fp32, no mixer (c)")
    report.add("f", grid_projection.project(seconds) if seconds else "- not run: needs part (e) or (c)")


def part_g(report: Report, args: argparse.Namespace, path: Path) -> None:
    rows = []
    for backbone in args.backbones:
        data = guarded(report, "g", f"loading {path.name} for {backbone}", lambda: gpu_epoch_times.load_mosi_shaped(path, backbone))
        row = guarded(report, "g", backbone, lambda: mixer_share.measure(backbone, data, args.device, args.epochs)) if data is not None else None
        rows += [row] if row is not None else []
        report.put("g", "table", mixer_share.table(rows))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="a fraction of the data, two epochs, no compile: a dry run")
    parser.add_argument("--out", type=Path, help="also write the report here (rewritten after every row)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--backbones", nargs="+", help="default: all; lmf tfn when quick")
    parser.add_argument("--mixers", nargs="+", help="default: all; none msmix when quick")
    parser.add_argument("--variants", nargs="+", choices=tuple(gpu_epoch_times.VARIANTS), help="default: all; fp32 bf16 checkpoints when quick")
    parser.add_argument("--epochs", type=int, help="epochs timed per variant in (c), (d) and (g), the first left out (default 4; 2 when quick)")
    parser.add_argument("--seeds", type=int, help="seeds stacked in (e) (default 5; 2 when quick)")
    parser.add_argument("--mmsa-python", help="Python of a venv with MMSA==2.2.1, for (d) (default: this one, if it has MMSA)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device cuda: this PyTorch ({torch.__version__}) sees no CUDA device")
    args.backbones = args.backbones or (list(QUICK_BACKBONES) if args.quick else msmix.models.available())
    args.mixers = args.mixers or (list(QUICK_MIXERS) if args.quick else msmix.mixing.available())
    args.variants = args.variants or (["fp32", "bf16", "checkpoints"] if args.quick else list(gpu_epoch_times.VARIANTS))
    args.epochs = args.epochs or (2 if args.quick else 4)
    args.seeds = args.seeds or (2 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(header(args.device, args.quick), args.out)
    report.write()  # an earlier run's report must not stand in for this one's
    demo = demo_data(QUICK_FRACTION if args.quick else 1.0)
    halved = demo_data(QUICK_FRACTION if args.quick else EQUIVALENCE_FRACTION)
    with tempfile.TemporaryDirectory() as tmp:
        path = mosi_shaped_file(Path(tmp), args.quick) if {"c", "d", "e", "g"} & set(args.parts) else Path(tmp)
        fast = [v for v in args.variants if v not in gpu_epoch_times.COMPILED]
        compiled = [v for v in args.variants if v in gpu_epoch_times.COMPILED]
        timed: list[gpu_epoch_times.EpochTime] = []
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("b", lambda: part_b(report, args, demo)),
            ("c", lambda: part_c(report, args, path, fast)),
            ("d", lambda: part_d(report, args, path, timed)),
            ("e", lambda: part_e(report, args, path)),
            ("f", lambda: part_f(report, timed)),
            ("a", lambda: part_a(report, args, halved)),
            ("g", lambda: part_g(report, args, path)),
            ("c", lambda: part_c(report, args, path, compiled) if compiled else None),
        ]
        for part, step in steps:
            if part in args.parts:
                result = guarded(report, part, f"part ({part})", step)
                timed += result if isinstance(result, list) else []
    print(report.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
