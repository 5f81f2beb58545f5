"""The msmix workbench: interactive panels (ipywidgets + plotly) over public msmix functions.

Each function returns one displayable widget whose important controls and figures are
attributes, so a notebook, a test or a browser can drive it. A model may be given as a backbone
name (a fresh model), a Backbone, a LoadedRun (``msmix.load_checkpoint``) or the training panel::

    import workbench
    workbench.data_panel("toy")
    run = workbench.training_panel("toy", backbone="tfn", mixer="msmix")
    run.train_now()                       # or click Train: it trains in the background
    workbench.sass_explorer(run, "toy")   # threshold, preset, kept pairs, polarity conflicts
    workbench.sig_explorer(run, "toy")    # mixing ratios, alpha, intensities against labels
    workbench.attribution_panel(run, "toy")
    workbench.errors_panel(run, "toy")
    workbench.latent_panel(run, "toy")
    workbench.comparison_panel("runs/results.csv", mmsa="mosi.csv")
    workbench.data_efficiency_panel("runs/results.csv")   # a metric against the train fraction

Figures are ``LiveFigure`` widgets: a view draws the figure's current state whenever it is created,
so figures survive a page reload while the kernel runs. ``base_figure`` gives a plotly figure the
panels' look, and ``MODALITY_COLOURS`` / ``MIXER_COLOURS`` are the colours every panel uses.
Every display of the generated demo data says it is SYNTHETIC.
"""

from workbench._style import MIXER_COLOURS, MODALITY_COLOURS
from workbench.attribution_panel import AttributionPanel, attribution_panel
from workbench.comparison_panel import ComparisonPanel, comparison_panel
from workbench.data_efficiency import DataEfficiencyPanel, data_efficiency_figure, data_efficiency_panel
from workbench.data_panel import DataPanel, data_panel
from workbench.errors_panel import ErrorsPanel, errors_panel
from workbench.figures import base_figure
from workbench.latent_panel import LatentPanel, latent_panel
from workbench.live_figure import LiveFigure
from workbench.sass_panel import SassExplorer, sass_explorer
from workbench.sig_panel import SigExplorer, sig_explorer
from workbench.sources import LatentBatch, encode_sample
from workbench.training_panel import TrainingPanel, training_panel

__all__ = [
    "AttributionPanel",
    "ComparisonPanel",
    "DataEfficiencyPanel",
    "DataPanel",
    "ErrorsPanel",
    "LatentBatch",
    "LatentPanel",
    "LiveFigure",
    "MIXER_COLOURS",
    "MODALITY_COLOURS",
    "SassExplorer",
    "SigExplorer",
    "TrainingPanel",
    "attribution_panel",
    "base_figure",
    "comparison_panel",
    "data_efficiency_figure",
    "data_efficiency_panel",
    "data_panel",
    "encode_sample",
    "errors_panel",
    "latent_panel",
    "sass_explorer",
    "sig_explorer",
    "training_panel",
]
