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
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import casrn as stdnum_casrn

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Characters sellers put between the characters of a word. Sentence punctuation (，。；：！？、) is
# deliberately not a filler: removing it would join unrelated phrases into false matches.
_FILLER_CHARS = (
    " \t\r\n\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff"
    r"*\-_.·•・~|/\\+#@^=`'\"°"
    "\u2190-\u21ff\u2460-\u24ff\u2500-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f"
)
_ZERO_WIDTH_CHARS = "\u200b-\u200f\u2060-\u2064\ufeff\u00ad"
_ZERO_WIDTH = re.compile(f"[{_ZERO_WIDTH_CHARS}]+")
# Characters spelled out with sentence punctuation between them (出售氰，化，钠现货 / 氰、化、钾): runs of
# at least three where every middle element is a lone character. Prose almost never lists lone
# characters like this, and a join matters only when it forms a catalog term, so precision holds.
_SEP = "\\s*[,，、;；]\\s*"
_SPELLED_RUN = re.compile(f"[{_CJK}](?:{_SEP}[{_CJK}](?={_SEP}))+{_SEP}[{_CJK}]")
_SPELLED_SEP = re.compile(_SEP)
_LONE_CHAR = re.compile(f"[,，、;；]\\s*[{_CJK}]\\s*[,，、;；]")
_FILLER_RUN = re.compile(
    f"([{_FILLER_CHARS},，、;；]"
    f"(?:(?<=[{_CJK}][{_FILLER_CHARS}])[{_FILLER_CHARS}]*(?=[{_CJK}])"  # group 2 unset: a filler run
    f"|(?<=[,，、;；])(\\s*[{_CJK}]\\s*[,，、;；])))"  # group 2 set: a lone character (as _LONE_CHAR)
)
"""Runs of fillers between CJK characters (removed) and, in the same scan, whether a lone character
between separators exists (`_LONE_CHAR`: only then is the spelled-out pass worth running). Used with
`split()`, which returns the text between matches and both groups as plain strings: cheaper than a match
object per run.

The pattern starts with a character class, so sre skips ahead over text that cannot start a match with
its quick charset scan instead of trying the whole pattern at every position; the CJK character before a
run is checked by a lookbehind placed after that first character. A filler run never contains a
separator and a lone-character match never contains a filler run (its spaces touch a separator, not two
CJK characters), so neither branch hides a match of the other: the filler runs found are exactly those of
`(?<=[CJK])[fillers]+(?=[CJK])`, and a lone-character match is found when `_LONE_CHAR` would find one."""


def _spelled_out_separators(text: str) -> list[tuple[int, int]]:
    if not _LONE_CHAR.search(text):
        return []  # the usual case, found fast: this pattern starts on a rare separator, not on any CJK
    return [
        (run.start() + m.start(), run.start() + m.end())
        for run in _SPELLED_RUN.finditer(text)
        for m in _SPELLED_SEP.finditer(run.group())
    ]


lower: Callable[[str], str] = str.lower
"""CPython's own `str.lower`, called as an object. mypyc compiles `text.lower()` to a per-character lower
case that misses the final sigma (ΑΣ -> ασ where Python gives ας), and the compiled engine must answer
exactly like its source (tests/unit/test_rules_native.py)."""

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


_TRANSLATE_RE: re.Pattern[str] | None = None
_NFKC_SKIP = frozenset("，；！？：")
"""Full-width punctuation NFKC would change but that no term, CAS number or formula contains; texts whose
only compatibility characters are these skip NFKC (most Chinese listings: ~5 us saved per listing)."""


@lru_cache(maxsize=1)
def _nfkc_re() -> re.Pattern[str]:
    """Characters NFKC changes (full-width letters and digits, circled numbers, ㎏, superscripts ...)."""
    # CJK unified ideographs, Hangul syllables and the private/surrogate areas have no compatibility
    # mappings; skipping them keeps this one-off table build at ~20 ms
    candidates = [*range(0x80, 0x3400), *range(0xA000, 0xAC00), *range(0xF900, 0x10000)]
    codes = [c for c in candidates if chr(c) not in _NFKC_SKIP and unicodedata.normalize("NFKC", chr(c)) != chr(c)]
    return re.compile(f"[{_class_body(codes)}\U0001d400-\U0001d7ff\U0001f100-\U0001f1ff]")


