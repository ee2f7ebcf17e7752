#!/usr/bin/env bash
# `make demo`: the Gazelle simulator with the `small` data set (one shop), a full pull into
# a fresh database, the daemon started and stopped. Everything lives under one temporary
# directory, removed at the end; nothing touches the user's real data, configuration or
# LaunchAgent.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/gazelle-demo.XXXXXX")
sim_pid=""
daemon_pid=""
smtp_pid=""

cleanup() {
  for pid in "$daemon_pid" "$sim_pid" "$smtp_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$demo_dir"
}
trap cleanup EXIT

echo "==> Starting the Gazelle simulator (data set: small, one shop)"
"$bin/gazelle-sim" --dataset small --port 0 >"$demo_dir/sim.json" 2>"$demo_dir/sim.log" &
sim_pid=$!
for _ in $(seq 1 200); do [[ -s "$demo_dir/sim.json" ]] && break; sleep 0.05; done
sim_info=$(cat "$demo_dir/sim.json")
field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/" <<<"$sim_info"; }
echo "    listening on $(field listening)"

echo
echo "==> Starting a local mail server (smtp-sink: it keeps each message as a file)"
"$bin/smtp-sink" --dir "$demo_dir/mail" >"$demo_dir/smtp.json" &
smtp_pid=$!
for _ in $(seq 1 200); do [[ -s "$demo_dir/smtp.json" ]] && break; sleep 0.05; done
smtp_port=$(sed -E 's/.*:([0-9]+)".*/\1/' "$demo_dir/smtp.json")
echo "    listening on 127.0.0.1:$smtp_port"

if command -v curl >/dev/null; then
  echo
  echo "==> A technician writes a service note in Gazelle: \"PLS débranché derrière le piano\""
  piano=$(curl -s -H "x-gazelle-api-key: $(field api_key)" -H 'content-type: application/json' \
    -d '{"query":"{ allPianos(first: 1) { nodes { id client { id } } } }"}' "$(field listening)graphql/private/")
  piano_id=$(sed -E 's/.*"nodes":\[\{"id":"([^"]*)".*/\1/' <<<"$piano")
  client_id=$(sed -E 's/.*"client":\{"id":"([^"]*)".*/\1/' <<<"$piano")
  curl -s -o /dev/null -H 'content-type: application/json' \
    -d "{\"clientId\":\"$client_id\",\"pianoId\":\"$piano_id\",\"type\":\"SERVICE_ENTRY_MANUAL\",\"summary\":\"Service\",\"comment\":\"Accord. PLS débranché derrière le piano! 20C, 41%\"}" \
    "$(field listening)_sim/records/timeline"
fi

cat >"$demo_dir/gazelled.toml" <<TOML
[paths]
data_dir = "$demo_dir/data"
log_dir = "$demo_dir/logs"

[api]
base_url = "$(field listening)"
auth = "api-key"
api_key = "$(field api_key)"
page_size = 200
requests_per_second = 1000

[alerts]
owner_email = "owner@example.test"

[smtp]
host = "127.0.0.1"
port = $smtp_port
security = "plain"
TOML
export GAZELLE_CONFIG="$demo_dir/gazelled.toml"

echo
echo "==> Starting gazelled"
"$bin/gazelled" &
daemon_pid=$!
for _ in $(seq 1 200); do
  grep -qs "gazelled ready" "$demo_dir"/logs/* && break
  kill -0 "$daemon_pid" 2>/dev/null || { echo "gazelled exited early"; cat "$demo_dir"/logs/* 2>/dev/null; exit 1; }
  sleep 0.05
done

echo
echo "==> gazellectl force-sync --full --wait"
"$bin/gazellectl" force-sync --full --wait

echo
echo "==> gazellectl runs --detail --limit 1   (where the full sync's time went, per stream)"
"$bin/gazellectl" runs --detail --limit 1 | sed -n '/^run #/,$p'

echo
echo "==> gazellectl force-sync --wait   (incremental; nothing changed upstream)"
"$bin/gazellectl" force-sync --wait | tail -1

echo
echo "==> gazellectl status"
"$bin/gazellectl" status

echo
echo "==> gazellectl alerts list --limit 8   (from the last 45 days of service notes)"
"$bin/gazellectl" alerts list --limit 8

echo
echo "==> The e-mail the owner received (new alerts of the last 7 days are e-mailed)"
for _ in $(seq 1 100); do ls "$demo_dir"/mail/*.eml >/dev/null 2>&1 && break; sleep 0.1; done
if ls "$demo_dir"/mail/*.eml >/dev/null 2>&1; then
  grep -E "^(To|Subject|Message-ID):" "$(ls "$demo_dir"/mail/*.eml | head -1)" || true
else
  echo "    (none: curl was not available to add a fresh note)"
fi

echo
echo "==> gazellectl config (excerpt)"
"$bin/gazellectl" config | grep -E "api\.|paths\.|key " || true

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
