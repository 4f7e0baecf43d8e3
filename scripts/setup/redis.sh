#!/usr/bin/env bash
# Debian's redis-server for the coordinated-mode tests and the demo (started per run on a free
# loopback port by scripts/lib.sh's start_redis; nothing runs it as a service).
. "$(dirname "$0")/../lib.sh"
if ! have redis-server && [ ! -x /usr/bin/redis-server ]; then
  say "apt-get install redis-server (Debian's)"
  as_root apt-get install -y --no-install-recommends redis-server \
    || { as_root apt-get update && as_root apt-get install -y --no-install-recommends redis-server; }
fi
# Debian may start a service on install where an init system runs: the tests never use it.
redis-server --version
