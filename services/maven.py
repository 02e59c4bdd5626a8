"""Fetch server artifacts and their runtime dependencies from Maven Central into the cache.

Why Maven: this machine (and CI) has Java and Maven but no container engine, and Maven already knows
how to resolve a server's dependency tree. Each server gets one folder ``<cache>/<name>-<version>/``
holding a generated pom.xml, the copied jars (``lib/``), Maven's log and a ``.complete`` marker that is
written last, so an interrupted download is simply redone. Only the first run downloads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

from services.errors import ServiceError, say

PROGRESS_EVERY_S = 10.0


class Artifact(NamedTuple):
    """Maven coordinates: group, artifact, version and packaging type (jar, zip, ...)."""

    group: str
    artifact: str
    version: str
    type: str = "jar"

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}:{self.type}"


def cache_dir(cache: Path, name: str, artifacts: Sequence[Artifact]) -> Path:
    """Folder of one server in the cache, keyed by the version of its first (main) artifact, so a new
    version is fetched beside the old one instead of over it."""
    return cache / f"{name}-{artifacts[0].version}"


def lib_dir(cache: Path, name: str, artifacts: Sequence[Artifact]) -> Path:
    """Where the jars (or the distribution zip) land: ``<cache dir>/lib``."""
    return cache_dir(cache, name, artifacts) / "lib"


def render_pom(artifact_id: str, artifacts: Sequence[Artifact]) -> str:
    """A pom-packaged project whose only purpose is to depend on `artifacts`."""
    body = "".join(
        f"<dependency><groupId>{escape(a.group)}</groupId><artifactId>{escape(a.artifact)}</artifactId>"
        f"<version>{escape(a.version)}</version><type>{escape(a.type)}</type></dependency>"
        for a in artifacts
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>sweep.services</groupId><artifactId>{escape(artifact_id)}</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{body}</dependencies></project>\n"
    )


def mvn_command(pom: Path, lib: Path, m2_repo: str | None = None) -> list[str]:
    """The Maven call that copies the runtime dependency tree into `lib`."""
    cmd = [
        "mvn",
        "-B",  # batch mode: one "Downloaded from" line per file, no progress bars (counted for progress)
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib}",
        "-DincludeScope=runtime",
    ]
    if m2_repo:
        cmd.append(f"-Dmaven.repo.local={m2_repo}")
    return cmd


def fetch(cache: Path, name: str, artifacts: Sequence[Artifact], m2_repo: str | None = None) -> Path:
    """Copy the artifacts and their runtime dependencies into the cache; returns the ``lib`` folder."""
    target = cache_dir(cache, name, artifacts)
    lib = target / "lib"
    if (target / ".complete").exists():
        return lib
    if not shutil.which("mvn"):
        raise ServiceError("Maven (mvn) is required to fetch the servers from Maven Central")
    target.mkdir(parents=True, exist_ok=True)
    pom = target / "pom.xml"
    pom.write_text(render_pom(f"{name}-deps", artifacts))
    shutil.rmtree(lib, ignore_errors=True)
    log = target / "mvn.log"
    say(f"{name}: fetching {', '.join(f'{a.artifact}:{a.version}' for a in artifacts)} from Maven Central (log {log})")
    t0 = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            mvn_command(pom, lib, m2_repo), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        while True:
            try:
                proc.wait(timeout=PROGRESS_EVERY_S)
                break
            except subprocess.TimeoutExpired:
                n = log.read_text(errors="replace").count("Downloaded from")
                say(f"{name}: still downloading ({time.monotonic() - t0:.0f}s, {n} files so far)")
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ServiceError(f"{name}: mvn failed (exit {proc.returncode}); see {log}\n{tail}")
    files = list(lib.iterdir())
    size = sum(f.stat().st_size for f in files) / 2**20
    say(f"{name}: {len(files)} artifacts, {size:.0f} MiB in {time.monotonic() - t0:.1f}s")
    (target / ".complete").write_text(json.dumps([list(a) for a in artifacts]))
    return lib
