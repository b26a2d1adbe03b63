#!/usr/bin/env bash
# The project's Python environments, built with uv from the committed lock; never the global interpreter.
#
#   scripts/devenv.sh locked VENV              exactly uv.lock (runtime + the dev and bench groups)
#   scripts/devenv.sh runtime VENV             exactly uv.lock, runtime dependencies only
#   scripts/devenv.sh lowest VENV              runtime dependencies at the lowest releases pyproject allows,
#                                              test tools as locked (no bench peers: they would pin psycopg)
#   scripts/devenv.sh latest VENV              everything at today's newest releases
#
# uv itself is pinned and bootstrapped into .tools/ with the machine's python3.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
TOOLS=.tools
UV=$TOOLS/bin/uv
export UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1

if [ ! -x "$UV" ] || [ "$("$UV" --version | awk '{print $2}')" != "$UV_VERSION" ]; then
    python3 -m venv --clear "$TOOLS"
    # the machine's pip configuration (extra indexes, constraints) must not shape the bootstrap
    PIP_CONFIG_FILE=/dev/null "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "uv==$UV_VERSION"
fi

mode=${1:?usage: $0 locked|runtime|lowest|latest VENV}
venv=${2:?usage: $0 locked|runtime|lowest|latest VENV}

case "$mode" in
    locked | runtime)
        groups=()
        [ "$mode" = runtime ] && groups+=(--no-default-groups)
        UV_PROJECT_ENVIRONMENT=$venv "$UV" sync --locked --quiet --python python3 "${groups[@]}"
        ;;
    lowest)
        [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python python3 "$venv"
        "$UV" export --frozen --quiet --only-group dev --no-hashes --no-emit-project -o "$venv/dev-locked.txt"
        VIRTUAL_ENV=$venv "$UV" pip install --quiet --resolution lowest-direct -e ".[eventstore,encryption]" -r "$venv/dev-locked.txt"
        ;;
    latest)
        [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python python3 "$venv"
        VIRTUAL_ENV=$venv "$UV" pip install --quiet --upgrade --refresh -e . --group dev --group bench
        ;;
    *) echo "devenv: unknown mode $mode" >&2; exit 2 ;;
esac
