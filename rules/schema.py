"""The rule format, validated with pydantic.

One YAML file holds `rules: [...]`; each rule is a `RuleSpec`. The models are strict (unknown keys are
errors) because a misspelt key such as `exlcude:` would otherwise silently disable an exclusion.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sweep.models import FAMILIES

CHECKS = ("uscc_invalid", "licence_missing", "food_sanwu", "gi_mismatch")
FIELD_RE = re.compile(
    r"^(title|description|category|unit|attributes|attributes\.[^\s]+|shop\.name|shop\.licence_company)$"
)
DEFAULT_FIELDS = ("title", "description", "attributes")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Matcher(_Strict):
    """One source of evidence: literal terms, a catalog (names, aliases, formulas, CAS), or a regex."""

    terms: list[str] | None = None
    catalog: str | None = None
    regex: str | None = None
    needs: list[str] | None = None
    """For a regex: literal words one of which must occur for the regex to be tried at all (a cheap
    automaton prefilter, so the regex does not run on every listing)."""
    fields: list[str] = Field(default_factory=lambda: list(DEFAULT_FIELDS))

    @model_validator(mode="after")
    def _one_kind(self) -> Matcher:
        kinds = [k for k in ("terms", "catalog", "regex") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("需且仅需 terms、catalog、regex 之一 (exactly one of terms, catalog, regex)")
        if self.needs is not None and self.regex is None:
            raise ValueError("needs 只用于 regex")
        if self.terms is not None and not [t for t in self.terms if t.strip()]:
            raise ValueError("terms 不能为空")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"正则表达式无效: {exc}") from exc
        return self

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: list[str]) -> list[str]:
        for f in v:
            if not FIELD_RE.match(f):
                raise ValueError(
                    f"未知字段 {f!r}；可用 title, description, category, unit, attributes, "
                    "attributes.<键>, shop.name, shop.licence_company"
                )
        return v


class Exclusion(_Strict):
    """Context that cancels a trigger: terms near it (`within` characters), in the same field, or
    anywhere in the listing; or a negation word right before it (不含/无/非/不能 ...)."""

    terms: list[str] | None = None
    catalog: str | None = None
    within: int | None = Field(default=None, ge=0)
    anywhere: bool = False
    in_fields: list[str] | None = None
    """Cancel when the terms occur anywhere in these fields (e.g. the title names a test kit)."""
    negation: bool = False
    before: list[str] | None = None
    """Cancel when one of these words comes right before the trigger (含盐酸, 主要成分氢氧化钠: an
    ingredient of another product, not the substance on sale)."""
    reason: str | None = None

    @model_validator(mode="after")
    def _kind(self) -> Exclusion:
        if self.negation or self.before is not None:
            if self.terms is not None or self.catalog is not None or (self.negation and self.before is not None):
                raise ValueError("negation / before 排除不能与 terms/catalog 同时给出")
            return self
        if (self.terms is None) == (self.catalog is None):
            raise ValueError("排除条件需给出 terms 或 catalog 之一，或 negation: true")
        if sum((self.anywhere, self.within is not None, self.in_fields is not None)) > 1:
            raise ValueError("anywhere、within、in_fields 只能使用其一")
        for f in self.in_fields or []:
            if not FIELD_RE.match(f):
                raise ValueError(f"未知字段 {f!r}")
        return self


class Scope(_Strict):
    categories: list[str] | Literal["any"] = "any"
    exclude_categories: list[str] = Field(default_factory=list)
    unknown_category: bool = True
    """Whether a listing without a category is in scope (spiders do not always see one)."""


class ShopCondition(_Strict):
    lacks_permit: str | list[str] | None = None
    """Fire only when no shop permit's type contains this text (or any of these texts)."""


class Examples(_Strict):
    match: list[str | dict[str, Any]] = Field(default_factory=list)
    no_match: list[str | dict[str, Any]] = Field(default_factory=list)


class RuleSpec(_Strict):
    id: str = Field(pattern=r"^[a-z_]+\.[a-z_]+(/[a-z0-9_\-]+)*$")
    family: str
    severity: Literal["high", "medium", "low"]
    title: str
    description: str
    legal_basis: str
    scope: Scope | Literal["any"] = "any"
    match: list[Matcher] = Field(default_factory=list)
    also: list[Matcher] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)
    shop: ShopCondition | None = None
    check: str | None = None
    suppressed_by: list[str] = Field(default_factory=list)
    examples: Examples = Field(default_factory=Examples)
    enabled: bool = True

    @field_validator("family")
    @classmethod
    def _family(cls, v: str) -> str:
        if v not in FAMILIES:
            raise ValueError(f"未知类别 {v!r}；须为 taxonomy 所列之一: {', '.join(FAMILIES)}")
        return v

    @field_validator("suppressed_by")
    @classmethod
    def _suppressed(cls, v: list[str]) -> list[str]:
        for f in v:
            if f not in FAMILIES:
                raise ValueError(f"suppressed_by 中未知类别 {f!r}")
        return v

    @field_validator("check")
    @classmethod
    def _check(cls, v: str | None) -> str | None:
        if v is not None and v not in CHECKS:
            raise ValueError(f"未知检查 {v!r}；可用: {', '.join(CHECKS)}")
        return v

    @field_validator("title", "description", "legal_basis")
    @classmethod
    def _chinese(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("不能为空")
        return v

    @model_validator(mode="after")
    def _needs_something(self) -> RuleSpec:
        if not self.match and self.check is None:
            raise ValueError("规则需有 match 或 check")
        if self.check in ("uscc_invalid", "licence_missing", "food_sanwu") and self.match:
            raise ValueError(f"check {self.check} 不使用 match")
        if self.check == "gi_mismatch" and not self.match:
            raise ValueError("gi_mismatch 需要 match（产地宣称）")
        return self


class BookFile(_Strict):
    rules: list[RuleSpec]
