#!/usr/bin/env bash
# Install the project with its test dependencies into .venv, then run every check and the whole
# test suite. Extra arguments go to pytest (e.g. `bash scripts/test.sh -k csv`).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# PostgreSQL, for the storage and service tests on the scale-out database (installed from Debian's
# packages when missing; set ILMS_TEST_POSTGRES_URL to use your own, ILMS_SKIP_POSTGRES=1 to skip)
if [ -z "${ILMS_TEST_POSTGRES_URL:-}" ] && [ -z "${ILMS_SKIP_POSTGRES:-}" ]; then
  if ILMS_TEST_POSTGRES_URL=$(bash scripts/postgres.sh); then
    export ILMS_TEST_POSTGRES_URL
    trap 'bash scripts/postgres.sh stop' EXIT
  else
    unset ILMS_TEST_POSTGRES_URL
    echo "WARNING: PostgreSQL could not be started: its tests are SKIPPED (see above)" >&2
  fi
fi

# Chromium, for the browser test of the focal points' web page (ILMS_SKIP_BROWSER=1 to skip)
if ! bash scripts/chromium.sh; then
  echo "WARNING: Chromium could not be installed: the browser test is SKIPPED" >&2
fi

echo "== ruff";          .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy";          .venv/bin/mypy
echo "== import rules";  .venv/bin/lint-imports
echo "== structures";    .venv/bin/ilms structures check
echo "== tests"
set +e
.venv/bin/pytest -n 2 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests"
  exit 0
fi
exit "$status"
