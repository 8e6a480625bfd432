#!/usr/bin/env bash
# Install the Python SDK in a virtualenv outside the repository and run its pytest suite against a Cairn server
# the session starts itself (needs a production build: `npm run build`), writing JUnit XML for CI.
#   CAIRN_SDK_VENV        the virtualenv (default /tmp/cairn-sdk-venv)
#   CAIRN_SDK_JUNIT       the JUnit XML file (default <repo>/test-results/python-sdk.xml)
#   CAIRN_SDK_TEST_ROOT   the repository whose build the test server runs (default this one)
#   CAIRN_SDK_TEST_URL    use a server that is already running instead (its demo organization seeded)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${CAIRN_SDK_VENV:-/tmp/cairn-sdk-venv}"
junit="${CAIRN_SDK_JUNIT:-$repo/test-results/python-sdk.xml}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$here[test]"
mkdir -p "$(dirname "$junit")"
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider --junitxml="$junit" "$@"
