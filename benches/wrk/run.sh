#!/usr/bin/env bash
# Throughput of the hyper example server beside the Python reference server scim2-server,
# on this machine, back to back: builds ours (release), installs scim2-server into a
# virtualenv, starts both on loopback ports with fresh storage, creates the same users on
# each, then runs wrk for each request kind against ours and then against scim2-server.
#
#   benches/wrk/run.sh                 # everything; results on stdout and in $WORK/results.md
#
# Environment (defaults): USERS (10000), CONNECTIONS (16), THREADS (2, wrk threads),
# DURATION (15s per measured run), WARMUP (3s per server and request kind, but patch),
# MODES ("filter get patch"; patch at most once per start, and last), OURS_PORT (18080),
# PEER_PORT (18081), VENV (/tmp/scim2-server-venv), SKIP_BUILD (set: use the existing target/release/hyper-server), BIN (a hyper-server binary
# to run instead; implies SKIP_BUILD), PEER (0: ours only).
# Needs: cargo, python3 (with venv), curl, wrk.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
USERS=${USERS:-10000}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
MODES=${MODES:-filter get patch}
OURS_PORT=${OURS_PORT:-18080}
PEER_PORT=${PEER_PORT:-18081}
VENV=${VENV:-/tmp/scim2-server-venv}
PEER=${PEER:-1}
WORK=$(mktemp -d /tmp/scim-wrk.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

log() { echo "== $*" >&2; }

if [ -z "${SKIP_BUILD:-}" ] && [ -z "${BIN:-}" ]; then
    log "building hyper-server (release)"
    (cd "$root" && cargo build --release -p hyper-server)
fi
bin=${BIN:-"${CARGO_TARGET_DIR:-$root/target}/release/hyper-server"}

if [ "$PEER" = 1 ] && [ ! -x "$VENV/bin/scim2-server" ]; then
    log "installing scim2-server 0.8.3 into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet scim2-server==0.8.3
fi

wait_ready() { # URL TOKEN
    for _ in $(seq 1 600); do
        if curl -sf -o /dev/null -H "Authorization: Bearer $2" "$1/ServiceProviderConfig"; then
            return 0
        fi
        sleep 0.1
    done
    echo "server at $1 did not start" >&2
    exit 1
}

# Ours: a fresh database, one integration; its token is the only line create prints.
ours_base="http://127.0.0.1:$OURS_PORT/scim/v2"
ours_token=$("$bin" integrations create wrk --database "$WORK/ours.db" 2>/dev/null)
"$bin" serve --bind "127.0.0.1:$OURS_PORT" --database "$WORK/ours.db" \
    --base-url "$ours_base" 2>"$WORK/ours.log" &
pids+=($!)
wait_ready "$ours_base" "$ours_token"
ours_pid=${pids[-1]}

# scim2-server: in memory, one static bearer token (its only authentication).
peer_base="http://127.0.0.1:$PEER_PORT/v2"
peer_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
if [ "$PEER" = 1 ]; then
    "$VENV/bin/scim2-server" --hostname 127.0.0.1 --port "$PEER_PORT" \
        --bearer-token "$peer_token" >"$WORK/peer.out" 2>"$WORK/peer.log" &
    pids+=($!)
    wait_ready "$peer_base" "$peer_token"
fi

servers=(ours)
[ "$PEER" = 1 ] && servers+=(peer)
for s in "${servers[@]}"; do
    base_var="${s}_base"; token_var="${s}_token"
    log "creating $USERS users on $s"
    start=$(date +%s.%N)
    python3 "$here/populate.py" "${!base_var}" "${!token_var}" "$USERS" "$WORK/$s.users"
    log "$s: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }')"
    # The requests wrk sends answer as they should: one match, 200, 200.
    IFS=$'\t' read -r id name < <(sed -n 77p "$WORK/$s.users")
    total=$(curl -sf -G -H "Authorization: Bearer ${!token_var}" \
        --data-urlencode "filter=userName eq \"$name\"" "${!base_var}/Users" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["totalResults"])')
    [ "$total" = 1 ] || { echo "$s: filter found $total users" >&2; exit 1; }
    curl -sf -o /dev/null -H "Authorization: Bearer ${!token_var}" "${!base_var}/Users/$id"
    for value in false true; do # the patch run expects every user active
        curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer ${!token_var}" \
            -H 'Content-Type: application/scim+json' \
            -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":'$value'}]}' \
            "${!base_var}/Users/$id"
    done
