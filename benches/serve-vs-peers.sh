#!/usr/bin/env bash
# picket serve vs pypiserver and devpi-server: simple-API throughput and p99 latency with wrk,
# 500 twine uploads in a row, and idle memory.
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
venv=${BENCH_SERVE_VENV:-$root/target/bench-serve-venv}
runs=${BENCH_RUNS:-3}
duration=${BENCH_DURATION:-10s}
command -v wrk >/dev/null || { echo "error: wrk not found" >&2; echo "hint: apt-get install wrk" >&2; exit 2; }

if [ ! -x "$venv/bin/pypi-server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check pypiserver==2.4.2 waitress==3.0.2 \
    devpi-server==6.20.3 twine==7.0.0 requests
fi
cargo build -q --release --locked
picket=$root/target/release/picket

rm -rf "$work" && mkdir -p "$work"
"$venv/bin/python" benches/make_index.py "$work/files" 1000 5
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# picket: empty, then 1,000 projects uploaded through its own upload API.
echo "a long enough password" | "$picket" admin --data-dir "$work/picket" create-user bench --email bench@example.org --password-stdin >/dev/null
token=$("$picket" admin --data-dir "$work/picket" create-token bench 2>/dev/null)
port_picket=$(free_port)
# One account creates thousands of projects here: the per-account/per-address project limits
# (PyPI: 20/40 an hour) would measure the limiter, not the index.
PICKET_SERVE_RATE_PROJECT_CREATE_USER=off PICKET_SERVE_RATE_PROJECT_CREATE_IP=off \
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
"$venv/bin/pypi-server" run --disable-fallback --server wsgiref -i 127.0.0.1 -p "$port_pypi" -a . -P . "$work/files" >/dev/null 2>&1 &
pids+=($!)
port_waitress=$(free_port)
"$venv/bin/pypi-server" run --disable-fallback --server auto -i 127.0.0.1 -p "$port_waitress" -a . -P . "$work/files" >/dev/null 2>&1 &
pids+=($!)
wait_port "$port_pypi"; wait_port "$port_waitress"

# devpi-server: its own index (no PyPI base, offline), the same 5,000 files uploaded to it.
"$venv/bin/devpi-init" --serverdir "$work/devpi" --no-root-pypi >/dev/null 2>&1
port_devpi=$(free_port)
"$venv/bin/devpi-server" --serverdir "$work/devpi" --host 127.0.0.1 --port "$port_devpi" --offline-mode >/dev/null 2>&1 &
pids+=($!)
wait_port "$port_devpi"
start=$(date +%s.%N)
"$venv/bin/python" benches/devpi_setup.py "http://127.0.0.1:$port_devpi" "$work/files"
devpi_upload_s=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

# One wrk run: prints "requests/s p99_ms".
measure() {
  local url=$1 accept=$2 prefix=$3 out
  # A 30 s timeout, so slow servers' latencies are measured rather than dropped as timeouts.
  out=$(PICKET_ACCEPT="$accept" PICKET_PREFIX="$prefix" wrk -t2 -c16 -d"$duration" --timeout 30s --latency -s benches/random_project.lua "$url")
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
for target in "picket-json|http://127.0.0.1:$port_picket|$json|/simple" \
              "picket-html|http://127.0.0.1:$port_picket|text/html|/simple" \
              "pypiserver-html (wsgiref)|http://127.0.0.1:$port_pypi||/simple" \
              "pypiserver-html (auto: waitress)|http://127.0.0.1:$port_waitress||/simple" \
              "devpi-json|http://127.0.0.1:$port_devpi|$json|/bench/dev/+simple" \
              "devpi-html|http://127.0.0.1:$port_devpi|text/html|/bench/dev/+simple"; do
  IFS='|' read -r label url accept prefix <<<"$target"
  results=()
  for _ in $(seq "$runs"); do results+=("$(measure "$url" "$accept" "$prefix")"); done
  rps=$(printf '%s\n' "${results[@]}" | awk '{print $1}' | median)
  p99=$(printf '%s\n' "${results[@]}" | awk '{print $2}' | median)
  rps_of[$label]=$rps
  printf '%-34s %14s %10s\n' "$label" "$rps" "$p99"
done
echo
ratio() { python3 -c "print(round($1 / $2, 1))"; }
echo "ratio picket-html / pypiserver (wsgiref): $(ratio "${rps_of[picket-html]}" "${rps_of[pypiserver-html (wsgiref)]}")x"
echo "ratio picket-html / pypiserver (auto: waitress): $(ratio "${rps_of[picket-html]}" "${rps_of[pypiserver-html (auto: waitress)]}")x"
echo "ratio picket-html / devpi: $(ratio "${rps_of[picket-html]}" "${rps_of[devpi-html]}")x"
echo "picket RSS: empty index $((rss_empty / 1024)) MiB, 1,000 projects x 5 files $((rss_full / 1024)) MiB"
echo "5,000 uploads (4 at a time): picket ${upload_s}s, devpi-server ${devpi_upload_s}s"

# 500 twine uploads in a row (one file per twine process, as CI pipelines do): median latency of
# the whole twine run, picket vs pypiserver (which stores files in its folder).
"$venv/bin/python" benches/make_index.py "$work/twine" 500 1 twine-proj
mkdir -p "$work/pypi-upload"
port_pypi_up=$(free_port)
"$venv/bin/pypi-server" run --disable-fallback -i 127.0.0.1 -p "$port_pypi_up" -a . -P . "$work/pypi-upload" >/dev/null 2>&1 &
pids+=($!)
wait_port "$port_pypi_up"
twine_series() {
  local url=$1 user=$2 password=$3 times=()
  for f in "$work/twine"/*.whl; do
    local t0 t1
    t0=$(date +%s%N)
    PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring "$venv/bin/twine" upload --non-interactive --disable-progress-bar \
      --repository-url "$url" -u "$user" -p "$password" "$f" >/dev/null 2>&1 || { echo "twine failed on $f" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | median
}
# pypiserver runs without authentication (-P .); picket checks the token and inspects every file.
picket_twine=$(twine_series "http://127.0.0.1:$port_picket/legacy/" __token__ "$token")
pypi_twine=$(twine_series "http://127.0.0.1:$port_pypi_up/" anyone anything)
echo "500 twine uploads, median per upload (whole twine process): picket ${picket_twine} ms, pypiserver ${pypi_twine} ms"
