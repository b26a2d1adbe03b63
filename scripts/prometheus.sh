#!/usr/bin/env bash
# Prometheus and promtool (Debian package `prometheus`) for the monitoring tests.
#
#   scripts/prometheus.sh install    install them when missing (root only; otherwise the tests skip)
#
# Only the binaries are used: the tests run their own short-lived server on a free port, so the
# packaged service is neither needed nor started here.
set -euo pipefail

note() { echo "prometheus: $*" >&2; }

cmd_install() {
    if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        note "not root: cannot install the prometheus package; the tests that need it will be skipped"
        return 0
    fi
    if [ ! -f /tmp/.pyevents-apt-updated ]; then
        apt-get update -qq >&2 && touch /tmp/.pyevents-apt-updated
    fi
    # policy-rc.d exit 101: the package must not start its own service (port 9090, a data directory).
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2 \
        || note "WARNING: the prometheus package cannot be installed; the tests that need it will be skipped"
    if [ "$created" = 1 ]; then rm -f "$policy"; fi
    return 0
}

case "${1:-}" in
    install) cmd_install ;;
    *) echo "usage: $0 install" >&2; exit 1 ;;
esac
