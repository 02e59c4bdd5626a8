"""`sweep.text`: hostile listing text made safe for a terminal, with hand-written expectations."""

from __future__ import annotations

import json
import unicodedata

import orjson
import pytest

from sweep.text import (
    CELL_LIMIT,
    is_terminal_safe,
    safe_lines,
    safe_text,
    terminal_safe_json,
    terminal_safe_json_bytes,
    truncation_mark,
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("出售高纯氰化钠 98%", "出售高纯氰化钠 98%"),  # ordinary text is untouched
        ("[/][bold red]点我[link=http://x]", "[/][bold red]点我[link=http://x]"),  # markup is text, kept
        ("清屏\x1b[2J\x1b[H标题", "清屏标题"),  # CSI: erase screen, cursor home
        ("\x1b[31;1m红\x1b[0m", "红"),  # SGR colours
        ("\x1b]0;伪造窗口标题\x07商品", "商品"),  # OSC window title, BEL-terminated
        ("\x1b]8;;http://evil.example/\x1b\\官方旗舰店\x1b]8;;\x1b\\", "官方旗舰店"),  # OSC-8 hyperlink
        ("\x1bP+q544e\x1b\\x", "x"),  # DCS (terminal query)
        ("a\x1bcb\x1b7c\x1b(Bd", "abcd"),  # reset, save cursor, charset selection
        ("\x1b]0;never terminated", "0;never terminated"),  # only the introducer goes; the rest is text
        ("尾巴\x1b", "尾巴"),  # a lone ESC at the end
        ("a\x9b2Jb\x9d0;t\x9cc", "abc"),  # 8-bit CSI and OSC (C1)
        ("a\x85b", "a↵b"),  # NEL is a line break
        ("n\x00u\x07l\x08l\x7f", "null"),  # NUL, BEL, backspace, DEL
        ("\u202e品牌\u202c正品", "品牌正品"),  # RTL override / pop
        ("\u2066甲\u2069\u2067乙\u2069\u2068丙\u2069", "甲乙丙"),  # isolates
        ("\u200f\u200e\u061c字", "字"),  # directional marks
        ("氰\u200b化\u200d钠\u2060\ufeff\u00ad", "氰化钠"),  # zero-width space/joiner, word joiner, BOM, soft hyphen
        ("\U000e0041\U000e0042标签", "标签"),  # tag characters
        ("\u3164\u115f空白", "空白"),  # Hangul fillers render as blanks
        ("❤\ufe0f", "❤\ufe0f"),  # a variation selector only picks the emoji glyph: kept
        ("s\ud800x\udfff", "s\ufffdx\ufffd"),  # lone surrogates (cannot be encoded) become U+FFFD
        ("第一行\n第二行\r\n第三行\r第四行\u2028五", "第一行↵第二行↵第三行↵第四行↵五"),
        ("列\t列", "列 列"),
        ("e\u0301\u0302\u0303\u0304\u0305\u0306", "e\u0301\u0302\u0303"),  # a pile of combining marks is capped
        (None, ""),
        (42, "42"),
    ],
)
def test_safe_text_one_line(raw: object, shown: str) -> None:
    assert safe_text(raw) == shown


def test_multiline_keeps_line_breaks_and_expands_tabs() -> None:
    assert safe_lines("甲\r\n乙\r丙\n\t丁\x1b[2K\u2029戊") == "甲\n乙\n丙\n    丁\n戊"


def test_long_text_is_bounded_with_a_visible_marker() -> None:
    shown = safe_text("氰" * 100_000)
    assert len(shown) <= CELL_LIMIT
    assert shown.endswith("…（另有 99714 字）")
    assert shown == "氰" * (CELL_LIMIT - len("…（另有 100000 字）")) + "…（另有 99714 字）"
    assert safe_text("abcdef", limit=None) == "abcdef"
    assert safe_text("a" * 20, limit=12) == "aa…（另有 18 字）"  # 12 characters, marker included
    assert safe_text("a" * 20, limit=5) == "a…（另有 19 字）"  # a limit under the marker keeps one character
    assert truncation_mark(3) == "…（另有 3 字）"


def test_bound_counts_characters_left_after_cleaning() -> None:
    # 1000 escape sequences and 10 characters: nothing is cut, the sequences were never text
    assert safe_text("\x1b[2J" * 1000 + "0123456789", limit=20) == "0123456789"


def test_hostile_input_stays_linear_in_time() -> None:
    """Unterminated string sequences back to back must not make the cleaner quadratic (a 100 kB title
    of them is cleaned like any other); the expectation is about the result, the size makes a slow
    implementation visible as a hang caught by the test timeout."""
    assert safe_text("\x9d" * 200_000 + "x", limit=None) == "x"
    assert safe_text("\x1b]" * 100_000 + "y", limit=None) == "y"


def test_every_format_character_is_removed() -> None:
    """Whatever Unicode version Python ships, no format (Cf) character survives: that class holds the
    bidi controls, zero-width joiners and the other invisible characters that disguise text."""
    format_chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    assert safe_text("".join(format_chars), limit=None) == ""
    controls = "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)])
    assert is_terminal_safe(safe_text(controls, limit=None))
    assert is_terminal_safe(safe_lines(controls, limit=None))


def test_is_terminal_safe() -> None:
    assert is_terminal_safe("甲\n乙 [bold]")
    for bad in ("\x1b", "\x9b", "\t", "\r", "\u202e", "\u2066", "\x00", "\ud800", "\u2028"):
        assert not is_terminal_safe(f"x{bad}y"), repr(bad)


def test_json_stays_faithful_and_cannot_act_on_a_terminal() -> None:
    doc = {"title": "a\x1b[2J\x9b31m\u202e\u2028\u200bb\x7f", "shop": "鑫达化工"}
    for dumped in (orjson.dumps(doc).decode(), json.dumps(doc, ensure_ascii=False)):
        safe = terminal_safe_json(dumped)
        assert json.loads(safe) == doc and orjson.loads(safe) == doc
        assert "\\u001b" in safe.lower()  # ESC was escaped by the JSON encoder itself
        assert is_terminal_safe(safe) and "\x7f" not in safe
        assert "鑫达化工" in safe  # readable text stays readable
    assert terminal_safe_json_bytes(orjson.dumps(doc)) == terminal_safe_json(orjson.dumps(doc).decode()).encode()
    plain = orjson.dumps({"title": "出售氰化钠"})
    assert terminal_safe_json_bytes(plain) is plain
