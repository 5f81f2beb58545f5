"""Data: MMSA feature pickles (CMU-MOSI, CMU-MOSEI, CH-SIMS, MMSA-FET output), MMSA label CSVs,
and the embedded synthetic demo set ``"toy"``, all loaded into device-resident splits."""

from msmix.data.batch import Batch, lengths_to_mask
from msmix.data.dataset import SPLITS, Dataset, Split
from msmix.data.errors import DataError
from msmix.data.spec import DataSpec

__all__ = ["Batch", "DataError", "DataSpec", "Dataset", "SPLITS", "Split", "lengths_to_mask"]
