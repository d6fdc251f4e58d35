#!/usr/bin/env bash
# picket serve vs pypiserver: simple-API throughput and p99 latency with wrk, and idle memory.
#
# Index: 1,000 projects x 5 wheels (benches/make_index.py). wrk: 2 threads, 16 connections,
# 10 s, random project per request (benches/random_project.lua), 3 runs each; medians reported.
# Everything on loopback; pypiserver runs with --disable-fallback so nothing leaves the machine.
#
# Usage: bash benches/serve-vs-peers.sh        (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${BENCH_DIR:-$root/target/bench-serve}
venv=${BENCH_VENV:-$root/target/bench-venv}
runs=${BENCH_RUNS:-3}
duration=${BENCH_DURATION:-10s}
command -v wrk >/dev/null || { echo "error: wrk not found" >&2; echo "hint: apt-get install wrk" >&2; exit 2; }

if [ ! -x "$venv/bin/pypi-server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check pypiserver==2.4.2 waitress==3.0.2 requests
fi
cargo build -q --release --locked
picket=$root/target/release/picket

rm -rf "$work" && mkdir -p "$work"
"$venv/bin/python" benches/make_index.py "$work/files" 1000 5
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# picket: empty, then 1,000 projects uploaded through its own upload API.
echo "a long enough password" | "$picket" admin --data-dir "$work/picket" create-user bench --email bench@example.org --password-stdin >/dev/null
token=$("$picket" admin --data-dir "$work/picket" create-token bench 2>/dev/null)
port_picket=$(free_port)
PICKET_LOG=warn "$picket" serve --data-dir "$work/picket" --listen "127.0.0.1:$port_picket" >/dev/null &
pids+=($!); picket_pid=$!
wait_port "$port_picket"; sleep 1
rss_empty=$(rss_kib "$picket_pid")
start=$(date +%s.%N)
"$venv/bin/python" benches/upload_all.py "$work/files" "http://127.0.0.1:$port_picket/legacy/" "$token"
upload_s=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
sleep 2
rss_full=$(rss_kib "$picket_pid")

port_pypi=$(free_port)
"$venv/bin/pypi-server" run --disable-fallback -i 127.0.0.1 -p "$port_pypi" -a . -P . "$work/files" >/dev/null 2>&1 &
pids+=($!)
port_waitress=$(free_port)
"$venv/bin/pypi-server" run --disable-fallback --server waitress -i 127.0.0.1 -p "$port_waitress" -a . -P . "$work/files" >/dev/null 2>&1 &
pids+=($!)
wait_port "$port_pypi"; wait_port "$port_waitress"

# One wrk run: prints "requests/s p99_ms".
measure() {
  local url=$1 accept=$2 out
  out=$(PICKET_ACCEPT="$accept" wrk -t2 -c16 -d"$duration" --latency -s benches/random_project.lua "$url")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$errors" ] || { echo "error: $url answered $errors non-2xx responses" >&2; exit 1; }
  echo "$rps $p99"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

json='application/vnd.pypi.simple.v1+json'
printf '%-34s %14s %10s\n' "server / format" "requests/s" "p99 ms"
declare -A rps_of
for target in "picket-json|http://127.0.0.1:$port_picket|$json" \
              "picket-html|http://127.0.0.1:$port_picket|text/html" \
              "pypiserver-html (default server)|http://127.0.0.1:$port_pypi|" \
              "pypiserver-html (waitress)|http://127.0.0.1:$port_waitress|"; do
  IFS='|' read -r label url accept <<<"$target"
  results=()
  for _ in $(seq "$runs"); do results+=("$(measure "$url" "$accept")"); done
  rps=$(printf '%s\n' "${results[@]}" | awk '{print $1}' | median)
  p99=$(printf '%s\n' "${results[@]}" | awk '{print $2}' | median)
  rps_of[$label]=$rps
  printf '%-34s %14s %10s\n' "$label" "$rps" "$p99"
done
echo
ratio() { python3 -c "print(round($1 / $2, 1))"; }
echo "ratio picket-html / pypiserver (default): $(ratio "${rps_of[picket-html]}" "${rps_of[pypiserver-html (default server)]}")x"
echo "ratio picket-html / pypiserver (waitress): $(ratio "${rps_of[picket-html]}" "${rps_of[pypiserver-html (waitress)]}")x"
echo "picket RSS: empty index $((rss_empty / 1024)) MiB, 1,000 projects x 5 files $((rss_full / 1024)) MiB"
echo "picket: 5,000 uploads through /legacy/ (4 at a time) in ${upload_s}s"
