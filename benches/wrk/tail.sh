#!/usr/bin/env bash
# PATCH latency tail of one hyper-server binary, with the figures that do not depend on the
# machine's load beside wrk's: one line per run.
#
#   benches/wrk/tail.sh SEED_DIR [BIN]
#
# SEED_DIR holds a database made by `run.sh`'s steps (ours.db and its WAL at its kept length,
# every user active), `users` (populate.py's file) and `token` (an integration's token). Each
# run copies the seed to RUN_DIR (default: target/tmp/run; /dev/shm/... puts it on tmpfs),
# starts BIN on it, runs wrk (PATCH `active`, THREADS 2, CONNECTIONS 16, DURATION 15s) and
# takes, before and after wrk: the server's CPU time (/proc/PID/stat), each thread's run time
# and run-queue wait (/proc/PID/task/*/schedstat), the bytes written (/proc/PID/io).
# Printed: req/s, wrk p50/p99/max, the server's log p99 (its own time per PATCH), CPU µs per
# PATCH, run-queue wait µs per PATCH (all threads; and of the workers, the checkpoint thread
# and the log thread apart), bytes written per PATCH, the load average before.
#
# Environment: CKPT (the checkpoint thread's scheduling for this run: `nice` = nice 19,
# `idle` = SCHED_IDLE, `normal` = nice 0, empty = as the binary sets it), PERF_SCHED (seconds of `perf sched
# record` in the middle of the run, written to RUN_DIR/perf.data), SERVER_ENV (extra
# environment for the server, e.g. `SCIM_DB_TRACE=/path`), WRK_PREFIX (a command wrk runs
# under, e.g. `nice -n 10`), PIN (set: worker thread N pinned to CPU N, with taskset).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seed=${1:?SEED_DIR}
bin=${2:-$root/target/release/hyper-server}
RUN_DIR=${RUN_DIR:-$root/target/tmp/run}
DURATION=${DURATION:-15}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18090}
CKPT=${CKPT:-}
PERF_SCHED=${PERF_SCHED:-}
SERVER_ENV=${SERVER_ENV:-}

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
cp "$seed/ours.db" "$seed/ours.db-wal" "$RUN_DIR/"
base="http://127.0.0.1:$PORT/scim/v2"
token=$(cat "$seed/token")
# shellcheck disable=SC2086
env $SERVER_ENV "$bin" serve --bind "127.0.0.1:$PORT" --database "$RUN_DIR/ours.db" \
    --base-url "$base" 2>"$RUN_DIR/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    curl -sf -o /dev/null -H "Authorization: Bearer $token" "$base/ServiceProviderConfig" && break
    sleep 0.1
done

tid_of() { # thread name prefix -> tids
    for t in /proc/$pid/task/*; do
        if [[ $(cat "$t/comm") == $1* ]]; then basename "$t"; fi
    done
}
case "$CKPT" in
nice) for t in $(tid_of scim-checkpoint); do renice -n 19 -p "$t" >/dev/null; done ;;
idle) for t in $(tid_of scim-checkpoint); do chrt -i -p 0 "$t"; done ;;
normal) for t in $(tid_of scim-checkpoint); do renice -n 0 -p "$t" >/dev/null; done ;;
"") ;;
*) echo "CKPT: nice, idle, normal or empty" >&2; exit 2 ;;
esac
if [ -n "${PIN:-}" ]; then # worker N on CPU N
    for t in $(tid_of scim-worker); do
        n=$(sed 's/^scim-worker-//' "/proc/$pid/task/$t/comm")
        taskset -p -c "$n" "$t" >/dev/null
    done
fi

snap() { # -> "name run_ns wait_ns" per thread, then "cpu TICKS", "wbytes N"
    for t in /proc/$pid/task/*; do
        read -r run wait _ <"$t/schedstat"
        echo "$(cat "$t/comm" | tr ' ' _) $run $wait"
    done
    echo "cpu $(awk '{ print $14 + $15 }' "/proc/$pid/stat") 0"
    echo "wbytes $(awk '/^wchar/ { print $2 }' "/proc/$pid/io") 0"
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
snap >"$RUN_DIR/before"
start_ms=$(date +%s%3N)
perf_pid=
if [ -n "$PERF_SCHED" ]; then
    (sleep $((DURATION / 2 - PERF_SCHED / 2)) &&
        perf sched record -o "$RUN_DIR/perf.data" -- sleep "$PERF_SCHED" >/dev/null 2>&1) &
    perf_pid=$!
fi
line=$(${WRK_PREFIX:-} wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$here/scim.lua" \
    "http://127.0.0.1:$PORT" -- patch "$seed/users" "$token" /scim/v2 "$THREADS" | grep '^RESULT')
snap >"$RUN_DIR/after"
[ -z "$perf_pid" ] || wait "$perf_pid"
requests=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/')
hz=$(getconf CLK_TCK)
# Per thread class: run-queue wait and run time (µs per PATCH).
stats=$(awk -v n="$requests" -v hz="$hz" '
    FNR == NR { b[$1 "#" FNR] = $0; run0[$1] += $2; wait0[$1] += $3; next }
    { run1[$1] += $2; wait1[$1] += $3 }
    END {
        for (k in run1) {
            c = k; sub(/-[0-9]+$/, "", c)
            if (k == "cpu") { cpu = (run1[k] - run0[k]) / hz * 1e6 / n; continue }
            if (k == "wbytes") { wb = (run1[k] - run0[k]) / n; continue }
            w[c] += (wait1[k] - wait0[k]) / 1e3 / n; r[c] += (run1[k] - run0[k]) / 1e3 / n
            tw += (wait1[k] - wait0[k]) / 1e3 / n
        }
        printf "cpu_us=%.1f rqwait_us=%.1f wbytes=%.0f", cpu, tw, wb
        for (c in w) if (w[c] + r[c] > 0.05) printf " %s=%.1f/%.1f", c, r[c], w[c]
        printf "\n"
    }' "$RUN_DIR/before" "$RUN_DIR/after")
# The server's own time per PATCH (its log), over the requests wrk sent.
kill "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT
slog=$(grep -o 'PATCH.*ms=[0-9.]*' "$RUN_DIR/log" | sed 's/.*ms=//' | sort -n |
    awk '{ a[NR] = $1 } END { if (NR) printf "server_p50=%.2f server_p99=%.2f server_p999=%.2f", a[int(NR * 0.5)], a[int(NR * 0.99)], a[int(NR * 0.999)] }')
echo "$(basename "$bin") ckpt=${CKPT:-default} $(echo "$line" | sed 's/^RESULT mode=patch //; s/ non2xx=0 socket_errors=0//') $slog $stats load=\"$load\" at=$(date -u +%H:%M)"
