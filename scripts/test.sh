#!/usr/bin/env bash
# The test command of the README and of CI, on a fresh machine: installs what the tests need
# (Debian's chromium for the browser tests and poppler's pdftoppm for the slip's QR test,
# when missing; the project in a venv), then runs
# pytest. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null; then
    echo "scripts/test.sh: installing Debian's chromium and poppler-utils for the tests" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        chromium fonts-dejavu-core poppler-utils
fi

python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'
exec .venv/bin/pytest "$@"
