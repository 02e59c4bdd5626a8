"""Evidence bundles: one zip per lead or case that opens in standard tools without sweep.

    warc/ab/<sha256>.warc.gz      the captures' WARC files, byte for byte as stored (their names are
                                  their SHA-256), and the first copies their revisit records point to
    screenshots/<listing>-<n>.png the full-page screenshots (each distinct image once)
    manifests/<platform>/<listing>/<n>.json  the custody manifests, byte for byte (the chain verifies)
    manifest.json                 what the bundle is for, when and by whom it was made, every capture,
                                  and the SHA-256 of every other file in the zip
    取证说明.txt                   what was captured, when, how, and the hashes, in Chinese
    listings/<platform>_<listing>.txt  the listing as extracted at its latest capture, as text

The zip is written streaming (one WARC at a time); the caller decides who may export what
(`sweep.permissions`) and records the export in the audit log.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from evidence.custody import listing_dir
from evidence.store import EvidenceStore, now_local
from sweep.text import safe_text

FIELDS_ZH = (
    ("title", "商品名称"),
    ("platform", "平台"),
    ("listing_id", "商品编号"),
    ("url", "网址"),
    ("price", "价格"),
    ("currency", "币种"),
    ("unit", "单位"),
    ("category", "类目"),
    ("description", "商品描述"),
)
SHOP_FIELDS_ZH = (
    ("name", "店铺名称"),
    ("shop_id", "店铺编号"),
    ("url", "店铺网址"),
    ("licence_company", "主体名称"),
    ("licence_no", "统一社会信用代码"),
    ("region", "所在地区"),
)
KINDS_ZH = {
    "response": "HTTP 响应",
    "request": "HTTP 请求",
    "dom": "渲染后网页",
    "screenshot": "整页截图",
    "listing": "商品信息",
}


@dataclass(slots=True)
class Subject:
    """What the bundle is evidence for: a lead or a case, and the listings it concerns."""

    kind: str
    """lead | case"""
    id: str
    title: str
    listings: list[tuple[str, str]]
    """(platform, listing_id) of each lead."""
    leads: list[dict[str, Any]] = field(default_factory=list)
    """lead_id, rule, severity, title_zh of each lead (for the 说明)."""


class NoEvidenceError(LookupError):
    """None of the subject's listings has a capture."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _safe_name(platform: str, listing_id: str) -> str:
    """A zip member name from crawled ids: quoted, so `../` or `/` in an id cannot leave its folder
    when the bundle is unpacked (the ids of well-formed listings come out unchanged)."""
    return f"{quote(platform, safe='')}_{quote(listing_id, safe='')}"


def _clean(value: object) -> str:
    return safe_text(value, limit=None, multiline=True)


def listing_text(listing: dict[str, Any]) -> str:
    """A listing as a person reads it: one field per line, attributes and shop facts below."""
    lines = [f"{label}：{_clean(listing.get(key))}" for key, label in FIELDS_ZH if listing.get(key) not in (None, "")]
    for key, value in (listing.get("attributes") or {}).items():
        lines.append(f"规格·{_clean(key)}：{_clean(value)}")
    shop = listing.get("shop") or {}
    lines += [f"{label}：{_clean(shop.get(key))}" for key, label in SHOP_FIELDS_ZH if shop.get(key)]
    for permit in shop.get("permits") or []:
        lines.append(f"许可证：{_clean(permit.get('type'))} {_clean(permit.get('number') or '')}".rstrip())
    lines += [f"图片：{_clean(url)}" for url in listing.get("images") or []]
    return "\n".join(lines) + "\n"


