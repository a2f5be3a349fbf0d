"""The demo apps' pure parts: form validation, CSRF tokens, record decoding, summaries and escaping."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from demo.message_list.app import HERE as MESSAGE_LIST_DIR
from demo.message_list.inbox import Inbox
from demo.message_list.messages import Received, decode, show
from demo.message_list.render import Renderer, json_tree, sse_lines
from demo.users_app.csrf import CsrfGuard
from demo.users_app.validation import InvalidForm, parse_new_user, parse_user_id

VALID = {"first_name": " Ada ", "last_name": "Lovelace", "email": "ada@example.com", "password": "analytical"}


def test_a_valid_form_is_trimmed_and_keeps_the_password_out_of_repr() -> None:
    user = parse_new_user(VALID)
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@example.com")
    assert "analytical" not in repr(user)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"first_name": "  "}, "First name is required."),
        ({"last_name": "x" * 101}, "Last name must be at most 100 characters (it has 101)."),
        ({"first_name": "Ada\nLovelace"}, "First name must not contain control characters"),
        ({"email": "ada.example.com"}, "Email must look like name@example.com."),
        ({"email": "ada@example"}, "Email must look like name@example.com."),
        ({"email": "a b@example.com"}, "Email must look like name@example.com."),
        ({"email": "a@" + "b" * 250 + ".com"}, "Email must be at most 254 characters."),
        ({"password": "short"}, "Password must be at least 8 characters."),
        ({"password": "p" * 129}, "Password must be at most 128 characters."),
    ],
)
def test_each_invalid_field_gets_a_sentence_saying_what_to_do(change: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_new_user({**VALID, **change})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem)


def test_an_empty_form_lists_every_problem_at_once() -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_new_user({})
    assert caught.value.problems == [
        "First name is required.",
        "Last name is required.",
        "Email is required.",
        "Password must be at least 8 characters.",
    ]


def test_markup_in_a_name_is_accepted_as_text() -> None:
    # Refusing it would hide the real defence, escaping on output, from the browser tests.
    assert parse_new_user({**VALID, "first_name": "<script>alert(1)</script>"}).first_name.startswith(
        "<script>"
    )


@pytest.mark.parametrize("text", ["", "0", "-1", "1.5", "abc", "2147483648", "١٢"])
def test_user_ids_must_be_positive_int4(text: str) -> None:
    with pytest.raises(InvalidForm, match="positive whole number"):
        parse_user_id({"id": text})


def test_user_id() -> None:
    assert parse_user_id({"id": " 42 "}) == 42


def test_csrf_tokens_belong_to_one_session() -> None:
    guard = CsrfGuard(secret=b"s" * 32)
    session, other = guard.new_session(), guard.new_session()
    token = guard.token_for(session)
    assert guard.accepts(session, token)
    assert not guard.accepts(other, token)
    assert not guard.accepts(session, None)
    assert not guard.accepts(None, token)
    assert not guard.accepts(session, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not CsrfGuard(secret=b"t" * 32).accepts(session, token)


def _record(key: bytes | None, value: bytes | None, **extra: object) -> Received:
    return Received(
        topic="users_connector.public.users", partition=0, offset=7, timestamp_ms=1_700_000_000_123,
        key=key, value=value, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


KEY = orjson.dumps({"schema": {"type": "struct"}, "payload": {"id": 5}})
CREATE = orjson.dumps(
    {
        "schema": {"type": "struct"},
        "payload": {
            "before": None,
            "after": {"id": 5, "first_name": "<script>alert(1)</script>"},
            "source": {"schema": "public", "table": "users"},
            "op": "c",
        },
    }
)


def test_a_debezium_record_is_summarized_as_op_table_and_key() -> None:
    shown = show(_record(KEY, CREATE, headers=(("trace", b"abc"), ("empty", None))), limit=1 << 20)
    assert (shown.summary.op, shown.summary.label, shown.summary.table, shown.summary.key) == (
        "c", "create", "public.users", "id=5",
    )  # fmt: skip
    assert shown.headers == (("trace", "abc"), ("empty", "null"))
    assert shown.timestamp == "2023-11-14 22:13:20.123 UTC"


def test_tombstones_text_bytes_and_oversized_values_are_shown_as_such() -> None:
    tombstone = show(_record(KEY, None), limit=100).summary
    assert (tombstone.label, tombstone.table, tombstone.key) == ("tombstone", "public.users", "id=5")
    assert show(_record(None, b"hello"), limit=100).summary.label == "not JSON"
    assert show(_record(None, b"\xff\xfe\x00"), limit=100).summary.label == "not JSON (bytes)"
    assert show(_record(None, b"[" * 200), limit=100).summary.label == "too large to show"
    assert show(_record(None, b'{"a": 1}'), limit=100).summary.label == "JSON"
    assert decode(b"\xff\x00", limit=10).text == "ff 00"
    assert decode(None, limit=10).kind == "absent"


def test_the_json_tree_escapes_keys_and_values() -> None:
    html = str(json_tree({"<b>": "<script>alert(1)</script>", "n": [1, True, None]}))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;" in html


def test_a_rendered_record_escapes_everything_and_opens_the_row_images() -> None:
    html = Renderer(templates=MESSAGE_LIST_DIR / "templates").message(
        show(_record(KEY, CREATE), limit=1 << 20)
    )
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") == 2  # the tree and the raw JSON
    assert '<span class="name">after</span>' in html
    assert 'data-op="c"' in html


def test_server_sent_events_split_lines_into_data_fields() -> None:
    text = "".join(sse_lines("record", "a\nb\r\nc", event_id=3))
    assert text == "id: 3\nevent: record\ndata: a\ndata: b\ndata: c\n\n"


def test_the_inbox_keeps_the_newest_and_wakes_waiters() -> None:
    async def scenario() -> None:
        inbox = Inbox(keep=2, max_chars=1000)
        inbox.attach(asyncio.get_running_loop())
        for html in ("one", "two", "three"):
            inbox.add(html)
        assert [entry.html for entry in inbox.newest_first()] == ["three", "two"]
        assert [entry.seq for entry in inbox.after(2)] == [3]
        waiter = asyncio.create_task(inbox.wait_after(3, timeout=5))
        await asyncio.sleep(0)
        await asyncio.to_thread(inbox.add, "four")  # from another thread, as the reader adds
        await asyncio.wait_for(waiter, 2)
        inbox.add("x" * 600)
        inbox.add("y" * 600)  # over max_chars: only the newest stays
        assert [entry.html[0] for entry in inbox.newest_first()] == ["y"]

    asyncio.run(scenario())
