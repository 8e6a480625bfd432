#!/usr/bin/env bash
# Creates (or reuses) a virtualenv outside the repository with one MLflow release, gunicorn and psycopg2.
# Usage: bench/mlflow/venv.sh <dir> <mlflow requirement>   e.g. /tmp/cairn-bench-mlflow-2 'mlflow==2.12.2'
set -euo pipefail
dir="$1"; req="$2"
py="${PYTHON:-python3.11}"
if [ -x "$dir/bin/mlflow" ] && [ -f "$dir/.requirement" ] && [ "$(cat "$dir/.requirement")" = "$req" ]; then
  echo "reusing $dir ($req)" >&2
  exit 0
fi
rm -rf "$dir"
"$py" -m venv "$dir"
"$dir/bin/pip" install --quiet --upgrade pip >&2
# shellcheck disable=SC2086 # the requirement may name several packages (pins an old release needs)
"$dir/bin/pip" install --quiet $req gunicorn psycopg2-binary >&2
echo "$req" > "$dir/.requirement"
echo "installed $req into $dir" >&2
