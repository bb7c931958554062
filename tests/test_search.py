"""The search index's shortcuts (answers remembered per query, narrowing from a shorter query,
letter sets) never change an answer: typing, backspacing and editing a query, with writes in
between, answers exactly what a fresh index answers."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.vault.records import Record, encode_summary
from mysafe_tui.vault.search import SearchIndex

WORDS = ["git", "github", "gitlab", "bank", "mail", "prod", "db", "zz", "élan", "Straße"]


def record(
    i: int, name: str, username: str, favourite: bool, active: bool, url: str | None = None
) -> Record:
    kind = [ItemKind.PASSWORD, ItemKind.NOTE][i % 2]
    summary = ItemSummary(
        id=f"id{i:04d}",
        kind=kind,
        name=name,
        version=1,
        created=time.time(),
        updated=time.time(),
        username=username,
        url=f"https://{username}.example" if url is None else url,
        tags=("t" + name[:2],),
        favourite=favourite,
        active=active,
    )
    return Record(summary.id, kind, 1, encode_summary(summary).decode())


names = st.lists(
    st.sampled_from(WORDS) | st.text("gitbakzé ", min_size=1, max_size=8), min_size=1, max_size=3
).map(" ".join)
rows = st.tuples(names, st.sampled_from(WORDS), st.booleans(), st.booleans())
items = st.lists(rows, max_size=40)
# What a person types: letters, spaces, backspaces ("<"), a pasted word.
typing = st.lists(st.sampled_from([*"gitbankmlzpré <<<", *WORDS]), max_size=14)


def answers(index: SearchIndex, query: str) -> list[list[str]]:
    views = [
        (None, False, False),
        (ItemKind.PASSWORD, False, False),
        (ItemKind.NOTE, True, False),
        (None, False, True),
    ]
    out = []
    for kind, trash, fav in views:
        hits = index.search(query, kind=kind, trash=trash, favourites_only=fav)
        middle = hits[len(hits) // 2].id if hits else None  # read part first, as a list does
        out.append([item.id for item in hits])
        assert middle is None or middle == out[-1][len(hits) // 2]
    return out


@settings(max_examples=150, deadline=None)
@given(items, typing, st.integers(0, 13))
def test_typing_answers_what_a_fresh_index_answers(
    rows: list[tuple[str, str, bool, bool]], keys: list[str], write_at: int
) -> None:
    records = [record(i, *row) for i, row in enumerate(rows)]
    typed = SearchIndex(records)
    query = ""
    for step, key in enumerate(keys):
        query = query[:-1] if key == "<" else query + key
        if step == write_at and records:  # a write between two keys: the answers start over
            typed.upsert(record(999, "github prod", "bank", True, True))
            records.append(record(999, "github prod", "bank", True, True))
        assert answers(typed, query) == answers(SearchIndex(records), query), query


def test_a_backspace_widens_again_and_a_longer_query_narrows() -> None:
    names = ["my githux", "github", "gi"]
    records = [record(i, name, "u", False, True, "") for i, name in enumerate(names)]
    index = SearchIndex(records)
    assert [i.name for i in index.search("github")] == ["github"]
    assert [i.name for i in index.search("githu")] == ["github", "my githux"]  # not narrowed
    assert [i.name for i in index.search("ghx")] == ["my githux"]  # fuzzy
    assert [i.name for i in index.search("ghxq")] == []
    assert [i.name for i in index.search("ghx")] == ["my githux"]  # remembered, not spoilt
    assert [i.name for i in index.search("g")] == ["gi", "github", "my githux"]
