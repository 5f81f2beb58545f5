"""Read a LiveFigure's synced state the way the browser will: strict JSON, typed arrays decoded."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from workbench.live_figure import LiveFigure


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, which JSON does not have."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} in the synced JSON")

    return json.loads(text, parse_constant=refuse)


def decode(value: Any) -> Any:
    """Plotly's typed-array specs (``{"dtype", "bdata", "shape"}``) as numpy arrays, recursively."""
    if isinstance(value, dict):
        if set(value) >= {"dtype", "bdata"}:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            shape = value.get("shape")
            return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def synced_traces(live: LiveFigure) -> list[dict[str, Any]]:
    return [decode(strict_json(text)) for text in live.state._data]


def synced_layout(live: LiveFigure) -> dict[str, Any]:
    return decode(strict_json(live.state._layout))
