"""``python -m msmix``: the ``msmix`` command."""

import sys

from msmix.cli import main

sys.exit(main())
