"""Formula injection: a text cell that a spreadsheet would run as a formula (`=cmd|' /C calc'!A0`, `+`, `-`,
`@`, a leading tab or carriage return) once the data is exported. Such text is refused on the way in, so
nothing stored needs neutralising on the way out; a number written with its sign (`-12`, `+33 1 23 45 67`)
is not a formula and is kept."""

import re
from typing import Any

from pydantic import BaseModel

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?[0-9][0-9 .,()/-]*")


def is_formula(text: str) -> bool:
    """True when a spreadsheet would read `text` as a formula rather than as text or a number."""
    return text.startswith(TRIGGERS) and NUMBER.fullmatch(text.strip()) is None


def formula_fields(model: BaseModel) -> list[str]:
    """The dotted paths of the text fields of `model` (nested models and lists included) that are formulas."""
    return sorted(_paths(model.model_dump(mode="python"), ""))


def _paths(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [path or "value"] if is_formula(value) else []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _paths(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list | tuple):
        return [p for n, item in enumerate(value) for p in _paths(item, f"{path}.{n}")]
    return []
