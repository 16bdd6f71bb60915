#!/usr/bin/env bash
# Sets up everything the test suite needs, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
CORRAL_SETUP_TEST=1 ./scripts/setup.sh
exec .venv/bin/pytest -n 2 --dist loadfile "$@"
