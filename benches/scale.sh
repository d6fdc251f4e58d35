#!/usr/bin/env bash
# picket serve at PyPI's size (issue 15, item 4): a synthetic index of PICKET_SCALE_PROJECTS
# projects (default 900,000; the names of ../shared/data/pypi-snapshot.tsv.gz when present) with
# 4 files each, made directly in the store (crates/picket-store/examples/synthetic_index.rs).
# Then: start-up time and resident memory, the /simple/ root list (first answer, which builds
# every part; then warm, gzip, JSON and HTML; then after uploads, which re-render one part each),
# project pages under wrk, and upload latency.
#
# Usage: bash benches/scale.sh              SQLite: the index is kept in target/scale-N between
#                                           runs and each run serves a copy of it
#        bash benches/scale.sh --postgres   PostgreSQL: a throw-away cluster (scripts/test-postgres,
#                                           fsync off) in a scratch folder under $TMPDIR, filled
#                                           afresh each run (the loader's time is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${PICKET_SCALE_BACKEND:-sqlite}
for arg in "$@"; do
  case $arg in
    --postgres) backend=postgres ;;
    --sqlite) backend=sqlite ;;
    *) echo "usage: bash benches/scale.sh [--postgres]" >&2; exit 2 ;;
  esac
done
source benches/lib.sh
cargo build --release -q -p picket-store --example synthetic_index
projects=${PICKET_SCALE_PROJECTS:-900000}
names=""
if [ -f ../shared/data/pypi-snapshot.tsv.gz ]; then
  names=$work/names.txt
  zcat ../shared/data/pypi-snapshot.tsv.gz | cut -f1 > "$names"
fi
load_note=""
if [ "$backend" = postgres ]; then
  chmod 755 "$work"
  pg_url=$(scripts/test-postgres start "$work/pg")
  trap 'scripts/test-postgres stop "$work/pg" >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
  export PICKET_DATABASE_URL="${pg_url%/*}/picket_scale"
  psql "$pg_url" -qc "CREATE DATABASE picket_scale"
  mkdir -p "$work/data"
  load_start=$(date +%s.%N)
  target/release/examples/synthetic_index "$work/data" "$projects" 4 $names
  load_s=$(python3 -c "print(round($(date +%s.%N) - $load_start, 1))")
  psql "$PICKET_DATABASE_URL" -qc "VACUUM ANALYZE"
  db_size=$(psql "$PICKET_DATABASE_URL" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")
  load_note="PostgreSQL $(psql "$pg_url" -Atc 'SHOW server_version'): loaded in ${load_s}s, database $db_size"
else
  data=${PICKET_SCALE_DIR:-$PWD/target/scale-$projects}
  if [ ! -f "$data/.complete" ]; then
    rm -rf "$data"
    target/release/examples/synthetic_index "$data" "$projects" 4 $names
    touch "$data/.complete"
  fi
  cp -r "$data" "$work/data"
  load_note="SQLite: $(du -sh "$work/data/picket.db" | cut -f1)"
fi
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo "a long enough password" | "$picket" admin --data-dir "$work/data" create-user bench --email bench@example.org --password-stdin >/dev/null
token=$("$picket" admin --data-dir "$work/data" create-token bench 2>/dev/null)
port=$(free_port)
start=$(date +%s.%N)
PICKET_SERVE_RATE_PROJECT_CREATE_USER=off PICKET_SERVE_RATE_PROJECT_CREATE_IP=off PICKET_LOG=warn \
  "$picket" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
wait_port "$port"
startup=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
sleep 1
rss_start=$(rss_kib "$pid")
base=http://127.0.0.1:$port
json="Accept: application/vnd.pypi.simple.v1+json"
first=$(curl -s -o /dev/null -w '%{time_total}' -H 'Accept-Encoding: gzip' "$base/simple/")
size_gz=$(curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' "$base/simple/")
size_raw=$(curl -s -o /dev/null -w '%{size_download}' "$base/simple/")
listed=$(curl -s -H "$json" "$base/simple/" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["projects"]))')
root_ms() { # median ms of 11 requests with extra curl arguments
  for _ in $(seq 11); do curl -s -o /dev/null -w '%{time_total}\n' "$@" "$base/simple/"; done | median | python3 -c 'import sys; print(round(float(sys.stdin.read()) * 1000, 1))'
}
warm_html_gz=$(root_ms -H 'Accept-Encoding: gzip')
warm_json_gz=$(root_ms -H 'Accept-Encoding: gzip' -H "$json")
rss_root=$(rss_kib "$pid")
# Project pages: random names of the index.
curl -s -H "$json" "$base/simple/" | python3 -c 'import json,sys,re; ps=json.load(sys.stdin)["projects"]; [print(re.sub(r"[-_.]+","-",p["name"]).lower()) for p in ps[::max(1,len(ps)//5000)]]' > "$work/names"
pages=$(PICKET_NAMES="$work/names" wrk -t2 -c16 -d"${BENCH_DURATION:-10s}" -s benches/random_name.lua "$base" | awk '/Requests\/sec/ {print $2}')
# Uploads of new projects, each changing one part of the root list.
uploads=$("$venv/bin/python" benches/upload_latency.py "$base/legacy/" "$token" 200 scale-bench)
after=$(curl -s -o /dev/null -w '%{time_total}' -H 'Accept-Encoding: gzip' "$base/simple/")
rss_end=$(rss_kib "$pid")
echo "backend: $load_note"
echo "projects: $listed listed; root list $size_raw bytes, $size_gz gzip"
echo "start-up: ${startup}s to listening; RSS $((rss_start / 1024)) MiB at start, $((rss_root / 1024)) MiB with the root list built, $((rss_end / 1024)) MiB at the end"
echo "root list: first answer (builds every part) ${first}s; warm gzip median HTML ${warm_html_gz} ms, JSON ${warm_json_gz} ms; first answer after 200 uploads ${after}s"
echo "project pages (random of $(wc -l < "$work/names")), wrk 2x16 ${BENCH_DURATION:-10s}: ${pages} req/s"
echo "upload latency over 200 new projects, ms (median p99): $uploads"
