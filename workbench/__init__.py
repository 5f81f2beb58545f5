"""The msmix workbench: interactive panels (ipywidgets + plotly) over public msmix functions.

Each function returns one displayable widget whose important controls and figures are
attributes, so a notebook, a test or a browser can drive it.
"""

from workbench.sass_panel import SassExplorer, sass_explorer
from workbench.sig_panel import SigExplorer, sig_explorer

__all__ = ["SassExplorer", "SigExplorer", "sass_explorer", "sig_explorer"]
