"""Which JDK runs a server: Elasticsearch 9 needs 21+, Kafka 4 and OpenSearch 2.19 run on 17."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from services.errors import ServiceError


def java_home(min_major: int) -> Path:
    """A JDK with at least `min_major`, from SWEEP_JAVA<N>_HOME, JAVA_HOME, /usr/lib/jvm or `java` on PATH."""
    candidates: list[Path] = []
    for var in (f"SWEEP_JAVA{min_major}_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted((p for p in jvm.iterdir() if (p / "bin" / "java").exists()), key=jdk_major)
    if shutil.which("java"):
        candidates.append(Path(os.path.realpath(shutil.which("java") or "")).parents[1])
    for home in candidates:
        if (home / "bin" / "java").exists() and jdk_major(home) >= min_major:
            return home
    raise ServiceError(f"no JDK >= {min_major} found (looked at {', '.join(map(str, candidates)) or 'nothing'})")


def jdk_major(home: Path) -> int:
    """Major version from the JDK's `release` file (1.8 counts as 8); 0 when it cannot be told."""
    release = home / "release"
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                return parse_java_version(line.split("=", 1)[1].strip('"'))
    return 0


def parse_java_version(version: str) -> int:
    """'17.0.12' -> 17, '1.8.0_402' -> 8."""
    parts = version.split(".")
    return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])
