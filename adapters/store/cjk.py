"""Chinese-aware tokens for the embedded full-text index.

SQLite's FTS5 has no Chinese word segmenter; overlapping character bigrams (what Elasticsearch's
`cjk_bigram` filter does) find any two-or-more-character Chinese term without a dictionary, which
matters for chemical names and brand-new evasion words that no dictionary knows. Latin words and
numbers (CAS numbers, formulas, model names) stay whole.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+(?:[-.][0-9a-z]+)*")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_FILLER = re.compile(rf"(?<=[{_CJK}])[\s*/\\_.·•|~+\-]+(?=[{_CJK}])")
"""Separators sellers put between Chinese characters to dodge keyword filters (氰 化 钠, 氰*化*钠)."""


@lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


_WIDE = re.compile("[\u3000\uff01-\uff5e]")
_WIDE_TO_NARROW = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
"""Full-width ASCII and the ideographic space -> what NFKC makes of them (their compatibility mapping)."""


def _nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, faster on Chinese text. Its full-width punctuation (，：（）)
    sends NFKC down its slow path for the whole string; those characters are replaced by their
    compatibility mapping first (which leaves the NFKC form unchanged: it is defined on the full
    compatibility decomposition), and the exact NFKC check then usually finds nothing left to do."""
    if _WIDE.search(text) is not None:
        text = _WIDE.sub(lambda m: _WIDE_TO_NARROW[m.group()], text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    """Full-width to half-width, traditional to simplified and case folding, so ＮａＣＮ and nacn, 氰化鈉
    and 氰化钠 search alike."""
    return _t2s()(_nfkc(text)).lower()


TOKENS_VERSION = 2
"""Bump when `normalize`/`tokens` change what they produce: the embedded store deletes full-text rows
by recomputing their old tokens, so an index built by other code is rebuilt on open."""


def fingerprint() -> str:
    """What the tokens of a text depend on: this module's rules and the OpenCC conversion tables."""
    import opencc

    return f"cjk{TOKENS_VERSION}/opencc{getattr(opencc, '__version__', '?')}"


def normalize(text: str) -> str:
    """`fold`, then the separators sellers put between Chinese characters removed: the text both stores
    index and the form of a query term they look up (氰 * 化-钠 and 氰化鈉 both become 氰化钠)."""
    return _FILLER.sub("", fold(text))


_JOIN = "\x01"
"""Joins the texts `normalize_all` folds in one pass: a control character that no step touches (not
whitespace, not a separator `_FILLER` removes, not Chinese, never part of an OpenCC phrase, uncased),
so every text comes back exactly as `normalize` makes it on its own."""


def normalize_all(texts: list[str]) -> list[str]:
    """`[normalize(t) for t in texts]` in one pass over all of them (the per-call cost of NFKC, OpenCC
    and the regex dominates for the short texts of a lead); texts that contain the joiner themselves
    are normalized one by one."""
    if len(texts) < 2 or any(_JOIN in t for t in texts):
        return [normalize(t) for t in texts]
    return normalize(_JOIN.join(texts)).split(_JOIN)


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for run in _RUN.findall(normalize(text)):
        if _CJK_RUN.fullmatch(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def index_text(*parts: str | None) -> str:
    """The token stream stored in the FTS table (space separated, so FTS5's unicode61 splits it)."""
    return " ".join(t for p in parts if p for t in tokens(p))


def fts_phrase(text: str) -> str | None:
    """An FTS5 phrase for one word or quoted phrase of the search language: its bigrams (and Latin
    words) at consecutive positions, so 氰化钠 does not match 氰化物 ... 钠盐. None when the text has
    nothing searchable."""
    toks = tokens(text)
    return '"' + " ".join(toks) + '"' if toks else None


def highlight(text: str | None, terms: Iterable[str], *, width: int = 60, max_fragments: int = 3) -> list[str]:
    """HTML fragments of `text` around the given words, escaped, with <em> marks: crawled text is
    hostile, so nothing of it reaches a page unescaped. Words of a phrase are marked one by one."""
    words = {fold(w) for t in terms for w in t.split() if w.strip()}
    if not text or not words:
        return []
    folded = fold(text)
    if len(folded) != len(text):  # NFKC changed lengths (rare ligatures): match on the original
        folded = text.lower()
    spans: list[tuple[int, int]] = []
    for term in words:
        start = folded.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + len(term))
    if not spans:
        return []
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    fragments = []
    for s, e in merged[:max_fragments]:
        lo, hi = max(0, s - width // 2), min(len(text), e + width // 2)
        fragments.append(
            ("…" if lo else "")
            + html.escape(text[lo:s])
            + "<em>"
            + html.escape(text[s:e])
            + "</em>"
            + html.escape(text[e:hi])
            + ("…" if hi < len(text) else "")
        )
    return fragments
