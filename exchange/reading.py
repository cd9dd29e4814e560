"""Reading a CRM export: its text encoding, delimiter and header, then its rows one by one
(never the whole file as rows in memory).

Exports come as UTF-8 (with or without the byte-order mark Excel writes), UTF-16 (Excel's
"Unicode text") or Windows-1252 (older Excel and many European tools); with commas,
semicolons (European Excel) or tabs; with quoted cells that hold line breaks.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from salesops.exceptions import ValidationFailed

DELIMITERS = ",;\t|"
_SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileShape:
    encoding: str
    delimiter: str
    header: list[str]
    row_count: int
    # Said to the user when the file was not what a CRM usually writes (e.g. not UTF-8).
    note: str = ""


def _decode_sample(content: bytes) -> tuple[str, str, str]:
    """(encoding, note, text of the first bytes)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "", content[:_SAMPLE_BYTES].decode("utf-16", errors="ignore")
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        note = (
            f"The file is not UTF-8 (byte {exc.start + 1} is not valid UTF-8); it was read "
            "as Windows-1252 (Western European). Check names with accents in the preview."
        )
        return "cp1252", note, content[:_SAMPLE_BYTES].decode("cp1252", errors="replace")
    return "utf-8-sig", "", content[:_SAMPLE_BYTES].decode("utf-8-sig", errors="ignore")


def _delimiter(sample: str) -> str:
    first_lines = "\n".join(sample.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(first_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _text(content: bytes, encoding: str) -> io.TextIOBase:
    errors = "replace" if encoding == "cp1252" else "strict"
    return io.TextIOWrapper(io.BytesIO(content), encoding=encoding, errors=errors, newline="")


def _unique(header: list[str]) -> list[str]:
    """Blank and repeated column names made unique ("Column 3", "Amount (2)"), so a
    mapping can name each column."""
    seen: dict[str, int] = {}
    names = []
    for position, raw in enumerate(header, start=1):
        name = (raw or "").strip() or f"Column {position}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        names.append(name if count == 1 else f"{name} ({count})")
    return names


def file_shape(content: bytes) -> FileShape:
    """Refuses (ValidationFailed on "file") an empty file, one without a header row or
    without any row under it, and one that is not text."""
    if not content.strip():
        raise ValidationFailed(
            "The file is empty.", details={"file": ["The file is empty (0 bytes of data)."]}
        )
    if b"\x00" in content[:_SAMPLE_BYTES] and not content.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise ValidationFailed(
            "This is not a CSV file.",
            details={"file": ["The file holds binary data; save it as CSV (UTF-8) first."]},
        )
    encoding, note, sample = _decode_sample(content)
    delimiter = _delimiter(sample)
    try:
        reader = csv.reader(_text(content, encoding), delimiter=delimiter)
        header = next(reader, None)
        rows = sum(1 for row in reader if any(cell.strip() for cell in row))
    except (csv.Error, UnicodeError) as exc:
        raise ValidationFailed(
            "The file cannot be read as CSV.", details={"file": [f"Not readable as CSV: {exc}."]}
        ) from exc
    if not header or not any(cell.strip() for cell in header):
        raise ValidationFailed(details={"file": ["The first row must name the columns."]})
    if rows == 0:
        raise ValidationFailed(details={"file": ["The file has a header but no rows."]})
    return FileShape(encoding, delimiter, _unique(header), rows, note)


def read_rows(content: bytes, shape: FileShape) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) for every non-blank row, in file order. `line` is the line
    of the file where the row starts (the header is line 1), as a spreadsheet shows it."""
    reader = csv.reader(_text(content, shape.encoding), delimiter=shape.delimiter)
    next(reader, None)
    width = len(shape.header)
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        cells = (cells + [""] * width)[:width]
        yield start, dict(zip(shape.header, cells, strict=True))
