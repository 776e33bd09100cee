"""What the generated models share: JSON out (``Model.to_json``) and timestamps in."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

_FRACTION = re.compile(r"\.(\d+)")


def parse_datetime(raw: str) -> datetime:
    """An RFC 3339 timestamp as the daemon writes it (``Z``, up to nanoseconds)."""
    text = raw.replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def to_json(value: Any) -> Any:
    """Models, decimals and timestamps as the API reads them; ``None`` fields left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name == "payload" and isinstance(v, dict):
                out.update(v)
            elif v is not None:
                out[f.metadata.get("json", f.name)] = to_json(v)
        return out
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


class Model:
    """Base of every generated model."""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)
