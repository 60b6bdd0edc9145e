"""Tests for qulab.data.upload: every malformed upload gets a clear message, good ones parse right."""

from __future__ import annotations

import ast
import codecs
import io
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qulab.data import upload as tu
from qulab.data.upload import (
    MISSING_VALUES_POLICY,
    UPLOAD_LIMITS,
    DataError,
    Limits,
    ParsedTable,
    content_hash,
    load_csv,
    parse_csv,
    propose_target,
    to_dataset,
)

GOOD = b"a,b,name,label\n1,2.5,ann,cat\n3,4.5,bob,dog\n5,6.5,cy,cat\n7,8.5,dee,dog\n"


def rows(header: str, lines: list[str]) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def many_classes(n_classes: int) -> bytes:
    """Two rows per class; the feature is not a row number, so it stays a feature."""
    lines = [f"{(i * 7) % 13},c{i // 2}" for i in range(2 * n_classes)]
    return rows("f,label", lines)


# (data, target, limits, fragments that must all be in the message)
MALFORMED = [
    pytest.param(b"", None, UPLOAD_LIMITS, ["empty (0 bytes)"], id="empty-file"),
    pytest.param(b"  \n\t \r\n   ", None, UPLOAD_LIMITS, ["only blank space"], id="whitespace-only"),
    pytest.param(b",,,\n ,, ,\n", None, UPLOAD_LIMITS, ["only separators"], id="separators-only"),
    pytest.param(b"a,b,label\n", None, UPLOAD_LIMITS, ["header row", "no data rows"], id="header-only"),
    pytest.param(
        b"a,b,label\n1,2,x\n", None, UPLOAD_LIMITS, ["only 1 data row", "at least 4"], id="one-data-row"
    ),
    pytest.param(
        rows("a,b,label", ["1,2,x", "3,4,x", "5,6,x", "7,8,x"]),
        None,
        UPLOAD_LIMITS,
        ["only one class ('x')", "at least two"],
        id="one-class",
    ),
    pytest.param(
        rows("name,colour,label", ["ann,red,x", "bob,blue,y", "cy,red,x", "dee,blue,y"]),
        "label",
        UPLOAD_LIMITS,
        ["no numeric feature column", "'name': not numeric (text such as 'ann')"],
        id="no-numeric-feature",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n" + bytes(200), None, UPLOAD_LIMITS, ["not a CSV", "PNG image"], id="png"
    ),
    pytest.param(
        b"PK\x03\x04" + bytes(200), None, UPLOAD_LIMITS, ["not a CSV", "Excel (.xlsx)"], id="zip-xlsx"
    ),
    pytest.param(
        random.Random(0).randbytes(4096), None, UPLOAD_LIMITS, ["not a CSV", "binary data"], id="random-bytes"
    ),
    pytest.param(b"a,b\x00,c\n1,2,3\n4,5,6\n", None, UPLOAD_LIMITS, ["binary data"], id="bytes-with-nul"),
    pytest.param(
        rows("a,b,label", ["1,2,x", "3,4,y", "5,6,x,9", "7,8,y"]),
        None,
        UPLOAD_LIMITS,
        ["Line 4 has 4 values but the header has 3 columns", "Fix that line", "double quotes"],
        id="ragged-extra-field",
    ),
    pytest.param(
        rows("a,b,label", ["1,2,x,9", "3,4,y", "5,6,x", "7,8,y"]),
        None,
        UPLOAD_LIMITS,
        ["Line 2 has 4 values"],  # pandas would silently cut this one off
        id="ragged-first-data-row",
    ),
    pytest.param(
        rows("a,b,label", ["1,2,x", "3,4,y,5,6", "5,6,x", "", "7,8,y,1", "9,9,x,1"]),
        None,
        UPLOAD_LIMITS,
        ["Line 3 has 5 values", "2 more lines have the same problem"],
        id="ragged-several-lines",
    ),
    pytest.param(
        rows("a,b,label", ["1,2,x,", "3,4,y,", "5,6,x,", "7,8,y,"]),
        None,
        UPLOAD_LIMITS,
        ["Line 2 has 4 values", "3 more lines have", "extra values are empty", "trailing separators"],
        id="ragged-trailing-separator",
    ),
    pytest.param(
        rows("a,b,a,label", ["1,2,3,x", "3,4,5,y", "5,6,7,x", "7,8,9,y"]),
        None,
        UPLOAD_LIMITS,
        ["'a' (columns 1 and 3)", "more than once", "unique name"],
        id="duplicate-columns",
    ),
    pytest.param(
        rows("a, a ,b,b,label", ["1,2,3,4,x", "3,4,5,6,y", "5,6,7,8,x", "7,8,9,0,y"]),
        None,
        UPLOAD_LIMITS,
        ["names appear more than once", "'a' (columns 1 and 2)", "'b' (columns 3 and 4)"],
        id="duplicate-columns-after-trimming",
    ),
    pytest.param(
        rows(",".join(f"c{i}" for i in range(3000)), [",".join("1" for _ in range(3000))] * 4),
        None,
        UPLOAD_LIMITS,
        ["3,000 columns", "limit of 500"],
        id="thousands-of-columns",
    ),
    pytest.param(
        rows("id,f,label", [f"{1000 + i},{i % 3},{'xy'[i % 2]}" for i in range(8)]),
        "id",
        UPLOAD_LIMITS,
        ["Every row has a different value in 'id'", "looks like an ID", "for example 'label'"],
        id="one-class-per-row",
    ),
    pytest.param(
        b"\n  <!DOCTYPE html>\n<html><head><title>data.csv</title></head><body>a,b</body></html>",
        None,
        UPLOAD_LIMITS,
        ["this looks like an HTML page, not a CSV", "raw CSV"],
        id="html-page",
    ),
    pytest.param(
        b"<table><tr><td>a</td><td>b</td></tr></table>",
        None,
        UPLOAD_LIMITS,
        ["HTML page"],
        id="html-fragment",
    ),
    pytest.param(b'<?xml version="1.0"?><rows/>', None, UPLOAD_LIMITS, ["XML"], id="xml"),
    pytest.param(b'[{"a": 1, "label": "x"}]', None, UPLOAD_LIMITS, ["JSON file, not a CSV"], id="json"),
    pytest.param(
        b"a,b\n" + b"1" * (20 * 1024 * 1024),
        None,
        UPLOAD_LIMITS,
        ["20,971,524 bytes, larger than the 20 MB (20,971,520 bytes) limit"],
        id="over-20mb",
    ),
    pytest.param(
        b"a,label\n" + b"1,0\n2,1\n" * 100_001,
        None,
        UPLOAD_LIMITS,
        ["more than 200,000 data rows, which is the limit"],
        id="too-many-rows",
    ),
    pytest.param(
        b"a,label\n" + b"1,0\n2,1\n" * 6,
        None,
        Limits(max_rows=10),
        ["more than 10 data rows"],
        id="rows-custom-limit",
    ),
    pytest.param(
        GOOD,
        "species",
        UPLOAD_LIMITS,
        ["no column named 'species'", "'a', 'b', 'name', 'label'"],
        id="target-missing",
    ),
    pytest.param(
        many_classes(60),
        "label",
        UPLOAD_LIMITS,
        ["60 different values", "limit of 50 classes"],
        id="too-many-classes",
    ),
    pytest.param(
        rows("a,label", ["1,x", "2,x", "3,y", "4,y", "5,z"]),
        "label",
        UPLOAD_LIMITS,
        ["fewer than 2 usable rows", "'z' (1 row)"],
        id="class-with-one-row",
    ),
    pytest.param(
        b"value\n1\n2\n3\n4\n",
        None,
        UPLOAD_LIMITS,
        ["only one column ('value')", "comma-separated"],
        id="single-column",
    ),
    pytest.param(
        rows("a,b,label", ['1,"2,x', "3,4,y", "5,6,x", "7,8,y"]),
        None,
        UPLOAD_LIMITS,
        ["double quote", "never closed", "line 2"],
        id="unclosed-quote",
    ),
    pytest.param(
        rows("a,b,label", ["p,NA,x", "q,,y", "r,?,x", "s,-,y"]),
        "label",
        UPLOAD_LIMITS,
        ["no numeric feature column", "'b': empty (no values)"],
        id="only-empty-feature",
    ),
    pytest.param(
        rows("a,b,label", ["1,inf,x", "2,-inf,y", "3,Infinity,x", "4,1e400,y"]),
        "label",
        UPLOAD_LIMITS,
        ["No rows are left", "'b'"],
        id="infinity-in-every-row",
    ),
    pytest.param(
        codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le") + b"\x00\xdc",
        None,
        UPLOAD_LIMITS,
        ["UTF-16 marker", "could not be decoded", "UTF-8"],
        id="broken-utf16",
    ),
]


