#!/usr/bin/env bash
# `make demo`: runs gazelled in a throw-away directory and shows it working, then stops it.
# Everything lives under one temporary directory, removed at the end; nothing touches the
# user's real data, configuration or LaunchAgent.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/gazelle-demo.XXXXXX")
daemon_pid=""

cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$demo_dir"
}
trap cleanup EXIT

cat >"$demo_dir/gazelled.toml" <<TOML
[paths]
data_dir = "$demo_dir/data"
log_dir = "$demo_dir/logs"
TOML
export GAZELLE_CONFIG="$demo_dir/gazelled.toml"

echo "==> Starting gazelled in $demo_dir"
"$bin/gazelled" &
daemon_pid=$!
for _ in $(seq 1 200); do
  grep -qs "gazelled ready" "$demo_dir"/logs/* && break
  kill -0 "$daemon_pid" 2>/dev/null || { echo "gazelled exited early"; cat "$demo_dir"/logs/* 2>/dev/null; exit 1; }
  sleep 0.05
done

echo
echo "==> gazellectl config"
"$bin/gazellectl" config

echo
echo "==> Database"
ls -l "$demo_dir/data"

echo
echo "==> Stopping gazelled (SIGTERM)"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
daemon_pid=""
echo
echo "==> Daemon log"
cat "$demo_dir"/logs/*
