#!/usr/bin/env bash
# secrets.sh - make the secrets the compose stack mounts, into ./secrets (git-ignored).
#
#   bash deploy/secrets.sh            (make secrets)   writes what is missing, keeps the rest
#
# secrets/worker_tokens.toml   the workers' token file: hashes and roles only
# secrets/metrics_token        Prometheus's token (role metrics) for the workers' /metrics
# secrets/centre_token         the operations centre's token (role centre): printed once
# secrets/officer_key          the key of the officers' pseudonyms (32 random bytes, hex)
# secrets/zalo_webhook_token   Alertmanager → Zalo adapter
# secrets/sms_webhook_token    Alertmanager → SMS adapter
# secrets/ops_hooks_webhook_token  Alertmanager → the centre's ops webhook
#
# Files are 0644 in a 0700 folder: compose (without swarm) ignores a secret's uid and
# mode, and the containers run as other users (Alertmanager 65534, the project 10001).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${DOSSIERWATCH_BIN:-.venv/bin/dossierwatch}"
DIR=secrets
mkdir -p "$DIR"
chmod 700 "$DIR"

random_hex() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }

if [ ! -f "$DIR/worker_tokens.toml" ]; then
  "$BIN" token new --file "$DIR/worker_tokens.toml" --name prometheus --role metrics \
    >"$DIR/metrics_token"
  "$BIN" token new --file "$DIR/worker_tokens.toml" --name operations-centre --role centre \
    >"$DIR/centre_token"
  echo "secrets: the operations centre signs in with http://localhost:6066/?token=$(cat "$DIR/centre_token")"
fi
for name in officer_key zalo_webhook_token sms_webhook_token ops_hooks_webhook_token; do
  [ -f "$DIR/$name" ] || random_hex >"$DIR/$name"
done
chmod 644 "$DIR"/*
echo "secrets: $(ls "$DIR" | tr '\n' ' ')in $DIR/"