@pytest.mark.parametrize(("data", "target", "limits", "fragments"), MALFORMED)
def test_malformed_upload_gives_clear_message(data, target, limits, fragments):
    with pytest.raises(DataError) as caught:
        load_csv(data, target, limits)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    # Plain language: no tracebacks or library jargon, one or two sentences ending in a full stop.
    for jargon in ("Traceback", "pandas", "DataFrame", "dtype", "NaN", "None", "tokenizing", "Exception"):
        assert jargon not in message, message
    assert message.endswith(".")
    assert len(re.split(r"(?<=[.!?])\s+(?=[A-Z])", message)) <= 2, message
    assert len(message) < 400


def test_over_limit_size_is_stated_in_megabytes():
    with pytest.raises(DataError, match=r"The file is 1\.5 MB, larger than the 1 MB limit\."):
        parse_csv(b"a,b\n" + b"1" * (3 * 1024 * 512), Limits(max_bytes=1024 * 1024))


def test_unexpected_parser_failure_becomes_data_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal boom")

    monkeypatch.setattr(pd, "read_csv", broken)
    with pytest.raises(DataError, match="could not be read as a table") as caught:
        parse_csv(GOOD)
    assert "boom" not in str(caught.value)


def test_good_csv_ignores_text_column():
    data = load_csv(GOOD, "label")
    assert data.feature_names == ("a", "b")
    assert data.ignored == (("name", "not numeric (text such as 'ann')"),)
    assert data.class_names == ("cat", "dog")
    assert data.y.tolist() == [0, 1, 0, 1]
    np.testing.assert_array_equal(data.X, [[1, 2.5], [3, 4.5], [5, 6.5], [7, 8.5]])
    assert data.notes == ()


