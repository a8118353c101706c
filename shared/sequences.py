"""Small helpers over sequences that every service uses: fixed-size chunks, first occurrences."""

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`values` in consecutive slices of at most `size` (the last one shorter)."""
    if size < 1:
        raise ValueError("a chunk holds at least one value")
    for start in range(0, len(values), size):
        yield values[start:start + size]


def unique(values: Iterable[T]) -> list[T]:
    """The values in their first order, each once."""
    return list(dict.fromkeys(values))
