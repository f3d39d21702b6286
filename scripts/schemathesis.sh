#!/usr/bin/env bash
# Runs schemathesis (`--checks all`) against a real `datavow serve` (release build,
# SQLite, mail to a local aiosmtpd) with a signed-in person's token and an admin
# operator's token, and prints the failures of each pass; exits non-zero if any.
# Installs schemathesis and aiosmtpd (PyPI) into target/schemathesis-venv when missing.
# Not part of the test suite (it takes minutes): see docs/RELIABILITY.md.
#
# Usage: scripts/schemathesis.sh [MAX_EXAMPLES]   (default 50 per operation)
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-50}
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis aiosmtpd
fi
cargo build --release --locked -p datavow >&2
bin=target/release/datavow
work=$(mktemp -d /tmp/datavow-schemathesis.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
smtp=$(free_port); port=$(free_port)
"$venv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$smtp" >/dev/null 2>&1 & pids+=($!)
admin=$("$bin" operator add st-admin --role admin --data-dir "$work/data" | sed -n 's/^API token: //p')
DATAVOW_SMTP_URL="smtp://127.0.0.1:$smtp" DATAVOW_MAIL_FROM="Datavow <privacy@example.com>" \
DATAVOW_PUBLIC_URL="http://127.0.0.1:$port" \
  "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
signup='{"name":"Schema Thesis","email":"st@example.de","postal_address":{"street":"Witzlebenstraße 6","postal_code":"14057","city":"Berlin","country":"DE"}}'
read -r user password < <(curl -fs -X POST "$base/api/v1/accounts" -H 'content-type: application/json' -d "$signup" \
  | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["user_id"], a["password"])')
person=$(curl -fs -X POST "$base/api/v1/session" -H 'content-type: application/json' \
  -d "{\"user_id\":\"$user\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

out=${DATAVOW_SCHEMATHESIS_OUT:-$work}
mkdir -p "$out"
status=0
run() { # name token [extra args]
  local name=$1 token=$2; shift 2
  echo "== $name"
  (cd tests/schemathesis && "../../$venv/bin/schemathesis" run "$base/api/v1/openapi.json" --checks all \
    -H "Authorization: Bearer $token" --max-examples "$examples" --no-color "$@") >"$out/$name.txt" 2>&1 || status=1
  sed -n '/SUMMARY/,$p' "$out/$name.txt"
}
# The person's own session stays signed in and unerased for the operator pass and the
# person pass; erasure and sign-out run last, on their own.
run person "$person" --exclude-path /api/v1/me/erasure --exclude-method DELETE
run operator "$admin"
run person-ending "$person" --include-path /api/v1/me/erasure --include-path /api/v1/session
[ "$status" = 0 ] || echo "failures: see $out/*.txt (DATAVOW_SCHEMATHESIS_OUT keeps them)"
exit $status
