"""Values of the Postgres settings that are durations (timeouts), read and shown as
Postgres reads and shows them: `1000`, `'1s'`, `'1.5s'`, `'2min'` in; `1s`, `1500ms` out."""

from __future__ import annotations

import re

from ..errors import InvalidParameterValue

# name -> (the unit of a bare number, least value, greatest value)
DURATIONS: dict[str, tuple[str, int, int]] = {
    "statement_timeout": ("ms", 0, 2_147_483_647),
    "lock_timeout": ("ms", 0, 2_147_483_647),
    "idle_in_transaction_session_timeout": ("ms", 0, 2_147_483_647),
    "idle_session_timeout": ("ms", 0, 2_147_483_647),
    "log_min_duration_statement": ("ms", -1, 2_147_483_647),
    "authentication_timeout": ("s", 1, 600),
}
_MS_PER = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_SHOWN = [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000), ("ms", 1)]
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-z]*)\s*$")


def parse_duration(name: str, text: str) -> str:
    """The value as Postgres shows it after `SET name = text`; 22023 when it is not one."""
    unit, least, greatest = DURATIONS[name]
    found = _NUMBER.match(text)
    if found is None or (found.group(2) and found.group(2) not in _MS_PER):
        hint = None
        if found is not None:
            hint = 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".'
        raise InvalidParameterValue(f'invalid value for parameter "{name}": "{text}"', hint=hint)
    ms = float(found.group(1)) * _MS_PER[found.group(2) or unit]
    value = round(ms / _MS_PER[unit])
    if not least <= value <= greatest:
        raise InvalidParameterValue(
            f"{value} {unit} is outside the valid range for parameter "
            f'"{name}" ({least} .. {greatest})'
        )
    return show(value * _MS_PER[unit])


def show(ms: float) -> str:
    """A duration in the largest unit that holds it exactly: 1s, 1500ms, 2min; 0 and -1 bare."""
    ms = int(ms)
    if ms <= 0:
        return str(ms)
    for suffix, size in _SHOWN:
        if ms % size == 0:
            return f"{ms // size}{suffix}"
    return f"{ms}ms"


def milliseconds(shown: str) -> int:
    """A value as `parse_duration` left it, in milliseconds."""
    found = _NUMBER.match(shown)
    assert found is not None, shown
    return round(float(found.group(1)) * _MS_PER[found.group(2) or "ms"])
