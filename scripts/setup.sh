#!/usr/bin/env bash
# Installs what corral and its test suite need on a fresh Debian machine, idempotently:
# Debian packages (bubblewrap, PostgreSQL, Chromium) when missing, and a virtualenv in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
command -v git >/dev/null || need_apt+=(git)
if [[ "${CORRAL_SETUP_TEST:-0}" == 1 ]]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
    command -v chromium >/dev/null || need_apt+=(chromium)
fi
if ((${#need_apt[@]})); then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
extras="."
[[ "${CORRAL_SETUP_TEST:-0}" == 1 ]] && extras=".[dev]"
.venv/bin/pip install -q --disable-pip-version-check -e "$extras"
# An editable install leaves corral's own modules uncompiled, and with PYTHONDONTWRITEBYTECODE
# set every `corral` call would compile them again (~0.03 s each); compile them as pip does.
.venv/bin/python -m compileall -q src >/dev/null
echo "setup: ready (.venv)"
