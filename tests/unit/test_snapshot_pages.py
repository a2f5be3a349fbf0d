"""How a parallel snapshot splits a table: page ranges that cover it exactly, and when not to split."""

from __future__ import annotations

import pytest

from pgcdc.snapshot.pages import Chunk, chunk_count, plan_chunks


def test_chunks_cover_every_page_once_and_the_last_reads_to_the_end() -> None:
    chunks = plan_chunks(3, pages=10, count=4, excluded=(("16384", "(0,1)"),))
    assert [(c.first_page, c.end_page) for c in chunks] == [(0, 2), (2, 5), (5, 7), (7, None)]
    assert [c.number for c in chunks] == [0, 1, 2, 3] and {c.table for c in chunks} == {3}


def _text(chunk: Chunk) -> str | None:
    condition = chunk.condition()
    if condition is None:
        return None
    return condition.as_string(None)


@pytest.mark.parametrize(
    ("chunk", "where"),
    [
        (Chunk(0, 0, 0, None), None),
        (
            Chunk(0, 0, 0, 5, (("16384", "(0,1)"),)),
            "ctid < '(5,0)'::tid AND NOT (tableoid = '16384'::oid AND ctid = '(0,1)'::tid)",
        ),
        (Chunk(0, 1, 5, 9), "ctid >= '(5,0)'::tid AND ctid < '(9,0)'::tid"),
        (Chunk(0, 2, 9, None), "ctid >= '(9,0)'::tid"),
    ],
)
def test_a_chunk_selects_its_pages_and_leaves_out_rows_written_apart(chunk: Chunk, where: str | None) -> None:
    assert _text(chunk) == where


@pytest.mark.parametrize(
    ("rows", "pages", "version", "count"),
    [
        (1_000_000, 12_346, 150000, 8),  # as many as the settings allow
        (25_000, 200, 150000, 3),  # at least fetch_size rows each
        (500, 4, 150000, 1),  # small: one chunk
        (50_000, 2, 150000, 2),  # never more chunks than pages
        (0, 0, 150000, 1),  # empty (or never analyzed and empty)
        (1_000_000, 12_346, 130000, 1),  # no TID range scans before PostgreSQL 14
    ],
)
def test_chunk_count(rows: int, pages: int, version: int, count: int) -> None:
    assert (
        chunk_count(estimated_rows=rows, pages=pages, fetch_size=10_000, most=8, server_version=version)
        == count
    )