def test_arrays_are_finite_float64_and_int64_codes():
    data = load_csv(rows("a,b,label", ["1,2,x", "3,inf,y", "5,6,x", "7,8,y", "9,1,y"]))
    assert data.X.dtype == np.float64 and data.X.shape == (4, 2) and data.X.flags.c_contiguous
    assert np.isfinite(data.X).all()
    assert data.y.dtype == np.int64 and data.y.shape == (4,)
    assert set(data.y.tolist()) == set(range(len(data.class_names)))


def test_class_names_sorted_and_codes_follow():
    text = load_csv(rows("f,label", ["1,pear", "2,apple", "3,fig", "4,apple", "5,pear", "6,fig"]))
    assert text.class_names == ("apple", "fig", "pear")
    assert text.y.tolist() == [2, 0, 1, 0, 2, 1]
    # Numeric labels sort as numbers (2 before 10), and print without a spurious ".0".
    numbers = load_csv(rows("f,label", ["1,10", "2,2", "3,1", "4,10", "5,2", "6,1"]))
    assert numbers.class_names == ("1", "2", "10")
    assert numbers.y.tolist() == [2, 1, 0, 2, 1, 0]


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        pytest.param(b"a;b;label\n1;2;x\n3;4;y\n5;6;x\n7;8;y\n", ";", id="semicolon"),
        pytest.param(b"a\tb\tlabel\n1\t2\tx\n3\t4\ty\n5\t6\tx\n7\t8\ty\n", "\t", id="tab"),
        pytest.param(b"a|b|label\n1|2|x\n3|4|y\n5|6|x\n7|8|y\n", "|", id="pipe"),
        pytest.param(b'a,b,label\n1,2,"x, y"\n3,4,z\n5,6,"x, y"\n7,8,z\n', ",", id="comma-with-quoted-comma"),
    ],
)
def test_delimiter_is_sniffed(data, delimiter):
    table = parse_csv(data)
    assert table.delimiter == delimiter
    assert list(table.frame.columns) == ["a", "b", "label"]
    assert table.frame["b"].tolist() == [2, 4, 6, 8]


