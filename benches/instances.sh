#!/usr/bin/env bash
# Two `picket serve` instances on one PostgreSQL database and one S3-compatible bucket (moto),
# behind nginx, under CLIENTS concurrent clients for SECONDS while each instance in turn is
# stopped (SIGTERM) and started again. Clients read project pages (PEP 691) and files, checking
# each file's SHA-256 against its page, and one in eight uploads new projects. Afterwards every
# accepted upload must be served, with its hash, by both instances, and pip must install through
# nginx. Prints operations, failures and the 5xx nginx logged.
#
# It is tests/instances.rs's load test, run bigger and in release mode:
#   bash benches/instances.sh [CLIENTS] [SECONDS]      (default 200 clients, 60 s)
# Needs nginx (apt-get install nginx-light) and PostgreSQL (apt-get install postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-200}
seconds=${2:-60}
export PICKET_TEST_VENV=${PICKET_TEST_VENV:-$PWD/.venv}
[ -x "$PICKET_TEST_VENV/bin/moto_server" ] || { echo "error: no test virtualenv at $PICKET_TEST_VENV" >&2; echo "hint: run bash scripts/test once (it makes it)" >&2; exit 2; }
pg=$(mktemp -d)
chmod 755 "$pg"
trap 'scripts/test-postgres stop "$pg/cluster" || true; rm -rf "$pg"' EXIT
PICKET_TEST_DATABASE_URL=$(scripts/test-postgres start "$pg/cluster")
export PICKET_TEST_DATABASE_URL
status=0
PICKET_LOAD_CLIENTS=$clients PICKET_LOAD_SECONDS=$seconds \
  cargo test --release --locked -q --test instances clients_through_nginx -- --nocapture \
  >"$pg/out" 2>&1 || status=$?
grep -E "clients,|test result|panicked" "$pg/out" | cut -c1-2000
exit "$status"
