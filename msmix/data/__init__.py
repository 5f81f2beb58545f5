"""Data: MMSA feature pickles (CMU-MOSI, CMU-MOSEI, CH-SIMS, MMSA-FET output), MMSA label CSVs,
and the embedded synthetic demo set ``"toy"``, all loaded into device-resident splits."""

from msmix.data.batch import Batch, lengths_to_mask
from msmix.data.dataset import SPLITS, Dataset, Split
from msmix.data.describe import describe, inspect_problems
from msmix.data.errors import DataError, DataWarning
from msmix.data.label_csv import read_label_csv
from msmix.data.load import load
from msmix.data.mmsa import dataset_from_mmsa, read_mmsa
from msmix.data.safe_pickle import safe_load
from msmix.data.spec import DataSpec
from msmix.data.subset import train_subset
from msmix.data.toy import TOY_SIZES, ToySize, generate_toy, toy_mmsa_dict, write_toy_pickle

__all__ = [
    "Batch",
    "DataError",
    "DataSpec",
    "DataWarning",
    "Dataset",
    "SPLITS",
    "Split",
    "TOY_SIZES",
    "ToySize",
    "dataset_from_mmsa",
    "describe",
    "generate_toy",
    "inspect_problems",
    "lengths_to_mask",
    "load",
    "read_label_csv",
    "read_mmsa",
    "safe_load",
    "toy_mmsa_dict",
    "train_subset",
    "write_toy_pickle",
]
