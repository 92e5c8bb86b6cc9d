#!/usr/bin/env bash
# Install the service into .venv and start it on http://localhost:8000 with its embedded default
# database (SQLite file ilms.db in this folder) and the structures of dsd/ and codelists/.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
# Two malloc arenas instead of one per thread: ~55 MB less resident memory under concurrent
# queries, no measurable cost (docs/performance.md).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/ilms serve --host 127.0.0.1 --port "${PORT:-8000}"
