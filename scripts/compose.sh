#!/usr/bin/env bash
# Docker Compose for checking docker/compose.yml (`config` needs no Docker engine).
#
#   scripts/compose.sh install    install Debian's docker-compose when neither `docker compose`
#                                 nor `docker-compose` works (root only; otherwise the test skips)
set -euo pipefail

note() { echo "compose: $*" >&2; }

cmd_install() {
    if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        note "not root: cannot install the docker-compose package; the test that needs it will be skipped"
        return 0
    fi
    if [ ! -f /tmp/.pyevents-apt-updated ]; then
        apt-get update -qq >&2 && touch /tmp/.pyevents-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >&2 \
        || note "WARNING: the docker-compose package cannot be installed; the test that needs it will be skipped"
    return 0
}

case "${1:-}" in
    install) cmd_install ;;
    *) echo "usage: $0 install" >&2; exit 1 ;;
esac
