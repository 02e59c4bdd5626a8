"""Untrusted text made safe for a terminal.

Listing titles, descriptions, shop names and complaint texts are written by whoever runs the shop, so
everything sweep prints to a terminal from them goes through `safe_text` first. A terminal obeys what
it is sent: ESC/CSI/OSC sequences clear the screen, rename the window or plant OSC-8 hyperlinks whose
target differs from their text; C0/C1 controls move the cursor and overwrite what staff already read;
bidi overrides and isolates show characters in a different order than they are stored (a shop name can
read as someone else's); zero-width and other format characters make different strings look equal; a
100 kB title buries every row after it. `safe_text` removes all of that and bounds the length with a
visible marker, so what staff see is what the listing says, and nothing else.

This module only cleans *strings*. The other half of the rule lives where text is printed: a cleaned
string may still contain `[bold]` or `[/]`, which is harmless text that Rich would read as markup, so
the commands wrap it in `rich.text.Text` and never pass it where markup is parsed.

JSON output is a different case: JSON escaping already makes C0 controls (ESC included) harmless and
keeps the data faithful. `terminal_safe_json` additionally escapes the few characters JSON may carry raw
that a terminal would still act on (C1 controls, bidi controls, line separators), which is the same
JSON value spelled more cautiously.

Pure standard library: the core imports nothing outer.
"""

from __future__ import annotations

import re

CELL_LIMIT = 300
"""Characters of one table cell or inline value (a title, a shop name, one piece of evidence)."""
BLOCK_LIMIT = 2000
"""Characters of a multi-line value (a description, a note)."""
MESSAGE_LIMIT = 500
"""Characters of an error message that quotes input (a bad line, a bad field)."""
RAW_LIMIT = 1_000_000
"""Characters looked at at all; beyond this a string is cut before cleaning (it is far past any limit)."""

LINE_BREAK_MARK = "↵"
"""Stands for a line break inside a one-line value, so staff see that the listing had one."""
ELLIPSIS = "…"


def truncation_mark(hidden: int) -> str:
    """Visible end of a cut value: how many characters were left out, so a cut is never mistaken for the
    whole text."""
    return f"{ELLIPSIS}（另有 {hidden} 字）"


# Escape sequences, removed whole (introducer, parameters and payload). String sequences (OSC, DCS, SOS,
# PM, APC) end at BEL or ST (ESC \ or 0x9C); their payload stops at any other introducer, which keeps
# the scan linear on hostile input. An unterminated string sequence loses only its introducer (the rest
# is shown as the harmless text it then is); a CSI cut short loses its introducer and parameters.
_ST = r"(?:\x07|\x1b\\|\x9c)"
_STRING_BODY = r"[^\x07\x1b\x90\x98\x9b-\x9f]*"
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI  ESC [ params intermediates final  (colours, cursor, \x1b[2J)
    rf"|\x1b[\]PX^_]{_STRING_BODY}{_ST}"  # OSC/DCS/SOS/PM/APC  (window title, OSC-8 hyperlinks)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    rf"|[\x90\x98\x9d\x9e\x9f]{_STRING_BODY}{_ST}"  # 8-bit string sequences
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence (ESC c reset, ESC 7 save cursor, ESC ( B), or a lone ESC
)

_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")

# Removed: C0 and C1 controls (TAB and LF are dealt with before), DEL, every format character (Cf: bidi
# embeddings/overrides/isolates and marks, zero-width space/joiners, word joiner, invisible operators,
# soft hyphen, BOM, interlinear annotations, tag characters ...) and the other invisible
# default-ignorables that render as nothing (combining grapheme joiner, Hangul fillers, Khmer inherent
# vowels, Mongolian free variation selectors). Variation selectors U+FE00-FE0F and U+E0100-E01EF stay:
# they only pick a glyph (emoji or ideograph variant) and cannot reorder or hide text.
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0e-\x1f\x7f-\x9f"
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"
    "]+"
)
_SURROGATES = re.compile("[\ud800-\udfff]")
"""A lone surrogate cannot be encoded for the terminal (printing it raises); shown as U+FFFD."""

# More than a few combining marks on one character only stack glyphs over neighbouring lines ("zalgo").
_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK_PILE = re.compile(f"([{_COMBINING}]{{3}})[{_COMBINING}]+")


def safe_text(value: object, *, limit: int | None = CELL_LIMIT, multiline: bool = False) -> str:
    """`value` as text that prints as exactly what it says: no escape sequences, control, bidi or
    invisible format characters, at most `limit` characters (then a visible "…（另有 N 字）").

    One-line values (table cells, the default) show a line break as "↵" and a tab as a space, so a
    cell cannot break a table's rows; with `multiline=True` line breaks (CR, CRLF, VT, FF, NEL, U+2028,
    U+2029) become "\\n" and tabs four spaces. `None` is the empty string; other objects use `str()`.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    cut = 0
    if len(text) > RAW_LIMIT:
        cut, text = len(text) - RAW_LIMIT, text[:RAW_LIMIT]
    if text.isascii() and text.isprintable() and cut == 0:  # the common case: nothing to clean
        return _bounded(text, limit, 0)
    text = _ESCAPES.sub("", text)
    text = _LINE_BREAKS.sub("\n" if multiline else LINE_BREAK_MARK, text)
    text = text.replace("\t", "    " if multiline else " ")
    text = _INVISIBLE.sub("", text)
    text = _SURROGATES.sub("\ufffd", text)
    text = _MARK_PILE.sub(r"\1", text)
    return _bounded(text, limit, cut)


def _bounded(text: str, limit: int | None, already_cut: int) -> str:
    """`text` cut to at most `limit` characters including the marker (a limit shorter than the marker
    still keeps one character and the whole marker)."""
    if limit is None or (len(text) <= limit and not already_cut):
        return text
    kept = text[: max(limit - len(truncation_mark(len(text) + already_cut)), 1)]
    return kept + truncation_mark(len(text) - len(kept) + already_cut)


def safe_lines(value: object, *, limit: int | None = BLOCK_LIMIT) -> str:
    """A multi-line value (description, note, log tail) cleaned by `safe_text`, line breaks kept."""
    return safe_text(value, limit=limit, multiline=True)


def is_terminal_safe(text: str) -> bool:
    """True when printing `text` cannot act on a terminal: no ESC, no C0/C1 control other than LF, no
    bidi control, format character or lone surrogate. What `safe_text` guarantees; used by tests."""
    rest = text.replace("\n", "")
    return not (_INVISIBLE.search(rest) or _SURROGATES.search(rest) or re.search("[\t\r\x0b\x0c\u2028\u2029]", rest))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def terminal_safe_json(line: str) -> str:
    """A JSON document with the characters JSON allows raw but a terminal acts on (DEL, C1 controls such
    as the 8-bit CSI 0x9B, bidi controls, zero-width and line/paragraph separators) written as `\\uXXXX`.

    Faithful: the result decodes to the same value. Safe to apply to a whole document because these
    characters can only occur inside JSON strings, where `\\uXXXX` means the character itself. C0
    controls are already escaped by every JSON encoder (orjson and `json.dumps(ensure_ascii=False)`).
    """
    if line.isascii():
        return line
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def terminal_safe_json_bytes(line: bytes) -> bytes:
    """`terminal_safe_json` for UTF-8 JSON bytes as orjson writes them (the `sweep scan` hot path: a
    document with nothing to escape is returned as is without decoding)."""
    if line.isascii():
        return line
    text = line.decode("utf-8")
    return terminal_safe_json(text).encode("utf-8") if _JSON_UNSAFE.search(text) else line