def _translate_re() -> re.Pattern[str]:
    global _TRANSLATE_RE
    if _TRANSLATE_RE is None:
        _TRANSLATE_RE = re.compile(f"[{_class_body(translate_table())}]")
    return _TRANSLATE_RE


def _class_body(codes: Iterable[int]) -> str:
    """A regex character class body for these code points, consecutive ones written as ranges."""
    parts: list[str] = []
    run: list[int] = []
    for c in sorted(set(codes)):
        if run and c != run[-1] + 1:
            parts.append(_range(run[0], run[-1]))
            run = []
        run.append(c)
    if run:
        parts.append(_range(run[0], run[-1]))
    return "".join(parts)


def _range(first: int, last: int) -> str:
    a, b = re.escape(chr(first)), re.escape(chr(last))
    return a if first == last else f"{a}{b}" if last == first + 1 else f"{a}-{b}"


def _needs_translate(text: str) -> bool:
    """Whether `text` has a character the translate table changes (a regex class test is ~10x faster
    than `str.translate` with a 2,700-entry dict, and most listings are already simplified)."""
    return _translate_re().search(text) is not None


_RARE_RE: re.Pattern[str] | None = None
_TABLE: dict[int, str] | None = None


def _rare_re() -> re.Pattern[str]:
    """One class of every character that NFKC, the translate table or the zero-width pass would change.

    Most listings have none: one class scan then replaces the three (NFKC test, translate test and
    zero-width finditer), and `lower()` never produces such a character (checked over all code points in
    tests/unit/test_rules_normalize_speedpaths.py), so the zero-width pass can be skipped too."""
    global _RARE_RE, _TABLE
    if _RARE_RE is None:
        _TABLE = translate_table()
        nfkc = _nfkc_re().pattern[1:-1]  # its class body, with the astral ranges
        _RARE_RE = re.compile(f"[{nfkc}{_class_body(_TABLE)}{_ZERO_WIDTH_CHARS}]")
    return _RARE_RE