def test_semicolon_file_with_decimal_commas():
    table = parse_csv(b"length;width;label\n1,5;2;x\n2,25;3;y\n3;4,0;x\n4;5;y\n")
    assert table.delimiter == ";"
    assert table.frame["length"].tolist() == [1.5, 2.25, 3.0, 4.0]
    assert table.frame["width"].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert any("comma as the decimal mark" in note for note in table.notes)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_decode_correctly(codec):
    text = "größe;farbe;label\n1,5;rot;x\n2;grün;y\n3;blau;x\n4;rot;y\n"
    raw = text.encode(codec)
    if codec == "utf-16-be":
        raw = codecs.BOM_UTF16_BE + raw
    data = load_csv(raw, "label")
    assert data.feature_names == ("größe",)
    assert data.ignored == (("farbe", "not numeric (text such as 'rot')"),)
    np.testing.assert_array_equal(data.X[:, 0], [1.5, 2, 3, 4])
    assert parse_csv(raw).encoding in {"utf-16", "utf-32"}


def test_utf16_without_bom_is_recognised():
    table = parse_csv("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n".encode("utf-16-le"))
    assert table.encoding == "utf-16-le"
    assert list(table.frame.columns) == ["a", "b", "label"]


def test_utf8_bom_is_stripped():
    table = parse_csv(codecs.BOM_UTF8 + "größe,label\n1,x\n2,y\n3,x\n4,y\n".encode())
    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["größe", "label"]
    assert table.notes == ()


def test_non_utf8_falls_back_to_windows_1252_then_latin_1():
    table = parse_csv("café,€uro,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n".encode("cp1252"))
    assert table.encoding == "cp1252"
    assert list(table.frame.columns) == ["café", "€uro", "label"]
    assert "not UTF-8" in table.notes[0]
    # Byte 0x81 is undefined in Windows-1252, so only Latin-1 can read this file.
    latin = parse_csv(b"caf\xe9,label\n1,\x81x\n2,y\n3,x\n4,y\n")
    assert latin.encoding == "latin-1"
    assert list(latin.frame.columns) == ["café", "label"]
    assert "Latin-1" in latin.notes[0]


def test_missing_values_dropped_with_note():
    data = load_csv(
        rows(
            "a,b,comment,label",
            [
                "1,2,,x",
                "NA,4,ok,y",
                "5,?,ok,x",
                "7,8,,y",
                "9,10,ok,",
                "11,12,ok,x",
                "13, n/a ,ok,y",
                "15,16,ok,y",
            ],
        ),
        "label",
    )
    assert data.X.shape == (4, 2)  # the empty 'comment' cells do not drop rows: that column is ignored
    assert data.y.tolist() == [0, 1, 0, 1]
    note = next(note for note in data.notes if "missing" in note)
    assert note.startswith("4 of 8 rows were dropped because they had missing values")
    assert "'b': 2" in note and "'a': 1" in note and "'label' (the target): 1" in note
    assert "dropped" in MISSING_VALUES_POLICY and "infinite" in MISSING_VALUES_POLICY


