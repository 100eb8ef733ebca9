"""Splitting batch files into chunks: record boundaries as Python's csv module reads them, every
kind of line end, and files that cannot be split."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.batches import MAX_RECORD_BYTES, BatchUnreadable, ends_inside_quotes, split


def chunks_of(data: bytes, rows: int = 2, block: int = 3) -> list[bytes]:
    layout = split([data[i:i + block] for i in range(0, len(data), block)], csv=True, rows_per_chunk=rows)
    return [data[c.start:c.end] for c in layout.chunks]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_end_splits_on_records_with_the_lines_numbered(end: bytes) -> None:
    data = end.join([b"\xef\xbb\xbfa,b", b"1,2", b"3,4", b"5,6", b""])
    layout = split([data], csv=True, rows_per_chunk=2)
    assert layout.header == "a,b"
    assert [(c.first_line, c.last_line) for c in layout.chunks] == [(2, 3), (4, 4)]
    assert chunks_of(data) == [end.join([b"1,2", b"3,4", b""]), b"5,6" + end]


def test_a_quoted_newline_stays_in_its_record_and_a_stray_quote_opens_nothing() -> None:
    data = b'a,b\n12"\xe5\xb1\x8f,1\n"two\nlines",2\n3,4\n5,6\n'
    assert chunks_of(data) == [b'12"\xe5\xb1\x8f,1\n"two\nlines",2\n', b"3,4\n5,6\n"]


def test_the_last_line_without_its_line_end_and_a_file_of_a_header_alone() -> None:
    assert chunks_of(b"a,b\n1,2\n3,4\n5,6") == [b"1,2\n3,4\n", b"5,6"]
    assert split([b"a,b\n"], csv=True).chunks == () and split([b"a,b"], csv=True).header == "a,b"
    assert split([b""], csv=True).chunks == ()


def test_a_record_inside_quotes_past_its_limit_ends_at_the_next_line_and_a_huge_header_is_refused() -> None:
    open_quote = b'a,b\n"' + b"x" * (MAX_RECORD_BYTES + 10) + b"\n1,2\n3,4\n"
    assert len(chunks_of(open_quote, rows=1, block=4096)) == 3
    with pytest.raises(BatchUnreadable):
        split([b"a" * 5000 + b"\n1\n"], csv=True)


def test_json_lines_split_on_every_newline() -> None:
    layout = split([b'{"a": "x\\"y"}\n{}\n{}'], csv=False, rows_per_chunk=2)
    assert layout.header is None and [(c.first_line, c.last_line) for c in layout.chunks] == [(1, 2), (3, 3)]


def test_the_same_bytes_the_same_digest_whatever_the_blocks() -> None:
    data = b"a,b\n1,2\n"
    assert split([data], csv=True).sha256 == split([data[:3], data[3:]], csv=True).sha256


fields = st.text(alphabet=st.sampled_from(list('ab,"\n \u5c4f')), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(fields, min_size=1, max_size=3), min_size=1, max_size=6))
def test_quotes_are_followed_as_the_csv_module_reads_them(rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    line_by_line = out.getvalue().encode().split(b"\n")
    inside = False
    ends = 0
    for line in line_by_line[:-1]:
        inside = ends_inside_quotes(line, inside)
        ends += not inside
    assert ends == len(rows)  # every record the writer wrote ends where csv says it does