done

run_wrk() { # SERVER MODE DURATION
    local base_var="${1}_base" token_var="${1}_token" url
    url="http://127.0.0.1:$([ "$1" = ours ] && echo "$OURS_PORT" || echo "$PEER_PORT")"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --timeout 10s -s "$here/scim.lua" "$url" -- \
        "$2" "$WORK/$1.users" "${!token_var}" "$(echo "${!base_var}" | sed 's|^http://[^/]*||')" \
        "$THREADS"
}

cpu_ticks() { # PID: user + system CPU time so far, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
tick=$(getconf CLK_TCK)

results="$WORK/results.txt"
: >"$results"
for mode in $MODES; do
    for s in "${servers[@]}"; do
        if [ "$s" = ours ]; then pid=$ours_pid; else pid=${pids[1]}; fi
        # No warm-up for patch: it must start with every user active (scim.lua).
        [ "$mode" = patch ] || run_wrk "$s" "$mode" "$WARMUP" >/dev/null
        load=$(cut -d' ' -f1-3 /proc/loadavg)
        before=$(cpu_ticks "$pid")
        line=$(run_wrk "$s" "$mode" "$DURATION" | grep '^RESULT')
        after=$(cpu_ticks "$pid")
        # The server's CPU time per request: what it costs, whatever share of the cores it got.
        cpu=$(echo "$line" | awk -v t=$((after - before)) -v hz="$tick" '{
            for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "%.1f", (v["requests"] > 0 ? t / hz * 1e6 / v["requests"] : 0) }')
        echo "$line server=$s cpu_us_per_req=$cpu load=\"$load\" rss_kb=$(ps -o rss= -p "$pid" | tr -d ' ')" |
            tee -a "$results"
    done
done

# The table: req/s, p50, p99 of each, and ours / scim2-server.
{
    echo "| request | server | req/s | p50 ms | p99 ms | non-2xx | server CPU µs/request | load before (1/5/15 min) |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
    awk '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        load = $0; sub(/.*load="/, "", load); sub(/".*/, "", load)
        printf "| %s | %s | %.0f | %.2f | %.2f | %d | %s | %s |\n", v["mode"], v["server"] == "ours" ? "hyper-server" : "scim2-server 0.8.3", v["rps"], v["p50_ms"], v["p99_ms"], v["non2xx"], v["cpu_us_per_req"], load
    }' "$results"
    if [ "$PEER" = 1 ]; then
        echo
        echo "| request | req/s, hyper-server ÷ scim2-server | CPU per request, scim2-server ÷ hyper-server |"
        echo "| --- | ---: | ---: |"
        awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
               k = v["mode"] "/" v["server"]; rps[k] = v["rps"]; cpu[k] = v["cpu_us_per_req"]
               if (!(v["mode"] in seen)) { seen[v["mode"]] = 1; order[++n] = v["mode"] } }
             END { for (j = 1; j <= n; j++) { m = order[j]
                     if (rps[m "/peer"] > 0 && cpu[m "/ours"] > 0)
                       printf "| %s | %.1f× | %.1f× |\n", m, rps[m "/ours"] / rps[m "/peer"], cpu[m "/peer"] / cpu[m "/ours"] } }' "$results"
    fi
} | tee "$WORK/results.md"
log "logs and results in $WORK; $(uptime)"
