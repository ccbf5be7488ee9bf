#!/usr/bin/env bash
# Instructions per parse-and-drop of each corpus filter (callgrind, 10,000 parses each).
# Usage: benches/probe_corpus.sh [PROBE] (default target/release/examples/probe_filter,
# built with `cargo build --release -p scim-benches --example probe_filter`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
probe="${1:-$here/../target/release/examples/probe_filter}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/probe.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
total=0
while IFS=$'\t' read -r name dialects filter; do
  mode=text
  [ "$dialects" = "true" ] && mode=dialects
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
    --toggle-collect="${TOGGLE:-probe_filter::run_parse*}" "$probe" "$mode" "$filter" >/dev/null 2>&1
  ir=$(awk '/^summary:/ {print $2}' "$tmp/out")
  per=$(( (ir + 5000) / 10000 ))
  total=$(( total + per ))
  printf '%s\t%s\n' "$name" "$per"
done < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["name"], "true" if e.get("dialects") else "false", e["filter"], sep="\t")
' "$here/corpus/filters.json")
printf 'total\t%s\n' "$total"
