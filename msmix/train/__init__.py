"""Training: the Trainer (fit, early stopping, checkpoints, exact resume), ``run`` for one
configuration given as a RunSpec, and ``run_stacked`` for several seeds of one configuration
trained together as one stacked model (``StackedTrainer``).

Example:
    >>> from msmix.train import RunSpec, run
    >>> row = run(RunSpec(data="toy", backbone="tfn", mixer="msmix"), progress=False)  # doctest: +SKIP
"""

from msmix.train.callbacks import EVENTS, Callback
from msmix.train.checkpoint import LoadedRun, load_checkpoint
from msmix.train.config import TrainConfig
from msmix.data.cache import clear_data_cache, load_data
from msmix.train.early_stopping import EarlyStopping
from msmix.train.history import EpochRecord, FitResult, history_frame
from msmix.train.no_epoch import NO_EPOCH_MESSAGE, finished_no_epoch
from msmix.train.rng import seed_everything
from msmix.train.assemble import assemble, build
from msmix.train.resolve import ResolvedRun, SpecError, resolve
from msmix.train.run import results_row, run, run_dir_of, run_seeds
from msmix.train.run_spec import RunSpec
from msmix.train.trainer import Trainer
from msmix.train.stacked import StackedTrainer
from msmix.train.stacked_run import run_stacked

__all__ = [
    "EVENTS",
    "NO_EPOCH_MESSAGE",
    "Callback",
    "EarlyStopping",
    "EpochRecord",
    "FitResult",
    "LoadedRun",
    "ResolvedRun",
    "RunSpec",
    "SpecError",
    "StackedTrainer",
    "TrainConfig",
    "Trainer",
    "assemble",
    "build",
    "clear_data_cache",
    "finished_no_epoch",
    "history_frame",
    "load_checkpoint",
    "load_data",
    "resolve",
    "results_row",
    "run",
    "run_dir_of",
    "run_seeds",
    "run_stacked",
    "seed_everything",
]
