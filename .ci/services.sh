#!/usr/bin/env bash
# Start PostgreSQL and Redis when they are installed but stopped. Under CI=true a service that
# cannot be reached fails the run: the suite never skips for want of them.
set -uo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
fi

missing=()
pg_up || missing+=("PostgreSQL on 127.0.0.1:5432")
redis_up || missing+=("Redis on 127.0.0.1:6379")
if [ ${#missing[@]} -gt 0 ]; then
  echo "not reachable: ${missing[*]}" >&2
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: the suite needs them; failing." >&2
    exit 1
  fi
  echo "Tests that need them will fail. Install them (Debian: apt-get install postgresql redis-server) or run 'docker compose up postgres redis'." >&2
fi
exit 0
