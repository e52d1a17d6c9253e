"""How the reference turns JSON values into attribute text: Jackson's ``JsonNode.asText()``.

Two steps need it: ParsePayload's telemetry version (D-34) and the strip of injected metadata
(D-31). Floats follow Java's ``Double.toString``: plain notation in [1e-3, 1e7), otherwise
``d.dddE<exp>``, always with a fractional part (``4.0``, ``1.0E20``).
"""

from __future__ import annotations

import decimal
import math
from typing import Any


def as_text(value: Any) -> str:
    """``asText()``: strings unchanged, ``null``, ``true``/``false``, numbers; containers ``""``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_to_string(value)
    return ""  # objects and arrays (Jackson container nodes)


def double_to_string(value: float) -> str:
    """Java's ``Double.toString``; ``repr`` gives the same shortest round-trip digits (JDK 19+)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = format(decimal.Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    exact = decimal.Decimal(repr(value)).normalize()
    sign, digits, _ = exact.as_tuple()
    mantissa = "".join(map(str, digits))
    fraction = mantissa[1:] or "0"
    return f"{'-' if sign else ''}{mantissa[0]}.{fraction}E{exact.adjusted()}"