@dataclass(slots=True)
class Normalized:
    """A normalised text and the way back to the original: an optional per-character index (only when
    NFKC or lower() changed lengths) and, per removal pass, where characters were dropped. The map is
    applied lazily, so listings without evidence never pay for it."""

    original: str
    text: str
    index: list[int] | None  # normalised-before-removal -> original; None: identity
    stages: list[tuple[list[int], list[int]]] = field(default_factory=list)

    def _to_original(self, pos: int) -> int:
        for bps, cums in reversed(self.stages):
            i = bisect_right(bps, pos) - 1
            if i >= 0:
                pos += cums[i]
        if self.index is not None:
            return self.index[pos] if pos < len(self.index) else len(self.original)
        return pos

    def orig_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the normalised span [start, end)."""
        if self.index is None and not self.stages:
            return start, end
        if end <= start:
            o = self._to_original(start)
            return o, o
        return self._to_original(start), self._to_original(end - 1) + 1


def _per_char(text: str, index: list[int] | None, fn) -> tuple[str, list[int]]:
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        rep = fn(ch)
        src = index[i] if index is not None else i
        out.append(rep)
        idx.extend([src] * len(rep))
    return "".join(out), idx


def _remove(text: str, spans: list[tuple[int, int]], stages: list[tuple[list[int], list[int]]]) -> str:
    """`text` without the characters in `spans` (sorted, disjoint); records the removal in `stages`."""
    pieces: list[str] = []
    bps: list[int] = []
    cums: list[int] = []
    prev = 0
    removed = 0
    for s, e in spans:
        pieces.append(text[prev:s])
        bps.append(s - removed)
        removed += e - s
        cums.append(removed)
        prev = e
    pieces.append(text[prev:])
    stages.append((bps, cums))
    return "".join(pieces)


def normalize(text: str) -> Normalized:
    """Normalise `text` for matching: NFKC, traditional->simplified, lower case, fillers removed
    between CJK characters, zero-width characters removed everywhere."""
    original = text
    index: list[int] | None = None
    rare = False
    if not text.isascii():
        rare_re = _RARE_RE
        if rare_re is None:
            rare_re = _rare_re()
        rare = rare_re.search(text) is not None
        if rare:
            nf = unicodedata.normalize("NFKC", text) if _nfkc_re().search(text) else text
            if len(nf) != len(text):
                nf, index = _per_char(text, None, lambda c: unicodedata.normalize("NFKC", c))
            text = nf.translate(translate_table()) if _needs_translate(nf) else nf
    low = lower(text)
    if len(low) != len(text):
        low, index = _per_char(text, index, str.lower)
    text = low
    stages: list[tuple[list[int], list[int]]] = []
    if not text.isascii():
        if rare:  # otherwise there is no zero-width character (see _rare_re)
            spans = [m.span() for m in _ZERO_WIDTH.finditer(text)]
            if spans:
                text = _remove(text, spans, stages)
        parts: list[str | None] = _FILLER_RUN.split(text)  # [text, match, lone group, text, match, ...]
        lone = False
        if len(parts) > 1:
            first = parts[0]
            assert first is not None
            kept: list[str] = [first]
            bps: list[int] = []
            cums: list[int] = []
            pos = len(first)  # in the text before removal
            removed = 0
            for k in range(1, len(parts), 3):
                matched = parts[k]
                after = parts[k + 2]
                assert matched is not None and after is not None
                if parts[k + 1] is None:  # a filler run: removed
                    bps.append(pos - removed)
                    removed += len(matched)
                    cums.append(removed)
                else:
                    lone = True
                    kept.append(matched)
                kept.append(after)
                pos += len(matched) + len(after)
            if bps:
                text = "".join(kept)
                stages.append((bps, cums))
        # removing fillers never creates a lone character between separators (the removed runs sat between
        # two CJK characters, a lone-character match has no two adjacent), so no lone one before: none after
        if lone:
            spans = _spelled_out_separators(text)
            if spans:
                text = _remove(text, spans, stages)
    return Normalized(original, text, index, stages)


_PLAIN_TERM = re.compile("[\u3400-\u4dbf\u4e00-\u9fff0-9a-z]+")
"""Simplified-looking CJK, digits and lower-case letters: the text of most catalog terms, which normalisation
leaves as it is once the translate table has nothing to change (no NFKC, no fillers, no case)."""


def norm_term(term: str) -> str:
    """Normalise a dictionary term exactly like listing text, so both sides agree. Thousands of catalog
    terms are loaded per rulebook: plain ones skip the full normalisation."""
    if _PLAIN_TERM.fullmatch(term) and not _needs_translate(term):
        return term
    return normalize(term).text


CAS_RE = re.compile(r"(\d(?<![\d-]\d)\d{1,6})\s*-\s*(\d{2})\s*-\s*(\d)(?![\d-])")
r"""NNNNNNN-NN-N not inside a longer run of digits and dashes. Same matches as
`(?<![\d-])(\d{2,7})\s*-...`, but starting with a digit lets sre skip to the next digit with its quick
charset scan; the character before the number is checked by a lookbehind after the first digit."""
_CAS_TAIL = re.compile(r"-\s*\d\d\s*-\s*\d(?![\d-])")
"""The end of every CAS_RE match: it starts with a literal, which sre finds fast, and only about one listing
in six has it (dates like 2024-05-01 are cut by the last part), so most texts skip CAS_RE."""
CAS_FORM_RE = re.compile(r"[0-9]{2,7}-[0-9]{2}-[0-9]")


def cas_valid(cas: str) -> bool:
    """Whether `cas` is a CAS registry number written NNNNNNN-NN-N whose check digit is right.

    Filters dates and phone fragments that look like CAS numbers. The check digit is stdnum's
    (`stdnum.casrn`); the dashed form is required here first because stdnum would also accept the
    digits run together, which listing text and the catalogs never use for a CAS number.
    """
    cas = cas.strip()
    return CAS_FORM_RE.fullmatch(cas) is not None and stdnum_casrn.is_valid(cas)


def find_cas(text: str) -> list[tuple[int, int, str]]:
    """Valid CAS numbers in normalised text as (start, end, canonical 'NNN-NN-N')."""
    if "-" not in text or _CAS_TAIL.search(text) is None:
        return []
    found: list[tuple[int, int, str]] = []
    seen = _CAS_SEEN
    for m in CAS_RE.finditer(text):
        cas = f"{int(m.group(1))}-{m.group(2)}-{m.group(3)}"
        ok = seen.get(cas)
        if ok is None:
            if len(seen) >= 4096:
                seen.clear()
            ok = seen[cas] = cas_valid(cas)
        if ok:
            found.append((m.start(), m.end(), cas))
    return found


_CAS_SEEN: dict[str, bool] = {}
"""cas_valid() per candidate (bounded): the same numbers recur in many listings."""
