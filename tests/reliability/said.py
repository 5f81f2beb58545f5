"""The corpus's expected lines written as plain text: ``said("sweep", "sweep config {dir}/s.toml ...")``."""

from __future__ import annotations

import re

DIR = re.escape("{dir}")


def said(command: str, message: str, *, tail: str = "") -> str:
    """The regular expression of exactly ``msmix COMMAND: error: MESSAGE`` (``{dir}`` kept as the
    case folder's placeholder), then ``tail``, a regular expression for a part that may vary."""
    return re.escape(f"msmix {command}: error: {message}").replace(DIR, "{dir}") + tail