def test_short_rows_count_as_missing_values():
    data = load_csv(rows("a,b,label", ["1,2,x", "3,4", "5,6,x", "7,8,y", "9,1,y"]), "label")
    assert data.X.shape == (4, 2)
    assert any(note.startswith("1 of 5 rows were dropped") for note in data.notes)


def test_infinities_are_dropped_with_note_never_passed_on():
    data = load_csv(
        rows(
            "a,b,label",
            ["1,inf,x", "2,-inf,y", "3,Infinity,x", "4,1e400,y", "5,1,x", "6,2,y", "7,3,x", "8,4,y"],
        ),
        "label",
    )
    assert np.isfinite(data.X).all() and data.X.shape == (4, 2)
    assert "4 rows were dropped because they had infinite values in 'b'." in data.notes


def test_formula_cells_are_text_never_evaluated():
    table = parse_csv(rows("a,total,label", ["1,=SUM(A1:A3),x", "2,=1+1,y", "3,4,x", "4,5,y"]))
    assert table.frame["total"].tolist()[:2] == ["=SUM(A1:A3)", "=1+1"]
    assert any("formulas are never calculated" in note for note in table.notes)
    data = to_dataset(table, "label")
    assert data.feature_names == ("a",)
    assert data.ignored == (("total", "not numeric (spreadsheet formulas such as '=SUM(A1:A3)')"),)


def test_formula_note_for_dataframe_input_too():
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "f": ["=A1", "=A2", "x", "y"], "label": ["p", "q", "p", "q"]})
    data = to_dataset(frame, "label")
    assert any("2 cells start with '=' in 'f'" in note for note in data.notes)


@pytest.mark.parametrize(
    ("header", "lines", "expected"),
    [
        pytest.param("f1,Diagnosis,f2", ["1,a,1", "2,b,2"], "Diagnosis", id="named-diagnosis-any-case"),
        pytest.param("f1,y,Target", ["1,a,b", "2,b,c"], "Target", id="target-beats-y"),
        pytest.param("f1,OUTCOME", ["1,a", "2,b"], "OUTCOME", id="named-outcome"),
        pytest.param("species,f1,f2", ["a,1.5,1", "b,2.5,1"], "f1", id="last-with-2-to-50-values"),
        pytest.param("kind,f1,f2", ["a,1,1", "b,1,1"], "kind", id="skips-constant-columns"),
        pytest.param("f1,f2", ["1,1", "1,1"], "f2", id="fallback-last-column"),
    ],
)
def test_propose_target(header, lines, expected):
    frame = pd.read_csv(io.StringIO("\n".join([header, *lines])))
    assert propose_target(frame) == expected


def test_propose_target_respects_max_classes():
    frame = pd.DataFrame({"kind": ["a", "b"] * 30, "code": range(60)})
    assert propose_target(frame) == "kind"  # 'code' has 60 values, over the 50-class limit


def test_load_csv_notes_an_automatic_target():
    auto = load_csv(GOOD)
    assert auto.notes == ("The target column 'label' was chosen automatically.",)
    assert load_csv(GOOD, "label").notes == ()


