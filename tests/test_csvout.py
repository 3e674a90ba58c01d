"""CSV output: a header, one line per row, safe to open in a spreadsheet."""

import csv
import io

import pytest

from conversions.csvout import cell, csv_lines


def parse(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines), newline="")))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\nx", "'\nx"),
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("twitter", "twitter"),
        ("a=b", "a=b"),  # only the first character matters
        ("", ""),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-3, -3),  # numbers stay numbers, negative or not
        (-0.5, -0.5),
        (0, 0),
    ],
)
def test_cell(value, written):
    assert cell(value) == written


def test_header_and_rows_in_column_order():
    lines = list(csv_lines(["b", "a"], [{"a": 1, "b": "x"}, {"a": None, "b": 2.5}]))
    assert lines == ["b,a\r\n", "x,1\r\n", "2.5,\r\n"]


def test_awkward_values_round_trip_through_csv_reader():
    awkward = [
        "comma, inside",
        'quote " inside',
        "line\nbreak",
        "carriage\r\nreturn",
        '"starts with a quote',
        "unicode: Zürich — 東京 🚀",
        "trailing space ",
    ]
    rows = [{"name": value, "n": i} for i, value in enumerate(awkward)]
    parsed = parse(csv_lines(["name", "n"], rows))
    assert parsed[0] == ["name", "n"]
    assert parsed[1:] == [[value, str(i)] for i, value in enumerate(awkward)]


def test_dangerous_cells_come_back_escaped():
    rows = [{"v": "=1+1"}, {"v": "-cmd|' /C calc'!A0"}, {"v": "@SUM(1)"}, {"v": "\n=1"}]
    parsed = parse(csv_lines(["v"], rows))
    assert [r[0] for r in parsed[1:]] == ["'=1+1", "'-cmd|' /C calc'!A0", "'@SUM(1)", "'\n=1"]
    # no parsed cell starts with a formula character any more
    assert not any(r[0][:1] in ("=", "+", "-", "@", "\t", "\r", "\n") for r in parsed[1:])


def test_missing_keys_are_empty_cells():
    assert list(csv_lines(["a", "b"], [{"a": 1}])) == ["a,b\r\n", "1,\r\n"]


def test_utf8_bytes():
    text = "".join(csv_lines(["channel"], [{"channel": "café"}]))
    assert text.encode("utf-8") == b"channel\r\ncaf\xc3\xa9\r\n"
