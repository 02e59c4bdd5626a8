#!/usr/bin/env bash
# Thin wrapper: see services/manager.py. Usage: services/status.sh [kafka|opensearch|elasticsearch]...
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m services.manager status "$@"
