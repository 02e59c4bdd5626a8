"""Site profiles: a YAML file per site that turns into a working spider without Python.

A profile says where a site is (`allowed_domains`, `start_urls`, or its sitemaps), which links lead to
list pages and which to product detail pages (regular expressions on the URL), where each listing
field is on a detail page (CSS or XPath selectors; structured data still fills what they leave out),
where the shop's facts are (on the detail page or on a shop page it links to), whether pages need the
browser, and how politely to crawl. `spiders.spiders.profile` builds a spider from it; `sweep
profiles check FILE --url URL` shows what each selector extracts from a live page.

Profiles are validated with pydantic when they are loaded; a mistake is reported with the file and
the field that is wrong (`ProfileError`), never as a traceback in the middle of a crawl.

    name: demo_mall_profile          # the spider's name (scrapy crawl demo_mall_profile)
    platform: demo-mall              # listings' platform key
    start_urls: ["http://127.0.0.1:8000/"]
    links: {list: ['/c/'], detail: ['/item/[^/]+\\.html$'], deny: ['/cart']}
    selectors:
      title: {css: h1.item-title}
      price: {css: .price-value}
      images: {css: ".gallery img", attr: src, all: true}
    attributes: {rows: "table.spec tr", key: th, value: td}
    shop: {link: {css: a.shop, attr: href}, selectors: {name: {css: h1.shop-name}}}
    browser: {when: 'main#app[data-render="client"]', wait_for: 'main#app[data-rendered="1"]'}
    politeness: {delay: 1.0, concurrency: 2}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spiders.extraction import LISTING_FIELDS, SHOP_FIELDS, FieldSelector

PROFILES_DIR = Path(__file__).resolve().parent
"""The profiles that ship with sweep (`spiders/profiles/*.yaml`)."""


class ProfileError(ValueError):
    """A profile that cannot be used, with the file and the field at fault in the message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_css(css: str) -> None:
    from parsel import Selector

    Selector(text="<html></html>").css(css)


def _check_xpath(xpath: str) -> None:
    from parsel import Selector

    Selector(text="<html></html>").xpath(xpath)


class SelectorSpec(_Strict):
    """One field's place on the page: `css` or `xpath`, optionally `attr`, `regex`, `all`, `join`."""

    css: str | None = None
    xpath: str | None = None
    attr: str | None = None
    regex: str | None = None
    all: bool = False
    join: str | None = None
    """Join all matches with this text (paragraphs of a description) instead of keeping the first."""

    @model_validator(mode="after")
    def _one_expression(self) -> SelectorSpec:
        if bool(self.css) == bool(self.xpath):
            raise ValueError("give exactly one of css or xpath")
        try:
            _check_css(self.css) if self.css else _check_xpath(self.xpath or "")
        except Exception as exc:
            raise ValueError(
                f"{'css' if self.css else 'xpath'} {self.css or self.xpath!r} is not valid: {exc}"
            ) from exc
        if self.regex:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} is not valid: {exc}") from exc
        return self

    def field_selector(self, raw: bool = False) -> FieldSelector:
        return FieldSelector(
            css=self.css, xpath=self.xpath, attr=self.attr, regex=self.regex, all=self.all, join=self.join, raw=raw
        )


class RowsSpec(_Strict):
    """A table of name/value rows: `rows` selects each row, `key` and `value` (CSS, relative to the
    row) its two cells. Used for a listing's specification table and a shop's permits."""

    rows: str
    key: str
    value: str

    @field_validator("rows", "key", "value")
    @classmethod
    def _css(cls, css: str) -> str:
        try:
            _check_css(css)
        except Exception as exc:
            raise ValueError(f"css {css!r} is not valid: {exc}") from exc
        return css


class Links(_Strict):
    """Regular expressions on absolute URLs: list pages are followed, detail pages parsed."""

    list: tuple[str, ...] = ()
    detail: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @field_validator("list", "detail", "deny")
    @classmethod
    def _regexes(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r} is not a regular expression: {exc}") from exc
        return patterns


