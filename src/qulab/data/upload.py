"""Turn the raw bytes of an uploaded CSV into a validated classification data set.

The upload is untrusted input, so this module never unpickles, evaluates or executes
anything: bytes are decoded as text and parsed by ``pandas.read_csv`` (C engine, in-memory
buffer, no paths or URLs). The standard ``csv`` module only reads the header and first data
row, to catch what pandas would silently repair (duplicate names renamed to ``a.1``, extra
values cut off the first row), and finds exact line numbers when pandas reports a bad row.
Every problem the user can fix is raised as a :class:`DataError` whose message says what is
wrong and what to do; the UI shows it as is. No streamlit import, so the CLI and tests can
use it too.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = [
    "MISSING_VALUES_POLICY",
    "UPLOAD_LIMITS",
    "DataError",
    "Limits",
    "ParsedTable",
    "TabularData",
    "content_hash",
    "load_csv",
    "parse_csv",
    "propose_target",
    "to_dataset",
]

_MIB = 1024 * 1024


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _size(n: int) -> str:
    if n >= _MIB:
        return f"{n / _MIB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return _plural(n, "byte")


@dataclass(frozen=True)
class Limits:
    """Upload limits; they keep a single upload from exhausting the server's memory or time."""

    max_bytes: int = 20 * _MIB
    max_rows: int = 200_000
    max_columns: int = 500
    max_classes: int = 50
    min_rows_per_class: int = 2

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_rows", "max_columns", "min_rows_per_class"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_classes < 2 or self.max_columns < 2:
            raise ValueError("max_classes and max_columns must be at least 2")

    @property
    def min_rows(self) -> int:
        """Fewest data rows that can possibly form two classes."""
        return 2 * self.min_rows_per_class

    def describe(self) -> str:
        """One sentence for the upload widget, so users know the rules before they upload."""
        return (
            f"Upload a CSV file of at most {_size(self.max_bytes)}, {self.max_rows:,} rows and "
            f"{self.max_columns:,} columns, with a header row, at least one numeric feature column "
            f"and a class column with 2 to {self.max_classes} classes and at least "
            f"{_plural(self.min_rows_per_class, 'row')} per class."
        )


UPLOAD_LIMITS = Limits()

# Lower-cased cell texts that mean "no value" (pandas' defaults plus common survey markers).
_NA_TOKENS = frozenset(
    [
        "",
        "na",
        "n/a",
        "nan",
        "-nan",
        "null",
        "none",
        "#n/a",
        "#n/a n/a",
        "#na",
        "<na>",
        "?",
        ".",
        "-",
        "missing",
    ]
)

MISSING_VALUES_POLICY = (
    "Empty cells and the markers NA, N/A, NaN, null, None, missing, #N/A, ?, . and - (in any letter case) "
    "count as missing values. "
    "Rows with a missing target or a missing value in any numeric feature column are dropped and the "
    "notes say how many; missing values in ignored (non-numeric) columns never cause a row to be dropped. "
    "Rows with an infinite value (inf, -inf, Infinity or a number too large to store) in a feature column "
    "are dropped the same way, so no infinity ever reaches a model."
)


class DataError(ValueError):
    """A problem with the uploaded data; the message is what the user sees: what is wrong and what to do."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing DataFrames field-wise is ambiguous
class ParsedTable:
    """A parsed CSV before a target is chosen; kept separate so the UI can preview and pick a target."""

    frame: pd.DataFrame
    delimiter: str
    encoding: str
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays field-wise is ambiguous
class TabularData:
    """A validated classification data set: finite float64 features and int64 class codes 0..k-1."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    ignored: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def content_hash(data: bytes) -> str:
    """SHA-256 hex digest of the upload, so a session can cache work per file content."""
    return hashlib.sha256(bytes(data)).hexdigest()


# --------------------------------------------------------------------------------------------
# Small helpers