def test_numeric_only_first_row_is_data_not_header():
    table = parse_csv(b"1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    assert list(table.frame.columns) == ["column_1", "column_2", "column_3"]
    assert len(table.frame) == 4
    assert "read as data" in table.notes[0]


def test_unnamed_index_column_is_named_and_ignored_as_row_numbers():
    lines = [f"{i},{i % 5}.5,{'ab'[i % 2]}" for i in range(30)]
    table = parse_csv(rows(",f,label", lines))
    assert list(table.frame.columns) == ["column_1", "f", "label"]
    data = to_dataset(table, "label")
    assert data.feature_names == ("f",)
    assert data.ignored[0][0] == "column_1" and data.ignored[0][1].startswith("row numbers (0, 1, 2, …)")


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"], ids=["crlf", "cr-only"])
def test_windows_and_old_mac_line_endings(newline):
    data = load_csv(newline.join([b"a,b,label", b"1,2,x", b"3,4,y", b"5,6,x", b"7,8,y", b""]))
    assert data.X.shape == (4, 2) and data.class_names == ("x", "y")


def test_header_cell_starting_with_angle_bracket_is_not_markup():
    table = parse_csv(b"<50k,>50k,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n\x1a")
    assert list(table.frame.columns) == ["<50k", ">50k", "label"] and len(table.frame) == 4


def test_blank_rows_skipped_and_quoted_newlines_kept():
    table = parse_csv(b'a,note,label\n1,"two\nlines",x\n\n,,\n3,plain,y\n5,ok,x\n7,ok,y\n')
    assert len(table.frame) == 4
    assert table.frame["note"][0] == "two\nlines"
    assert "1 empty row was skipped." in table.notes


def test_parsed_column_types():
    table = parse_csv(
        rows(
            "i,f,big,flag,text,label",
            [
                "1,1.5,99999999999999999999,TRUE,a,x",
                "2,2.5,1,FALSE,b,y",
                "3,3.5,2,TRUE,c,x",
                "4,4.5,3,FALSE,d,y",
            ],
        )
    )
    frame = table.frame
    assert frame["i"].dtype == np.int64 and frame["f"].dtype == np.float64
    assert frame["big"].dtype == np.float64 and frame["big"][0] == 1e20
    # True/False are words, not numbers: they stay text, so the column is ignored as a feature.
    assert frame["flag"].tolist() == ["True", "False", "True", "False"]
    assert dict(to_dataset(table, "label").ignored)["flag"] == "not numeric (text such as 'True')"


def test_dataframe_input_with_mixed_types():
    frame = pd.DataFrame(
        {
            "num_text": ["1", " 2 ", None, "4", "5", "6", "7"],
            "flag": [True, False, True, False, True, False, True],
            "when": pd.to_datetime(["2020-01-01"] * 7),
            "label": [1.0, 0.0, 1.0, 0.0, np.nan, 1.0, 0.0],
        }
    )
    data = to_dataset(frame, "label")
    assert data.feature_names == ("num_text", "flag")
    assert data.ignored[0][0] == "when" and data.ignored[0][1].startswith("not numeric")
    assert data.class_names == ("0", "1")
    assert data.X.tolist() == [[1, 1], [2, 0], [4, 0], [6, 0], [7, 1]]
    assert data.y.tolist() == [1, 0, 0, 1, 0]


def test_to_dataset_rejects_duplicate_names_in_dataframe():
    frame = pd.DataFrame([[1, 2, "x"]] * 4, columns=["a", "a", "label"])
    with pytest.raises(DataError, match="'a' appear more than once"):
        to_dataset(frame, "label")


def test_content_hash_is_sha256_hex():
    assert content_hash(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert content_hash(GOOD) != content_hash(GOOD + b" ")
    assert content_hash(bytearray(GOOD)) == content_hash(GOOD)


def test_limits_describe_is_one_sentence_with_the_numbers():
    text = UPLOAD_LIMITS.describe()
    assert UPLOAD_LIMITS.max_bytes == 20 * 1024 * 1024
    for part in ("20 MB", "200,000 rows", "500 columns", "2 to 50 classes", "at least 2 rows per class"):
        assert part in text
    assert text.count(".") == 1 and text.endswith(".")
    with pytest.raises(ValueError):
        Limits(max_classes=1)


def test_parse_rejects_non_bytes_as_programming_error():
    with pytest.raises(TypeError):
        parse_csv("a,b\n1,2\n")  # type: ignore[arg-type]


def test_parsed_table_is_frozen():
    table = parse_csv(GOOD)
    assert isinstance(table, ParsedTable)
    with pytest.raises(AttributeError):
        table.delimiter = ";"  # type: ignore[misc]


def test_module_never_imports_streamlit_or_unsafe_loaders():
    tree = ast.parse(Path(tu.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"streamlit", "pickle", "joblib", "dill", "cloudpickle"}
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & {"eval", "exec", "compile", "__import__"}
