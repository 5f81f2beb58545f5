"""``python -m msmix.cli``: the ``msmix`` command."""

import sys

from msmix.cli import main

sys.exit(main())