def export(
    store: EvidenceStore,
    subject: Subject,
    out: IO[bytes] | Path,
    *,
    exported_by: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the bundle of `subject` to `out` (a path or a binary stream); returns its manifest.json.
    Raises NoEvidenceError when none of the listings was ever captured."""
    now = now or now_local()
    chains = [(key, store.manifests(*key)) for key in subject.listings]
    chains = [(key, chain) for key, chain in chains if chain]
    if not chains:
        raise NoEvidenceError(f"{subject.kind} {subject.id}: no captured page of its listing(s)")
    files: dict[str, str] = {}
    captures: list[dict[str, Any]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        warcs_done: set[str] = set()
        shots_done: dict[str, str] = {}
        for (platform, listing_id), chain in chains:
            latest_listing: dict[str, Any] | None = None
            for path, manifest in chain:
                name = str(listing_dir(platform, listing_id) / path.name)
                raw = path.read_bytes()
                zf.writestr(name, raw)
                files[name] = _sha(raw)
                needed = [manifest["warc"]["path"]] + [
                    r["refers_to"]["warc"] for r in manifest["records"] if r.get("refers_to")
                ]
                for warc in needed:
                    if warc in warcs_done or not store.path(warc).exists():
                        continue
                    zf.write(store.path(warc), warc, compress_type=zipfile.ZIP_STORED)  # gzip already
                    files[warc] = Path(warc).name.split(".")[0]
                    warcs_done.add(warc)
                shot_name = None
                for record in manifest["records"]:
                    if record["kind"] == "screenshot":
                        digest = record["payload_sha256"]
                        if digest not in shots_done:
                            png = store.payload_of(record, manifest)
                            if png is not None:
                                stem = _safe_name(platform, listing_id)
                                shots_done[digest] = f"screenshots/{stem}-{manifest['sequence']}.png"
                                zf.writestr(shots_done[digest], png, compress_type=zipfile.ZIP_STORED)
                                files[shots_done[digest]] = digest
                        shot_name = shots_done.get(digest)
                    elif record["kind"] == "listing":
                        data = store.payload_of(record, manifest)
                        if data is not None:
                            latest_listing = json.loads(data)
                captures.append(
                    {
                        "manifest": name,
                        "manifest_sha256": files[name],
                        "screenshot": shot_name,
                        **{k: manifest[k] for k in ("url", "requested_at", "captured_at", "sequence", "browser")},
                        "listing": manifest["listing"],
                        "http_status": manifest["http"]["status"],
                        "warc": manifest["warc"],
                        "payloads": {r["kind"]: r["payload_sha256"] for r in manifest["records"]},
                        "revisits": [r["kind"] for r in manifest["records"] if r.get("revisit")],
                        "crawler": manifest.get("crawler"),
                        "rulebook_version": manifest.get("rulebook_version"),
                        "job_id": manifest.get("job_id"),
                        "rendered_from": manifest.get("rendered_from"),
                        "recrawl": manifest.get("recrawl"),
                    }
                )
            if latest_listing is not None:
                text = listing_text(latest_listing).encode("utf-8")
                name = f"listings/{_safe_name(platform, listing_id)}.txt"
                zf.writestr(name, text)
                files[name] = _sha(text)
        note = explanation(subject, captures, exported_by, now).encode("utf-8")
        zf.writestr("取证说明.txt", note)
        files["取证说明.txt"] = _sha(note)
        doc = {
            "format": "sweep-evidence-bundle/1",
            "subject": {"kind": subject.kind, "id": subject.id, "title": subject.title, "leads": subject.leads},
            "exported_at": now.isoformat(),
            "exported_by": exported_by,
            "captures": captures,
            "missing": [f"{p}:{i}" for p, i in subject.listings if (p, i) not in {k for k, _ in chains}],
            "files": files,
        }
        zf.writestr("manifest.json", json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True))
    return doc


def _how(capture: dict[str, Any]) -> str:
    rendered = capture.get("rendered_from")
    if rendered:
        return (
            f"按需截图：以 Chromium 离线渲染第 {rendered.get('sequence')} 次采集保存的 HTTP 响应"
            f"（{rendered.get('captured_at')}，保管清单 SHA-256 {rendered.get('manifest_sha256')}），不联网取数"
        )
    if capture["browser"]:
        return "Chromium 浏览器渲染（另存渲染后网页与整页截图）"
    if "screenshot" in capture["payloads"]:
        return "HTTP 直接获取；整页截图由 Chromium 离线渲染所存响应生成"
    return "HTTP 直接获取"


def explanation(subject: Subject, captures: Sequence[dict[str, Any]], exported_by: str, now: datetime) -> str:
    """取证说明: what was captured, when, how, with which hashes — for a reader without sweep."""
    kind = "线索" if subject.kind == "lead" else "案件"
    out = [
        "电子数据取证说明",
        "",
        f"一、取证对象：{kind} {_clean(subject.id)}　{_clean(subject.title)}",
    ]
    for lead in subject.leads:
        out.append(
            f"　　线索 {_clean(lead.get('lead_id'))}：{_clean(lead.get('title_zh') or lead.get('rule_id'))}"
            f"（风险：{_clean(lead.get('severity'))}）"
        )
    out += ["", "二、取证内容"]
    for i, c in enumerate(captures, 1):
        kinds = "、".join(KINDS_ZH.get(k, k) for k in c["payloads"])
        out += [
            f"（{i}）商品：{_clean(c['listing'].get('title'))}（{_clean(c['listing']['platform'])} "
            f"{_clean(c['listing']['listing_id'])}）",
            f"　　网址：{_clean(c['url'])}",
            f"　　请求时间：{c['requested_at']}　采集完成时间：{c['captured_at']}（采集端时钟，含时区）",
            f"　　方式：{_how(c)}；HTTP 状态：{c['http_status'] or '—'}；内容：{kinds}",
            f"　　WARC 文件：{c['warc']['path']}（SHA-256 {c['warc']['sha256']}）",
        ]
        out += [f"　　{k} SHA-256：{v}" for k, v in c["payloads"].items()]
        if c.get("recrawl") == "unchanged":
            out.append("　　复查采集：商品信息与上次相同，未重新运行规则（命中结果见此前的采集记录）")
        if c["revisits"]:
            out.append("　　与此前采集内容相同（以 revisit 记录引用首次保存的数据）：" + "、".join(c["revisits"]))
        if c["screenshot"]:
            out.append(f"　　截图文件：{c['screenshot']}")
        out.append(f"　　保管清单：{c['manifest']}（SHA-256 {c['manifest_sha256']}）")
        crawler = c.get("crawler") or {}
        out.append(
            f"　　采集程序：{crawler.get('software', 'sweep')} {crawler.get('version', '')}，Scrapy "
            f"{crawler.get('scrapy', '')}，爬虫 {crawler.get('spider', '')}；"
            f"规则库版本：{c.get('rulebook_version') or '—'}；任务编号：{c.get('job_id') or '—'}"
        )
    out += [
        "",
        "三、取证方法",
        "　　由 sweep 网络交易监测系统的爬虫自动访问上述网址，将发出的 HTTP 请求与收到的 HTTP 响应原样保存为",
        "　　WARC 1.1 格式（ISO 28500）；需浏览器渲染的页面另行保存渲染后的网页结构（DOM）与整页截图（PNG）。",
        "　　每项数据在保存时计算 SHA-256 摘要并写入 WARC 记录头与保管清单；同一商品再次采集而内容未变时，",
        "　　以 WARC revisit 记录引用首次保存的数据，不重复存储。每次采集生成一份保管清单（manifest），",
        "　　记录网址、时间、各项数据摘要、采集程序与规则库版本、任务编号，并以 SHA-256 与同一商品的上一份",
        "　　清单相链接，任何改动、删除或调换都会使链条在具体文件处断开。",
        "",
        "四、核验方法",
        "　　1. 逐一计算本压缩包内文件的 SHA-256，应与 manifest.json 中 files 所列一致；WARC 文件名即其 SHA-256。",
        "　　2. 用 warcio check 检查 WARC 文件中每条记录的摘要；可用 pywb 等回放工具打开网页原貌。",
        "　　3. 每份保管清单的 previous_sha256 应等于同一商品上一份清单文件的 SHA-256。",
        "",
        f"导出时间：{now.isoformat()}　导出人：{_clean(exported_by)}",
    ]
    return "\n".join(out) + "\n"
