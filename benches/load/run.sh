#!/usr/bin/env bash
# Sustained mixed load on the example hyper server (issue 7): wrk at N connections for a
# duration, with the server's resident memory (RSS) sampled every few seconds. Not in CI.
#
#   benches/load/run.sh [DURATION] [CONNECTIONS]        (defaults: 10m 16)
#
# Builds nothing: uses target/release/hyper-server (cargo build --release -p hyper-server).
# Needs wrk and python3. Writes its files under a temporary directory and prints a summary:
# RSS at start, peak and end, requests per second, error responses.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${1:-10m}"
CONNECTIONS="${2:-16}"
BIN="${BIN:-target/release/hyper-server}"
PORT="${PORT:-18480}"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT

"$BIN" serve --bind "127.0.0.1:$PORT" --base-url "http://127.0.0.1:$PORT/scim/v2" \
  --database "$WORK/scim.db" 2> "$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do
  grep -q "serving SCIM" "$WORK/server.log" 2>/dev/null && break
  sleep 0.1
done
TOKEN="$(sed -n 's/^ *Token: *//p' "$WORK/server.log")"

# 200 users load0..load199 and one group.
python3 - "$PORT" "$TOKEN" "$WORK" <<'PY'
import http.client, json, sys
port, token, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
def post(path, body):
    conn.request("POST", "/scim/v2" + path, json.dumps(body), h)
    r = conn.getresponse()
    data = json.loads(r.read())
    assert r.status == 201, (r.status, data)
    return data["id"]
ids = [post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": f"load{i}@example.com",
                       "name": {"givenName": "Load", "familyName": str(i)},
                       "emails": [{"value": f"load{i}@example.com", "type": "work"}]})
       for i in range(200)]
group = post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                         "displayName": "Load"})
open(f"{work}/ids", "w").write("\n".join(ids) + "\n")
open(f"{work}/group", "w").write(group)
PY

rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
echo "seconds,rss_kib" > "$WORK/rss.csv"
START=$(date +%s)
( while kill -0 "$SERVER" 2>/dev/null; do
    echo "$(( $(date +%s) - START )),$(rss)" >> "$WORK/rss.csv"
    sleep 5
  done ) &
SAMPLER=$!

SCIM_TOKEN="$TOKEN" SCIM_IDS="$WORK/ids" SCIM_GROUP="$(cat "$WORK/group")" \
  wrk -t "$CONNECTIONS" -c "$CONNECTIONS" -d "$DURATION" --latency \
  -s benches/load/mixed.lua "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt"
echo "$(( $(date +%s) - START )),$(rss)" >> "$WORK/rss.csv"
kill "$SAMPLER" 2>/dev/null || true

awk -F, 'NR == 2 {first = $2} NR > 1 {if ($2 > peak) peak = $2; last = $2}
  END {printf "RSS: start %.1f MiB, peak %.1f MiB, end %.1f MiB (%d samples)\n",
       first / 1024, peak / 1024, last / 1024, NR - 1}' "$WORK/rss.csv"
echo "files: $WORK (rss.csv, wrk.txt, server.log)"
