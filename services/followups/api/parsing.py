"""Import bodies read as they stream in: CSV (comma or semicolon, quoted fields over several lines), JSON
arrays and NDJSON. Rows come out one by one with their position, so a report can name each rejected row."""

import codecs
import csv
import json
from collections.abc import AsyncIterator
from typing import Any

from services.followups.ports import Row, StreamBroken


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32's start with these too


async def limited(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """The body's chunks, up to `max_bytes` in all: a body sent without its length stops there."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise StreamBroken(f"the body is larger than {max_bytes} bytes: split the file")
        yield chunk


async def _text(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """UTF-8 text (a UTF-8 byte order mark is dropped); anything else stops with where and what to do."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset, first, fed = 0, True, b""
    try:
        async for chunk in chunks:
            if first and chunk:
                first = False
                if chunk.startswith(UTF16_BOMS):
                    raise StreamBroken("the body is UTF-16 (it starts with a UTF-16 byte order mark): send UTF-8")
            fed = chunk
            if text := decoder.decode(chunk):
                yield text
            offset += len(chunk)
        fed = b""
        if tail := decoder.decode(b"", final=True):
            yield tail
    except UnicodeDecodeError as exc:
        # The text before the bad byte is read first, so the rows before it are counted like any others.
        pending = len(exc.object) - len(fed)  # bytes of a sequence begun in the previous chunk
        if valid := exc.object[:exc.start].decode("utf-8-sig" if offset == 0 else "utf-8"):
            yield valid
        where = offset - pending + exc.start
        raise StreamBroken(f"the body is not UTF-8 text: byte {exc.object[exc.start:exc.start + 1]!r} at offset "
                           f"{where} ({exc.reason}); save the file as UTF-8 (latin-1 and Windows-1252 are not "
                           "read)") from None


async def _lines(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[str]:
    buffer = ""
    async for text in _text(chunks):
        buffer += text
        *complete, buffer = buffer.split("\n")
        for line in complete:
            yield line + "\n"
        if len(buffer) > max_bytes:
            raise StreamBroken(f"a line is longer than {max_bytes} bytes")
    if buffer:
        yield buffer


async def csv_rows(chunks: AsyncIterator[bytes], *, max_row_bytes: int) -> AsyncIterator[Row]:
    """The header names the fields (trimmed, lower-case); empty cells are left out of the row."""
    header: list[str] | None = None
    dialect = "excel"
    record, start, line_no = "", 0, 0
    async for line in _lines(chunks, max_row_bytes):
        line_no += 1
        if not record:
            start = line_no
        record += line
        if record.count('"') % 2:  # inside a quoted field that goes on next line
            if len(record) > max_row_bytes:
                raise StreamBroken(f"the record starting on line {start} is longer than {max_row_bytes} bytes")
            continue
        text, record = record.rstrip("\r\n"), ""
        if not text.strip():
            continue
        if header is None:
            dialect = "excel-semicolon" if text.count(";") > text.count(",") else "excel"
            header = [name.strip().lower() for name in next(csv.reader([text], dialect=_dialect(dialect)))]
            yield Row(number=start, data=None, header=header)
            continue
        yield _csv_row(start, text, header, dialect)
    if record:
        raise StreamBroken(f"the quoted field starting on line {start} is never closed")


def _csv_row(number: int, text: str, header: list[str], dialect: str) -> Row:
    try:
        values = next(csv.reader([text], dialect=_dialect(dialect)))
    except csv.Error as exc:
        return Row(number, None, f"not valid CSV: {exc}")
    if len(values) > len(header):
        return Row(number, None, f"{len(values)} values for {len(header)} columns")
    return Row(number, {name: value.strip() for name, value in zip(header, values) if value.strip() != ""})


class _Semicolon(csv.excel):
    delimiter = ";"


def _dialect(name: str) -> type[csv.Dialect]:
    return _Semicolon if name == "excel-semicolon" else csv.excel


async def ndjson_rows(chunks: AsyncIterator[bytes], *, max_row_bytes: int) -> AsyncIterator[Row]:
    number = 0
    async for line in _lines(chunks, max_row_bytes):
        if not line.strip():
            continue
        number += 1
        yield _json_row(number, line)


class _Twice(dict[str, Any]):
    """A JSON object in which a key appears more than once (which value is meant cannot be told)."""

    twice: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if not twice:
        return dict(pairs)
    value = _Twice(pairs)
    value.twice = twice
    return value


def _object_row(number: int, value: Any, not_an_object: str) -> Row:
    if not isinstance(value, dict):
        return Row(number, None, not_an_object)
    if isinstance(value, _Twice):
        return Row(number, None, f"key {', '.join(map(repr, value.twice))} appears more than once")
    return Row(number, value)


def _json_row(number: int, text: str) -> Row:
    try:
        value = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        return Row(number, None, f"not valid JSON: {exc.msg}")
    return _object_row(number, value, "a row must be a JSON object")


async def json_array_rows(chunks: AsyncIterator[bytes], *, max_row_bytes: int) -> AsyncIterator[Row]:
    """A JSON array of objects, decoded one element at a time so the whole body is never held."""
    decoder = json.JSONDecoder(object_pairs_hook=_pairs)
    buffer, position, number, started, finished = "", 0, 0, False, False
    source = _text(chunks)
    more = True
    while more or position < len(buffer):
        if more:
            try:
                buffer = buffer[position:] + await anext(source)
                position = 0
            except StopAsyncIteration:
                more = False
        position = _skip_space(buffer, position)
        if not started:
            if position >= len(buffer):
                continue
            if buffer[position] != "[":
                raise StreamBroken("a JSON import must be an array of objects")
            started, position = True, position + 1
        while True:
            position = _skip_space(buffer, position)
            if position >= len(buffer):
                break
            if buffer[position] == "]":
                finished, position = True, len(buffer)
                break
            if buffer[position] == "," and number:
                position = _skip_space(buffer, position + 1)
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as exc:
                if more and len(buffer) - position <= max_row_bytes:
                    break  # the element goes on in the next chunk
                raise StreamBroken(f"element {number + 1} is not valid JSON: {exc.msg}") from None
            number += 1
            position = end
            yield _object_row(number, value, "an element must be an object")
    if not started:
        raise StreamBroken("the body is empty: send a JSON array of objects")
    if not finished:
        raise StreamBroken("the JSON array is never closed")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