def _quote(value: object, width: int = 40) -> str:
    """Show a cell value to the user: single-quoted, one line, short."""
    text = re.sub(r"\s+", " ", "".join(ch if ch.isprintable() else " " for ch in str(value))).strip()
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"'{text}'"


def _name_list(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(_quote(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit:,} more"


def _format_number(value: float) -> str:
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------------
# Decoding and sniffing

_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel (.xlsx) workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) workbook or another Office document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
    (b"\x93NUMPY", "a NumPy array file"),
)

_BOMS = (  # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_SAVE_AS_CSV = "Save or export your data as a CSV text file and upload that."


def _not_csv(what: str) -> DataError:
    return DataError(f"This file is not a CSV: it looks like {what}. {_SAVE_AS_CSV}")


_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # C0 controls except tab and line breaks


def _looks_binary(text: str) -> bool:
    """NUL or many C0 control characters never occur in real CSV text."""
    sample = text[:65536]
    if "\x00" in sample:
        return True
    controls = len(_CONTROL_CHARS.findall(sample))
    return controls > max(2, len(sample) // 100)


def _utf16_without_bom(data: bytes) -> str | None:
    """Excel and PowerShell sometimes write UTF-16 without a BOM: ASCII text then has every other byte 0."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.9 and zeros_even < 0.1:
        return "utf-16-le"
    if zeros_even > 0.9 and zeros_odd < 0.1:
        return "utf-16-be"
    return None


def _decode(data: bytes) -> tuple[str, str, list[str]]:
    """Decode to text: BOM if any, else UTF-8, else Windows-1252, else Latin-1 (which always works)."""
    for prefix, what in _MAGIC:
        if data.startswith(prefix):
            raise _not_csv(what)
    notes: list[str] = []
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise DataError(
                    f"The file starts with a {encoding.upper().removesuffix('-SIG')} marker but its text "
                    "could not be decoded. Re-save it as a UTF-8 CSV file and upload it again."
                ) from None
            break
    else:
        encoding = _utf16_without_bom(data) or ""
        try:
            text = data.decode(encoding) if encoding else ""
        except UnicodeDecodeError:
            encoding = ""
        if not encoding:
            for encoding, label in (("utf-8", ""), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
                try:
                    text = data.decode(encoding)
                except UnicodeDecodeError:
                    continue
                if label:
                    notes.append(
                        f"The file is not UTF-8, so it was read as {label} text; check that accented "
                        "letters look right, or re-save the file as UTF-8."
                    )
                break
    text = text.lstrip("\ufeff").rstrip("\x1a")  # stray BOMs; the old DOS end-of-file mark
    if _looks_binary(text):
        raise DataError(
            "This file is not a CSV: it contains binary data (for example an image, an archive or a "
            f"spreadsheet workbook). {_SAVE_AS_CSV}"
        )
    return text, encoding, notes


_XML_START = re.compile(r"<(\?xml|[A-Za-z][\w:.-]*(\s[^>]*)?/?>)")
_HTML_TAG = re.compile(r"<\s*(!doctype\s+html|html|head|body|meta|script|title|div|table)\b", re.I)


def _reject_other_formats(text: str) -> None:
    """Catch the usual wrong files early, with a message that names what they are."""
    head = text.lstrip()[:4096]
    if head.startswith("<"):
        if _HTML_TAG.search(head):
            raise DataError(
                "This looks like an HTML page, not a CSV: it was probably saved from a web browser. "
                "Download the raw CSV file instead (on GitHub use the 'Raw' button) and upload that."
            )
        if _XML_START.match(head):  # a header cell like '<50k' is not markup
            raise _not_csv("an XML or other markup document")
    if head.startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            first_line = head.split("\n", 1)[0]
            try:
                is_json = isinstance(json.loads(first_line), dict | list)
            except ValueError:
                is_json = False
        else:
            is_json = True
        if is_json:
            raise DataError(
                "This looks like a JSON file, not a CSV. Convert it to a CSV with one row per example "
                "and one column per feature, then upload that."
            )


_DELIMITERS = (",", ";", "\t", "|")


def _sniff_delimiter(text: str) -> str:
    """Pick the separator among , ; tab | that gives the header several fields and consistent rows."""
    sample = text[:65536]
    truncated = len(text) > len(sample)
    best, best_score = ",", (-1.0, 0)
    for delimiter in _DELIMITERS:
        rows = []
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if any(cell.strip() for cell in row):
                    rows.append(len(row))
                if len(rows) > 50:
                    break
        except csv.Error:
            continue
        if truncated and len(rows) > 2:
            rows.pop()  # the last sampled row may be cut off
        if not rows or rows[0] < 2:
            continue
        body = rows[1:]
        consistency = sum(n == rows[0] for n in body) / len(body) if body else 1.0
        score = (consistency, rows[0])
        if score > best_score:  # strict ">" keeps the earlier (more common) delimiter on ties
            best, best_score = delimiter, score
    return best


# --------------------------------------------------------------------------------------------
# Column conversion


@dataclass
class _Column:
    """Outcome of converting one column of cell texts."""

    values: pd.Series  # float64 if numeric, else text with missing cells as NaN
    numeric: bool
    example: str | None = None  # first non-numeric cell, for the "ignored" reason
    formulas: int = 0
    decimal_comma: bool = False


def _floats(cells: np.ndarray) -> np.ndarray | None:
    """All cells as float64, or None as soon as one is not a number (text columns fail fast)."""
    try:
        return cells.astype("float64")
    except (ValueError, TypeError, OverflowError):
        return None


def _convert_text(cells: pd.Series, allow_decimal_comma: bool = False) -> _Column:
    """Strip cells, mark missing markers, and turn the column into numbers if every value is one."""
    text = cells.astype("str").str.strip()
    missing = (text.isna() | text.str.lower().isin(_NA_TOKENS)).to_numpy(dtype=bool)
    text = text.mask(missing)
    present = text.to_numpy(dtype=object)[~missing]
    formulas = int(text.str.startswith("=", na=False).sum())
    numbers = _floats(present)
    decimal_comma = False
    if numbers is None and allow_decimal_comma:
        numbers = _floats(np.array([cell.replace(",", ".") for cell in present], dtype=object))
        decimal_comma = numbers is not None
    if numbers is None:
        example = next(cell for cell in present if _floats(np.array([cell], dtype=object)) is None)
        return _Column(text, False, str(example), formulas)
    values = np.full(len(text), np.nan)
    values[~missing] = numbers
    return _Column(pd.Series(values, index=cells.index), True, None, formulas, decimal_comma)


def _numeric_values(series: pd.Series) -> tuple[np.ndarray | None, str]:
    """Float values of a feature column, or None and the reason it is ignored."""
    if ptypes.is_bool_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan), ""
    if ptypes.is_numeric_dtype(series) and not ptypes.is_complex_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    elif ptypes.is_string_dtype(series) or ptypes.is_object_dtype(series):
        column = _convert_text(series)
        if not column.numeric:
            kind = "spreadsheet formulas" if str(column.example).startswith("=") else "text"
            return None, f"not numeric ({kind} such as {_quote(column.example)})"
        values = column.values.to_numpy(dtype="float64")
    else:
        example = series.dropna()
        shown = f" such as {_quote(example.iloc[0])}" if len(example) else ""
        return None, f"not numeric (values{shown})"
    if np.isnan(values).all():
        return None, "empty (no values)"
    if _is_row_number(values):
        first = ", ".join(_format_number(v) for v in values[:3])
        return None, f"row numbers ({first}, …), which would let a model learn the row order"
    return values, ""


_MIN_ROWS_FOR_ROW_NUMBERS = 20


def _is_row_number(values: np.ndarray) -> bool:
    """An exported index (0, 1, 2, … or 1, 2, 3, …) predicts the class whenever the file is sorted by it."""
    n = len(values)
    return (
        n >= _MIN_ROWS_FOR_ROW_NUMBERS
        and values[0] in (0.0, 1.0)
        and bool(np.array_equal(values, np.arange(values[0], values[0] + n)))
    )


def _formula_note(columns: list[tuple[str, int]]) -> str:
    names = _name_list([name for name, _ in columns])
    cells = sum(count for _, count in columns)
    return (
        f"{_plural(cells, 'cell starts', 'cells start')} with '=' in {names}, like spreadsheet formulas; "
        "formulas are never calculated here, so they are kept as text. Export the computed values from "
        "your spreadsheet instead."
    )


# --------------------------------------------------------------------------------------------
# Parsing


def parse_csv(data: bytes, limits: Limits = UPLOAD_LIMITS) -> ParsedTable:
    """Decode and parse an uploaded CSV into a table of numbers and text; raise DataError if malformed."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("parse_csv expects the raw bytes of the file")
    try:
        return _parse(data, limits)
    except DataError:
        raise
    except Exception as exc:  # anything pandas or csv did not expect must still read well to a user
        raise DataError(
            "The file could not be read as a table. Check that it is a plain text CSV with a header row "
            "and values separated by commas, semicolons or tabs, then upload it again."
        ) from exc


def _parse(data: bytes, limits: Limits) -> ParsedTable:
    if len(data) > limits.max_bytes:
        size, limit = _size(len(data)), _size(limits.max_bytes)
        if size == limit:  # just over the limit: rounding would print "20 MB, larger than the 20 MB limit"
            size, limit = f"{len(data):,} bytes", f"{limit} ({limits.max_bytes:,} bytes)"
        raise DataError(
            f"The file is {size}, larger than the {limit} limit. "
            "Upload a smaller file, for example a random sample of the rows."
        )
    if not data:
        raise DataError("The file is empty (0 bytes). Choose a CSV file with a header row and data rows.")
    text, encoding, notes = _decode(data)
    if not text.strip():
        raise DataError(
            "The file contains only blank space and no data. Choose a CSV file with a header row and "
            "data rows."
        )
    _reject_other_formats(text)
    delimiter = _sniff_delimiter(text)
    names, has_header = _read_header(text, delimiter, limits, notes)
    try:
        frame = _read(text, delimiter, names, has_header, limits)
    except pd.errors.ParserError as exc:
        error = _explain_parser_error(exc, text, delimiter, len(names))
        if error is None:
            raise
        raise error from exc
    if len(frame) > limits.max_rows:
        raise DataError(
            f"The file has more than {limits.max_rows:,} data rows, which is the limit. "
            "Upload a smaller file, for example a random sample of the rows."
        )
    return _finish(frame, delimiter, encoding, notes, limits)


def _na_markers() -> list[str]:
    """Exact spellings pandas should treat as missing; other spellings are caught after stripping."""
    spellings = {"NaN", "-NaN", "#N/A N/A"}
    for token in _NA_TOKENS:
        spellings |= {token, token.upper(), token.title(), token.capitalize()}
    return sorted(spellings)


def _read(text: str, delimiter: str, names: list[str], has_header: bool, limits: Limits) -> pd.DataFrame:
    """The only parser of cell contents: pandas' C reader on an in-memory text buffer, nothing executed.

    Its type inference turns clean numeric columns into numbers fast; everything else comes back as
    text and is finished by `_convert_text`.
    """
    return pd.read_csv(
        io.BytesIO(text.encode("utf-8")),
        encoding="utf-8",
        sep=delimiter,
        header=0 if has_header else None,
        names=names,
        index_col=False,
        na_values=_na_markers(),
        keep_default_na=False,
        skip_blank_lines=True,
        quotechar='"',
        doublequote=True,
        escapechar=None,
        comment=None,
        thousands=None,
        engine="c",
        low_memory=False,  # infer each column's type from all of it, not chunk by chunk
        on_bad_lines="error",
        nrows=limits.max_rows + 1,
    )


def _explain_parser_error(exc: Exception, text: str, delimiter: str, n_columns: int) -> DataError | None:
    """Translate the pandas tokenizer errors users can fix; None leaves the generic message to parse_csv."""
    message = str(exc)
    unclosed = re.search(r"EOF inside string starting at row (\d+)", message)
    if unclosed:
        return DataError(
            f'A value that starts with a double quote (") near line {int(unclosed.group(1)) + 1:,} is never '
            "closed, so the rest of the file runs together. Close or remove that quote and upload again."
        )
    ragged = re.search(r"Expected \d+ fields in line (\d+), saw (\d+)", message)
    if ragged:
        # pandas counts records, not lines; the csv module finds the real line numbers and all offenders.
        long_lines = _long_lines(text, delimiter, n_columns) or [(int(ragged[1]), int(ragged[2]), False)]
        return _ragged_error(long_lines, n_columns)
    return None


def _long_lines(text: str, delimiter: str, n_columns: int) -> list[tuple[int, int, bool]]:
    """(line number, field count, extra values all empty) of every record with more fields than the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    found = []
    try:
        for row in reader:
            if len(row) > n_columns and any(cell.strip() for cell in row):
                trailing = not any(cell.strip() for cell in row[n_columns:])
                found.append((reader.line_num, len(row), trailing))
    except csv.Error:
        pass
    return found


def _ragged_error(long_lines: list[tuple[int, int, bool]], n_columns: int) -> DataError:
    line, fields, trailing = long_lines[0]
    more = ""
    if len(long_lines) > 1:
        more = f" ({_plural(len(long_lines) - 1, 'more line has', 'more lines have')} the same problem)"
    if trailing:
        return DataError(
            f"Line {line:,} has {fields:,} values but the header has {n_columns:,} columns{more}; the extra "
            "values are empty, so the line probably ends with a stray separator. Remove the trailing "
            "separators, or add a name for the extra column to the header, and upload the file again."
        )
    return DataError(
        f"Line {line:,} has {fields:,} values but the header has {n_columns:,} columns{more}. Fix "
        f"{'those lines' if more else 'that line'}, for example by putting values that contain the "
        "separator in double quotes, and upload the file again."
    )


def _read_header(text: str, delimiter: str, limits: Limits, notes: list[str]) -> tuple[list[str], bool]:
    """Read the header and first data row with the csv module, to check what pandas would repair silently.

    pandas renames duplicate names ('a', 'a.1') and quietly cuts extra values off the first data row,
    so both are checked here; later rows with extra values make pandas itself raise an error.
    """
    records = _first_records(text[:65536], delimiter)
    if len(records) < 2 and len(text) > 65536:
        records = _first_records(text, delimiter)
    if not records:
        raise DataError(
            "The file contains only separators and empty values, no header or data. Choose a CSV file with "
            "a header row and data rows."
        )
    header = [cell.strip() for cell in records[0][1]]
    _check_header(header, limits)
    if len(records) > 1 and len(records[1][1]) > len(header):
        first_data = (records[1][0], len(records[1][1]), False)
        raise _ragged_error(_long_lines(text, delimiter, len(header)) or [first_data], len(header))

    has_header = not all(_is_number(cell) for cell in header)
    if not has_header:
        notes.append(
            "The first row holds only numbers, so it was read as data and the columns were named "
            f"column_1 to column_{len(header)}."
        )
        return [f"column_{i + 1}" for i in range(len(header))], False
    names = [name or f"column_{i + 1}" for i, name in enumerate(header)]
    unnamed = [n for n, h in zip(names, header, strict=True) if not h]
    if unnamed:
        notes.append(f"{_plural(len(unnamed), 'column')} had no name and got one: {_name_list(unnamed)}.")
    return names, True


def _first_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The first two non-blank records with their line numbers (the last may be cut off by a sample)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                records.append((reader.line_num, row))
                if len(records) == 2:
                    break
    except csv.Error as exc:
        raise DataError(
            f"The file could not be read as a table near line {reader.line_num:,}. Check that line for a "
            'stray or unclosed double quote (") and upload the file again.'
        ) from exc
    return records


def _check_header(header: list[str], limits: Limits) -> None:
    if len(header) > limits.max_columns:
        raise DataError(
            f"The file has {len(header):,} columns, more than the limit of {limits.max_columns:,}. "
            "Keep only the feature columns you need and the target column, then upload it again."
        )
    if len(header) < 2:
        raise DataError(
            f"The file has only one column ({_quote(header[0])}), but a data set needs at least one "
            "feature column and a target column. If the values are separated by something other than "
            "commas, semicolons, tabs or |, re-save the file as a comma-separated CSV."
        )
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        if name:
            positions.setdefault(name, []).append(i + 1)
    duplicates = {name: cols for name, cols in positions.items() if len(cols) > 1}
    if duplicates and not all(_is_number(cell) for cell in header):
        described = ", ".join(
            f"{_quote(name)} (columns {', '.join(map(str, cols[:-1]))} and {cols[-1]})"
            for name, cols in list(duplicates.items())[:6]
        )
        word = "name appears" if len(duplicates) == 1 else "names appear"
        raise DataError(
            f"The column {word} more than once: {described}. Give every column a unique name and upload "
            "the file again."
        )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _finish(
    frame: pd.DataFrame, delimiter: str, encoding: str, notes: list[str], limits: Limits
) -> ParsedTable:
    """Finish the columns pandas left as text, drop empty rows, and note what the user should know."""
    columns: dict[str, pd.Series] = {}
    formulas: list[tuple[str, int]] = []
    decimal_comma: list[str] = []
    for name in frame.columns:
        values = frame[name]
        if ptypes.is_bool_dtype(values):
            values = values.astype("str")  # True/False are words, not numbers: the column is text
        if not (ptypes.is_numeric_dtype(values) and not ptypes.is_bool_dtype(values)):
            column = _convert_text(values, allow_decimal_comma=delimiter != ",")
            values = column.values
            if column.formulas:
                formulas.append((name, column.formulas))
            if column.decimal_comma:
                decimal_comma.append(name)
        columns[name] = values
    result = pd.DataFrame(columns, index=frame.index)

    empty = result.isna().all(axis=1)
    if empty.any():
        result = result.loc[~empty].reset_index(drop=True)
        notes.append(f"{_plural(int(empty.sum()), 'empty row was', 'empty rows were')} skipped.")
    if len(result) == 0:
        raise DataError(
            f"The file has a header row ({_name_list(list(result.columns), 6)}) but no data rows. Add the "
            "data below the header and upload it again."
        )
    if len(result) < limits.min_rows:
        raise DataError(
            f"The file has only {_plural(len(result), 'data row')}, but a classification data set needs at "
            f"least {limits.min_rows} ({limits.min_rows_per_class} rows for each of at least two classes). "
            "Upload a file with more rows."
        )
    if decimal_comma:
        subject = "Column" if len(decimal_comma) == 1 else "Columns"
        verb = "uses" if len(decimal_comma) == 1 else "use"
        notes.append(
            f"{subject} {_name_list(decimal_comma)} {verb} a comma as the decimal mark (like '1,5'), so "
            "the values were read as numbers."
        )
    if formulas:
        notes.append(_formula_note(formulas))
    return ParsedTable(result, delimiter, encoding, tuple(notes))


# --------------------------------------------------------------------------------------------
# Target and data set

_TARGET_NAMES = ("target", "label", "class", "y", "diagnosis", "outcome")


def propose_target(frame: pd.DataFrame | ParsedTable, limits: Limits = UPLOAD_LIMITS) -> str:
    """A sensible default target: a label-like name, else the last column that looks like classes."""
    if isinstance(frame, ParsedTable):
        frame = frame.frame
    if frame.shape[1] == 0:
        raise DataError("The table has no columns, so there is no target column to choose.")
    names = [str(c) for c in frame.columns]
    by_lower = {}
    for name in names:
        by_lower.setdefault(name.strip().lower(), name)
    for wanted in _TARGET_NAMES:
        if wanted in by_lower:
            return by_lower[wanted]
    for position in range(frame.shape[1] - 1, -1, -1):
        if 2 <= frame.iloc[:, position].nunique(dropna=True) <= limits.max_classes:
            return names[position]
    return names[-1]


def to_dataset(table: ParsedTable | pd.DataFrame, target: str, limits: Limits = UPLOAD_LIMITS) -> TabularData:
    """Split a table into numeric features and class codes, drop unusable rows, check it can be learned."""
    notes: list[str] = []
    if isinstance(table, ParsedTable):
        frame = table.frame
        notes.extend(table.notes)
    elif isinstance(table, pd.DataFrame):
        frame = table
    else:
        raise TypeError("to_dataset expects a ParsedTable or a pandas DataFrame")
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    names = list(frame.columns)
    _check_frame_shape(frame, names, limits)
    if target not in names and str(target).strip() in names:
        target = str(target).strip()
    if target not in names:
        raise DataError(
            f"There is no column named {_quote(target)}. Choose the target from the available columns: "
            f"{_name_list(names, 30)}."
        )

    features: list[str] = []
    blocks: list[np.ndarray] = []
    ignored: list[tuple[str, str]] = []
    formulas: list[tuple[str, int]] = []
    for name in names:
        if name == target:
            continue
        values, reason = _numeric_values(frame[name])
        if values is None:
            ignored.append((name, reason))
            if not isinstance(table, ParsedTable) and "formulas" in reason:
                cells = frame[name].astype("str").str.strip().str.startswith("=", na=False).sum()
                formulas.append((name, int(cells)))
        else:
            features.append(name)
            blocks.append(values)
    if formulas:
        notes.append(_formula_note(formulas))
    if not features:
        why = f" (ignored: {'; '.join(f'{_quote(n)}: {r}' for n, r in ignored[:4])})" if ignored else ""
        raise DataError(
            f"There is no numeric feature column besides the target {_quote(target)}{why}. Add at least one "
            "column of numbers to learn from, or choose a different target column."
        )

    X = np.column_stack(blocks).astype("float64", copy=False)
    labels, label_missing, numeric_target = _target_values(frame[target])

    nan = np.isnan(X)
    drop_missing = label_missing | nan.any(axis=1)
    drop_inf = np.isinf(X).any(axis=1) & ~drop_missing
    n_total = len(frame)
    if drop_missing.any():
        counts = [(f"{_quote(target)} (the target)", int(label_missing.sum()))]
        counts += [(_quote(n), int(c)) for n, c in zip(features, nan.sum(axis=0), strict=True)]
        where = ", ".join(f"{n}: {c:,}" for n, c in sorted(counts, key=lambda t: -t[1])[:5] if c)
        notes.append(
            f"{int(drop_missing.sum()):,} of {_plural(n_total, 'row')} were dropped because they had missing "
            f"values (missing cells per column: {where})."
        )
    if drop_inf.any():
        inf_cols = [n for n, bad in zip(features, np.isinf(X[drop_inf]).any(axis=0), strict=True) if bad]
        notes.append(
            f"{_plural(int(drop_inf.sum()), 'row was', 'rows were')} dropped because they had infinite "
            f"values in {_name_list(inf_cols)}."
        )
    keep = ~(drop_missing | drop_inf)
    if not keep.any():
        unusable = (~np.isfinite(X)).sum(axis=0)
        per_column = [(int(label_missing.sum()), target)]
        per_column += [(int(c), n) for n, c in zip(features, unusable, strict=True)]
        worst = max(per_column)
        raise DataError(
            f"No rows are left after dropping rows with missing or infinite values; {_quote(worst[1])} has "
            "no usable value in most rows. Remove that column or fill in its values, then upload again."
        )
    X = np.ascontiguousarray(X[keep])
    labels = labels[keep]

    y, class_values = pd.factorize(labels, sort=True)
    class_names = (
        tuple(_format_number(v) for v in class_values)
        if numeric_target
        else tuple(str(v) for v in class_values)
    )
    _check_classes(frame, target, names, class_names, np.bincount(y), len(labels), limits)
    return TabularData(
        X=X,
        y=y.astype("int64").reshape(-1),
        feature_names=tuple(features),
        class_names=class_names,
        ignored=tuple(ignored),
        notes=tuple(notes),
    )


def _check_frame_shape(frame: pd.DataFrame, names: list[str], limits: Limits) -> None:
    if not names:
        raise DataError("The table has no columns. Upload a CSV file with a header row and data rows.")
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})
    if duplicates:
        raise DataError(
            f"The column names {_name_list(duplicates)} appear more than once. Give every column a unique "
            "name and try again."
        )
    if len(names) > limits.max_columns:
        raise DataError(
            f"The table has {len(names):,} columns, more than the limit of {limits.max_columns:,}. Keep only "
            "the feature columns you need and the target column."
        )
    if len(frame) > limits.max_rows:
        raise DataError(
            f"The table has {len(frame):,} rows, more than the limit of {limits.max_rows:,}. Use a smaller "
            "sample of the rows."
        )


def _target_values(series: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """Target labels as a sortable array, which rows lack one, and whether the labels are numbers."""
    if ptypes.is_bool_dtype(series) and not series.isna().any():
        return series.astype("str").to_numpy(dtype=object), np.zeros(len(series), bool), False
    if ptypes.is_numeric_dtype(series) and not ptypes.is_complex_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        column = _convert_text(series)
        if not column.numeric:
            text = column.values
            missing = text.isna().to_numpy()
            return text.fillna("").astype("str").to_numpy(dtype=object), missing, False
        values = column.values.to_numpy(dtype="float64")
    missing = ~np.isfinite(values)
    return np.where(missing, 0.0, values), missing, True


def _check_classes(
    frame: pd.DataFrame,
    target: str,
    names: list[str],
    class_names: tuple[str, ...],
    counts: np.ndarray,
    n_rows: int,
    limits: Limits,
) -> None:
    k = len(class_names)
    if k < 2:
        raise DataError(
            f"The target column {_quote(target)} has only one class ({_quote(class_names[0])}) in the usable "
            "rows, but classification needs at least two. Choose a different target column or add rows of "
            "another class."
        )
    if k == n_rows and n_rows > 2:
        others = [
            n
            for n in reversed(names)
            if n != target and 2 <= frame[n].nunique(dropna=True) <= min(limits.max_classes, len(frame) - 1)
        ]
        hint = f", for example {_quote(others[0])}" if others else ""
        raise DataError(
            f"Every row has a different value in {_quote(target)}, so it looks like an ID or a continuous "
            f"measurement rather than a class label. Choose another column as the target{hint}."
        )
    if k > limits.max_classes:
        raise DataError(
            f"The target column {_quote(target)} has {k:,} different values, more than the limit of "
            f"{limits.max_classes} classes. Choose a column that holds class labels, not an ID or a "
            "continuous measurement."
        )
    small = [(n, int(c)) for n, c in zip(class_names, counts, strict=True) if c < limits.min_rows_per_class]
    if small:
        shown = ", ".join(f"{_quote(n)} ({_plural(c, 'row')})" for n, c in small[:5])
        more = f" and {len(small) - 5:,} more" if len(small) > 5 else ""
        raise DataError(
            f"Some classes of {_quote(target)} have fewer than {limits.min_rows_per_class} usable rows: "
            f"{shown}{more}. Add rows for those classes or remove them, then upload again."
        )


def load_csv(data: bytes, target: str | None = None, limits: Limits = UPLOAD_LIMITS) -> TabularData:
    """Parse, pick the target (given or proposed) and validate in one call, for the CLI and simple callers."""
    table = parse_csv(data, limits)
    if not target:
        target = propose_target(table.frame, limits)
        table = ParsedTable(
            table.frame,
            table.delimiter,
            table.encoding,
            (*table.notes, f"The target column {_quote(target)} was chosen automatically."),
        )
    return to_dataset(table, target, limits)
