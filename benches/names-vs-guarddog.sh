#!/usr/bin/env bash
# Typosquat detection side by side with GuardDog's heuristic, offline, on the same names against
# the same popular list: time and agreement. Needs the PyPI snapshot (../shared/data) and a venv
# with guarddog (created in target/bench-venv if missing).
#
# Usage: benches/names-vs-guarddog.sh [SAMPLE_EVERY]   (default: every 400th snapshot name)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
snapshot=../shared/data/pypi-snapshot.tsv.gz
every=${1:-400}
venv=target/bench-venv
if [ ! -x "$venv/bin/guarddog" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q guarddog==3.2.0
fi
cargo build --release -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PICKET_DATA_DIR="$work/data"
target/release/picket names import "$snapshot" 2>/dev/null

# The sample: every Nth snapshot name, plus the labelled typosquats.
gzip -dc "$snapshot" | awk -F'\t' -v n="$every" 'NR > 1 && NR % n == 0 { print $1 }' >"$work/names.txt"
grep -v '^#' crates/picket-names/examples/labelled.tsv | awk -F'\t' '$2 != "-" { print $1 }' >>"$work/names.txt"
count=$(wc -l <"$work/names.txt")

start=$(date +%s.%N)
target/release/picket --format json check --offline - <"$work/names.txt" >"$work/picket.json" || true
end=$(date +%s.%N)
# GuardDog fetches package lists for other ecosystems when imported; an empty network namespace
# makes sure the benchmark reaches nothing.
unshare --net "$venv/bin/python" benches/guarddog_typosquat.py crates/picket-names/data/popular.tsv \
  <"$work/names.txt" >"$work/guarddog.json" 2>"$work/guarddog.stderr"

python3 - "$work/picket.json" "$work/guarddog.json" "$start" "$end" "$count" <<'PY'
import json, sys
picket = json.load(open(sys.argv[1]))
guarddog = json.load(open(sys.argv[2]))
picket_seconds = float(sys.argv[4]) - float(sys.argv[3])
flag_ids = {"typosquat", "confusable"}
p = {pkg["name"]: sorted({f["target"] for f in pkg["findings"] if f["id"] in flag_ids})
     for pkg in picket["packages"]}
p = {k: v for k, v in p.items() if v}
g = guarddog["flagged"]
both = set(p) & set(g)
same_target = sum(1 for n in both if set(p[n]) & set(g[n]))
print(f"names: {sys.argv[5]}")
print(f"picket:   {len(p)} flagged, {picket_seconds:.2f} s for the whole process (index load included)")
print(f"guarddog: {len(g)} flagged, {guarddog['seconds']:.2f} s in the heuristic alone")
print(f"both: {len(both)} ({same_target} with a common target); picket only: {len(set(p) - set(g))}; guarddog only: {len(set(g) - set(p))}")
print("guarddog only, first 15:", sorted(set(g) - set(p))[:15])
print("picket only, first 15:", sorted(set(p) - set(g))[:15])
PY
