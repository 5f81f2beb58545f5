"""Experiments: sweeps over data set x backbone x mixer x seed (x settings) into one results table,
and the summaries read from it (mean ± std per cell, paired comparisons with a baseline, a metric
against the share of training data)."""

from msmix.experiment.checks import SpecError, check_names, check_specs
from msmix.experiment.data_efficiency import data_efficiency
from msmix.experiment.grid import SweepConfigError, expand_grid, load_sweep_config
from msmix.experiment.results import (
    METRIC_COLUMNS,
    RESULTS_FILE,
    ResultsError,
    append_row,
    complete_row,
    finished_hashes,
    read_results,
    results_path,
)
from msmix.experiment.settings import SETTING_GROUPS, SettingError, parse_assignment, parse_value, spec_settings
from msmix.experiment.stats import format_summary, paired_comparison, paired_t_test, summarize
from msmix.experiment.sweep import plan_sweep, run_sweep

__all__ = [
    "METRIC_COLUMNS",
    "RESULTS_FILE",
    "ResultsError",
    "SETTING_GROUPS",
    "SettingError",
    "SpecError",
    "SweepConfigError",
    "append_row",
    "check_names",
    "check_specs",
    "complete_row",
    "data_efficiency",
    "expand_grid",
    "finished_hashes",
    "format_summary",
    "load_sweep_config",
    "paired_comparison",
    "paired_t_test",
    "parse_assignment",
    "parse_value",
    "plan_sweep",
    "read_results",
    "results_path",
    "run_sweep",
    "spec_settings",
    "summarize",
]
