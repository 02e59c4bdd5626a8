"""Text normalisation before matching, with an offset map back to the original text.

Sellers of regulated goods evade keyword filters with full-width characters (ＮａＣＮ), traditional
characters (氰化鈉), and filler characters inside words (氰 化 钠, 氰*化*钠, 氰\u200b化钠). Matching
runs on a normalised copy; evidence must still point at the text the seller wrote, so every
normalised character remembers the index of the original character it came from.

The hot path is a handful of C-level string operations on the whole text (NFKC, a translate table,
lower(), one regex); the per-character Python fallbacks only run when a step changes the length.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Characters sellers put between the characters of a word. Sentence punctuation (，。；：！？、) is
# deliberately not a filler: removing it would join unrelated phrases into false matches.
_FILLER_CHARS = (
    " \t\r\n\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff"
    r"*\-_.·•・~|/\\+#@^=`'\"°"
    "\u2190-\u21ff\u2460-\u24ff\u2500-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f"
)
_FILLER_RUN = re.compile(f"(?<=[{_CJK}])[{_FILLER_CHARS}]+(?=[{_CJK}])")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]+")

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−－﹣"), "-")


@lru_cache(maxsize=1)
def translate_table() -> dict[int, str]:
    """Traditional -> simplified per character (from OpenCC t2s) plus dash unification.

    Built once per process: converting all CJK code points in one OpenCC call takes ~0.1 s, after
    which conversion is a single `str.translate` that never changes the length (offsets stay 1:1).
    """
    import opencc

    table: dict[int, str] = dict(_DASHES)
    chars = [chr(c) for c in range(0x4E00, 0xA000)] + [chr(c) for c in range(0x3400, 0x4DC0)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) == len(chars):
        for src, dst in zip(chars, converted, strict=True):
            if dst != src and len(dst) == 1:
                table[ord(src)] = dst
    return table


@dataclass(slots=True)
class Normalized:
    """A normalised text and, for each of its characters, the index of the original character."""

    original: str
    text: str
    index: list[int] | None  # None: identity map (no step changed positions)

    def orig_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the normalised span [start, end)."""
        if self.index is None:
            return start, end
        if end <= start:
            o = self.index[start] if start < len(self.index) else len(self.original)
            return o, o
        return self.index[start], self.index[end - 1] + 1


def _per_char(text: str, index: list[int] | None, fn) -> tuple[str, list[int]]:
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        rep = fn(ch)
        src = index[i] if index is not None else i
        out.append(rep)
        idx.extend([src] * len(rep))
    return "".join(out), idx


def normalize(text: str) -> Normalized:
    """Normalise `text` for matching: NFKC, traditional->simplified, lower case, fillers removed
    between CJK characters, zero-width characters removed everywhere."""
    original = text
    index: list[int] | None = None
    if not text.isascii():
        nf = unicodedata.normalize("NFKC", text)
        if len(nf) != len(text):
            nf, index = _per_char(text, None, lambda c: unicodedata.normalize("NFKC", c))
        text = nf.translate(translate_table())
    low = text.lower()
    if len(low) != len(text):
        low, index = _per_char(text, index, str.lower)
    text = low
    if not text.isascii():
        for pattern in (_ZERO_WIDTH, _FILLER_RUN):
            spans = [m.span() for m in pattern.finditer(text)]
            if not spans:
                continue
            if index is None:
                index = list(range(len(text)))
            pieces: list[str] = []
            new_index: list[int] = []
            prev = 0
            for s, e in spans:
                pieces.append(text[prev:s])
                new_index.extend(index[prev:s])
                prev = e
            pieces.append(text[prev:])
            new_index.extend(index[prev:])
            text = "".join(pieces)
            index = new_index
    return Normalized(original, text, index)


def norm_term(term: str) -> str:
    """Normalise a dictionary term exactly like listing text, so both sides agree."""
    return normalize(term).text


CAS_RE = re.compile(r"(?<![\d-])(\d{2,7})\s*-\s*(\d{2})\s*-\s*(\d)(?![\d-])")


def cas_valid(cas: str) -> bool:
    """CAS registry number check digit: digits (excluding the check digit) weighted 1,2,3... from the
    right; sum mod 10 must equal the check digit. Filters dates/phone fragments that look like CAS."""
    m = re.fullmatch(r"(\d{2,7})-(\d{2})-(\d)", cas.strip())
    if not m:
        return False
    digits = (m.group(1) + m.group(2))[::-1]
    total = sum((i + 1) * int(d) for i, d in enumerate(digits))
    return total % 10 == int(m.group(3))


def find_cas(text: str) -> list[tuple[int, int, str]]:
    """Valid CAS numbers in normalised text as (start, end, canonical 'NNN-NN-N')."""
    if "-" not in text:
        return []
    found = []
    for m in CAS_RE.finditer(text):
        cas = f"{int(m.group(1))}-{m.group(2)}-{m.group(3)}"
        if cas_valid(cas):
            found.append((m.start(), m.end(), cas))
    return found
