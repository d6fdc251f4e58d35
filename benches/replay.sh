#!/usr/bin/env bash
# picket replay throughput and memory: a 60-day log (200,000 legitimate sign-ups + inbox-2025) and
# a ~10M-event log at the same daily rate over 1,000 days (memory must not grow with length).
# Each replay runs 3 times; the medians are printed. Release build from this working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
picket=target/release/picket
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() { # name, simulate args...
  local name=$1; shift
  "$picket" simulate --out "$work/$name.jsonl" --scenario inbox-2025 "$@" 2>"$work/$name.sim"
  local rates=() rss=()
  for _ in 1 2 3; do
    /usr/bin/time -f "%M" -o "$work/time" "$picket" --format json replay "$work/$name.jsonl" -q >"$work/$name.json"
    rates+=("$(python3 -c "import json; r=json.load(open('$work/$name.json')); print(round(r['events']/r['elapsed_ms']/1000, 3))")")
    rss+=("$(cat "$work/time")")
  done
  local events
  events=$(python3 -c "import json; print(json.load(open('$work/$name.json'))['events'])")
  echo "$name: $events events; replay median $(printf '%s\n' "${rates[@]}" | median) M events/s (runs: ${rates[*]}); peak RSS median $(( $(printf '%s\n' "${rss[@]}" | median) / 1024 )) MiB"
  python3 - "$work/$name.json" "$work/$name.jsonl.truth.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
acc, prj = set(t["accounts"]), set(t["projects"])
fa = {a for c in r["campaigns"] for a in c["accounts"]}
fp = {p for c in r["campaigns"] for p in c["projects"]}
first = t["scenarios"][0]["first_account"]
inbox = [c for c in r["campaigns"] if any(d["domain"] == "inbox.ru" for d in c["domains"])]
print(f"  campaigns {len(r['campaigns'])}; accounts {len(fa & acc)}/{len(acc)}, projects {len(fp & prj)}/{len(prj)}, "
      f"legitimate accounts flagged {len(fa - acc)}; first account {first}, detected {inbox[0]['detected_at'] if inbox else 'never'}")
PY
}

run days60 --accounts 200000 --days 60 --seed 1
run days1000 --accounts 3333000 --days 1000 --seed 3
