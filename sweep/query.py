"""The search language of sweep: what a search string typed by enforcement staff means.

Both lead stores (the embedded SQLite store and Elasticsearch/OpenSearch) translate the same parsed
form, `SearchQuery`, so a search finds the same leads whichever store a deployment runs on. This
module is the definition; it is pure (standard library only) so the core owns it.

User-facing definition
----------------------

* **Words.** ``氰化钠 现货`` finds leads containing 氰化钠 *and* 现货. A word matches as written:
  its characters must occur next to each other, so 氰化钠 finds 出售氰化钠 but not 氰化物 … 钠盐.
  Chinese needs no spaces: any run of two or more characters is found inside longer text.
  Searched text: listing title, description and shop name, the evidence (and the catalog entry it
  was recognised as, so 氰化钠 finds a listing that only gives CAS 143-33-9), the rule's Chinese
  title and the triage note.
* **Spelling variants are the same word.** Traditional and simplified characters (氰化鈉 = 氰化钠),
  full-width and half-width letters and digits (ＮａＣＮ = NaCN), upper and lower case. Separators that
  sellers put between Chinese characters to dodge filters (氰 * 化-钠, 氰/化/钠) are ignored.
* **"Quoted phrases"** match their words in this order, next to each other: ``"高纯 氰化钠"``.
  Quotes also make ``OR``, ``-`` and ``shop:`` literal text. Chinese quotes “…” work too; a quote
  left open runs to the end of the search.
* **-Exclusion.** ``氰化钠 -检测`` finds leads with 氰化钠 that do not contain 检测;
  ``-"检测 仪器"`` excludes a phrase. A search of exclusions only (``-检测``) returns every lead
  without the word. A ``-`` inside a word (143-33-9) is part of the word.
* **OR** (upper case) between words or phrases means either: ``氰化钠 OR 氰化钾 现货`` finds
  (氰化钠 or 氰化钾) and 现货. OR binds tighter than the implicit AND. An ``OR`` that does not stand
  between two words or phrases (at the start, the end, next to an exclusion or a field filter) is
  ignored; lower-case ``or`` is an ordinary word.
* **Field filters** restrict to exact values, like the filter options of ``sweep leads search``:
  ``family:chem.toxic``, ``severity:high``, ``status:new``, ``platform:taobao``, ``region:广东``,
  ``category:chem``; ``shop:…`` matches a shop id exactly or a phrase inside the shop name
  (``shop:华东化工``). Repeating a field means either value (``status:new status:triaged``);
  different fields must all hold. ``-family:ad.absolute_terms`` excludes. Values with spaces are
  quoted: ``shop:"华东 化工"``. The colon may be full-width (``shop：华东``). An unknown name before a
  colon (``CAS:143-33-9``) is searched as ordinary text.
* **Ignored:** words without a letter, digit or Chinese character (``%``, ``-``, ``""``).
* **Known limit:** search at least two Chinese characters. A single character (钠) is found only
  where it stands alone between non-Chinese text; on an Elasticsearch without the analysis-common
  module it is found anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FIELDS: tuple[str, ...] = ("family", "severity", "status", "platform", "region", "category", "shop")
"""Field names a search string may filter on (``field:value``)."""

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u300c": '"', "\u300d": '"'})
"""Chinese quotation marks “” 「」 typed by an input method count as ASCII quotes."""

_FIELD_ALT = "|".join(FIELDS)
_ITEM = re.compile(
    rf"""(?P<neg>-?)(?:
        (?P<field>{_FIELD_ALT}):(?:"(?P<fquoted>[^"]*)"?|(?P<fvalue>[^\s"]+))
      | "(?P<quoted>[^"]*)"?
      | (?P<word>\S+)
    )""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Text:
    """Words that must occur next to each other, in order (one word, or a quoted phrase)."""

    value: str
    quoted: bool = False

    def __str__(self) -> str:
        return f'"{self.value}"' if self.quoted else self.value


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """`field:value`: an exact value of a lead attribute (`shop` also matches a phrase of the name)."""

    field: str
    value: str

    def __str__(self) -> str:
        value = f'"{self.value}"' if any(c.isspace() for c in self.value) else self.value
        return f"{self.field}:{value}"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search: every group in `all_of` must match (a group is satisfied by any one of its
    alternatives), no text in `none_of` may match, and the field filters hold (values of one field
    are alternatives, different fields all apply)."""

    all_of: tuple[tuple[Text, ...], ...] = ()
    none_of: tuple[Text, ...] = ()
    filters: tuple[FieldFilter, ...] = ()
    excluded: tuple[FieldFilter, ...] = ()

    @property
    def has_text(self) -> bool:
        return bool(self.all_of or self.none_of)

    @property
    def positive_texts(self) -> list[Text]:
        """Texts a matching lead may contain (what a highlighter marks)."""
        return [t for group in self.all_of for t in group]

    def values(self, field_name: str) -> list[str]:
        """Required values of one field (alternatives)."""
        return [f.value for f in self.filters if f.field == field_name]

    def excluded_values(self, field_name: str) -> list[str]:
        return [f.value for f in self.excluded if f.field == field_name]

    def __str__(self) -> str:
        parts = [" OR ".join(map(str, group)) for group in self.all_of]
        parts += [f"-{t}" for t in self.none_of]
        parts += [str(f) for f in self.filters]
        parts += [f"-{f}" for f in self.excluded]
        return " ".join(parts)


@dataclass(slots=True)
class _Item:
    negated: bool
    text: Text | None = None
    filter: FieldFilter | None = None
    is_or: bool = False


def _searchable(value: str) -> bool:
    """A word counts if it has a letter, a digit or a Chinese character (str.isalnum covers all)."""
    return any(c.isalnum() for c in value)


def parse(text: str | None) -> SearchQuery:
    """Parse a search string (never fails: any input has a meaning, see the module docstring)."""
    if not text:
        return SearchQuery()
    source = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    items: list[_Item] = []
    for m in _ITEM.finditer(source):
        negated = bool(m["neg"])
        if m["field"] is not None:
            value = m["fquoted"] if m["fquoted"] is not None else m["fvalue"]
            value = value.strip()
            if value:
                items.append(_Item(negated, filter=FieldFilter(m["field"].lower(), value)))
            continue
        if m["quoted"] is not None:
            value = " ".join(m["quoted"].split())
            if _searchable(value):
                items.append(_Item(negated, text=Text(value, quoted=True)))
            continue
        word = m["word"]
        if word == "OR" and not negated:
            items.append(_Item(False, is_or=True))
        elif _searchable(word):
            items.append(_Item(negated, text=Text(word)))
    groups: list[list[Text]] = []
    none_of: list[Text] = []
    filters: list[FieldFilter] = []
    excluded: list[FieldFilter] = []
    joinable = False  # whether the last item was a positive text (an OR may follow it)
    pending_or = False
    for item in items:
        if item.is_or:
            pending_or = joinable
            continue
        if item.filter is not None:
            (excluded if item.negated else filters).append(item.filter)
            joinable = pending_or = False
        elif item.negated:
            assert item.text is not None
            none_of.append(item.text)
            joinable = pending_or = False
        else:
            assert item.text is not None
            if pending_or:
                if item.text not in groups[-1]:
                    groups[-1].append(item.text)
            else:
                groups.append([item.text])
            joinable, pending_or = True, False
    unique_groups: list[tuple[Text, ...]] = []
    for group in groups:
        if tuple(group) not in unique_groups:
            unique_groups.append(tuple(group))
    return SearchQuery(
        all_of=tuple(unique_groups),
        none_of=tuple(dict.fromkeys(none_of)),
        filters=tuple(dict.fromkeys(filters)),
        excluded=tuple(dict.fromkeys(excluded)),
    )