class ShopSpec(_Strict):
    """Where the seller's facts are: on the detail page (`selectors` without `link`), or on a shop
    page the detail page links to (`link`), whose facts are kept in a cache per shop."""

    link: SelectorSpec | None = None
    shop_id: SelectorSpec | None = None
    """On the detail page (e.g. the link's data-shop-id); else the shop page's own `selectors.shop_id`."""
    name: SelectorSpec | None = None
    """The shop's name as the detail page shows it (the shop page's `selectors.name` wins)."""
    selectors: dict[str, SelectorSpec] = Field(default_factory=dict)
    permits: RowsSpec | None = None

    @field_validator("selectors")
    @classmethod
    def _shop_fields(cls, value: dict[str, SelectorSpec]) -> dict[str, SelectorSpec]:
        unknown = sorted(set(value) - set(SHOP_FIELDS))
        if unknown:
            raise ValueError(f"unknown shop field(s) {unknown}; known: {list(SHOP_FIELDS)}")
        return value


class BrowserSpec(_Strict):
    """Pages that need Chromium: `always`, or only those matching `when` (a client-rendered shell);
    `wait_for` is the selector that says rendering is done."""

    always: bool = False
    when: str | None = None
    wait_for: str | None = None
    timeout_ms: int = Field(default=15_000, ge=1_000, le=120_000)


class Politeness(_Strict):
    """Per-site pace: seconds between requests, parallel requests to the site, AutoThrottle."""

    delay: float = Field(default=1.0, ge=0, le=600)
    concurrency: int = Field(default=2, ge=1, le=64)
    autothrottle: bool = True


class Profile(_Strict):
    """One site's profile (see the module doc)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    platform: str = Field(min_length=1, max_length=64)
    allowed_domains: tuple[str, ...] = ()
    start_urls: tuple[str, ...] = ()
    sitemaps: bool = False
    """Start from robots.txt's sitemaps (detail URLs among them are parsed; others followed as lists)."""
    links: Links = Field(default_factory=Links)
    selectors: dict[str, SelectorSpec] = Field(default_factory=dict)
    attributes: RowsSpec | None = None
    prefer_selectors: bool = True
    """Selectors before the page's structured data (a profile is written for this site's markup)."""
    keep_whitespace: bool = False
    """Keep texts exactly as the page has them (spacing and invisible characters), as evidence."""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """The site's currency where its pages do not say it."""
    shop: ShopSpec | None = None
    browser: BrowserSpec = Field(default_factory=BrowserSpec)
    politeness: Politeness = Field(default_factory=Politeness)

    @field_validator("selectors")
    @classmethod
    def _listing_fields(cls, value: dict[str, SelectorSpec]) -> dict[str, SelectorSpec]:
        unknown = sorted(k for k in value if k not in LISTING_FIELDS and not k.startswith("attributes."))
        if unknown:
            raise ValueError(f"unknown listing field(s) {unknown}; known: {[*LISTING_FIELDS, 'attributes.NAME']}")
        return value

    @field_validator("start_urls")
    @classmethod
    def _http(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls

    @model_validator(mode="after")
    def _somewhere_to_start(self) -> Profile:
        if not self.start_urls:
            raise ValueError("start_urls: give at least one (a crawl may replace its host with --base-url)")
        if not self.links.detail and not self.sitemaps:
            raise ValueError("links.detail: say which URLs are product pages (or set sitemaps: true)")
        return self

    def field_selectors(self) -> dict[str, FieldSelector]:
        return {name: spec.field_selector(raw=self.keep_whitespace) for name, spec in self.selectors.items()}


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("function-after",)) or "(profile)"


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    """A profile from YAML text; `ProfileError` naming `source` and each wrong field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile is a mapping of fields (name, platform, start_urls, ...)")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_where(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ProfileError("\n".join(lines)) from None


def load_profile(ref: str | Path) -> Profile:
    """A profile by path, or by the name of a packaged one (`demo_mall` -> spiders/profiles/demo_mall.yaml)."""
    path = Path(ref)
    if not path.suffix and not path.exists():
        path = PROFILES_DIR / f"{ref}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from exc
    return parse_profile(text, str(path))


def packaged_profiles() -> list[tuple[Path, Profile]]:
    """Every profile shipped in spiders/profiles/ (each becomes a spider of its own name)."""
    return [(path, load_profile(path)) for path in sorted(PROFILES_DIR.glob("*.yaml"))]
