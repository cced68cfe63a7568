"""Values of the Postgres settings that are durations (timeouts), sizes or one of a few
words, read and shown as Postgres reads and shows them: `1000`, `'1s'`, `'1.5s'`, `'2min'`
in; `1s`, `1500ms` out."""

from __future__ import annotations

import re

from ...errors import InvalidParameterValue

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


# Settings that are memory sizes, in kB as Postgres keeps them: name -> (least, greatest)
SIZES: dict[str, tuple[int, int]] = {
    "statement_memory_limit": (0, 2_147_483_647),
}
_KB_PER = {"B": 1 / 1024, "kB": 1, "MB": 1024, "GB": 1024**2, "TB": 1024**3}
_SIZE_SHOWN = [("TB", 1024**3), ("GB", 1024**2), ("MB", 1024), ("kB", 1)]
_SIZE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(name: str, text: str) -> str:
    """A memory size as Postgres shows it after `SET name = text` (`65536` -> `64MB`, a bare
    number being kB; units B, kB, MB, GB, TB, case-sensitive as in Postgres); 22023 else."""
    least, greatest = SIZES[name]
    found = _SIZE.match(text)
    if found is None or (found.group(2) and found.group(2) not in _KB_PER):
        hint = None
        if found is not None:
            hint = 'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".'
        raise InvalidParameterValue(f'invalid value for parameter "{name}": "{text}"', hint=hint)
    kb = round(float(found.group(1)) * _KB_PER[found.group(2) or "kB"])
    if kb > greatest:
        raise InvalidParameterValue(
            f'invalid value for parameter "{name}": "{text}"', hint="Value exceeds integer range."
        )
    if kb < least:
        raise InvalidParameterValue(
            f'{kb} kB is outside the valid range for parameter "{name}" ({least} .. {greatest})'
        )
    for suffix, size in _SIZE_SHOWN:
        if kb and kb % size == 0:
            return f"{kb // size}{suffix}"
    return str(kb)


def size_bytes(shown: str) -> int:
    """A size as `parse_size` left it, in bytes."""
    found = _SIZE.match(shown)
    assert found is not None, shown
    return round(float(found.group(1)) * _KB_PER[found.group(2) or "kB"] * 1024)


# Settings with a fixed set of values (Postgres's enum settings): name -> the values.
CHOICES: dict[str, tuple[str, ...]] = {
    "elacsym.consistency": ("strong", "eventual"),
}


def parse_choice(name: str, text: str) -> str:
    """One of the setting's values, matched without regard to case as Postgres matches an
    enum setting's; 22023 naming the values else."""
    value = text.strip().lower()
    if value not in CHOICES[name]:
        raise InvalidParameterValue(
            f'invalid value for parameter "{name}": "{text}"',
            hint=f"Available values: {', '.join(CHOICES[name])}.",
        )
    return value
