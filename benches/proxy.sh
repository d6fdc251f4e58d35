#!/usr/bin/env bash
# picket proxy vs devpi-server (as a mirror) and proxpi, side by side in front of one upstream:
#
# 1. Warm page throughput and p99: wrk (2 threads, 16 connections, $BENCH_DURATION, a random one
#    of 1,000 projects a request, benches/random_project.lua), $BENCH_RUNS runs, medians; against
#    the upstream's own pages (`picket serve`, the goal: the proxy within 10% of it). Flat out,
#    then paced (1 ms between requests on each connection), so the tails compare at one rate.
# 2. Cold miss: 100 projects never asked before, each GET to the upstream and then through the
#    proxy on a new connection; the median each, and what the proxy adds (goal: <= 5 ms).
# 3. A herd: 100 clients ask at once for one uncached 64 MiB wheel (the upstream sends about
#    50 MiB/s, so all arrive mid-fetch); how many times each proxy fetched it upstream (goal: 1).
#
# Upstream: `picket serve` with 1,000 projects x 2 wheels (benches/make_index.py), and a counting
# stand-in for the herd (benches/proxy_bench.py). Everything on loopback.
#
# Usage: bash benches/proxy.sh        (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
work=${BENCH_DIR:-$target/bench-proxy}
venv=${BENCH_PROXY_VENV:-$target/bench-proxy-venv}
runs=${BENCH_RUNS:-3}
duration=${BENCH_DURATION:-10s}
command -v wrk >/dev/null || { echo "error: wrk not found" >&2; echo "hint: apt-get install wrk" >&2; exit 2; }

if [ ! -x "$venv/bin/devpi-server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check devpi-server==6.20.3 proxpi==1.3.1 \
    gunicorn==27.0.1 requests
fi
cargo build -q --release --locked
picket=$target/release/picket
py=$venv/bin/python

rm -rf "$work" && mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The upstream: picket serve with 1,000 projects x 2 wheels, uploaded through its own API.
"$py" benches/make_index.py "$work/files" 1000 2
echo "a long enough password" | "$picket" admin --data-dir "$work/upstream" create-user bench --email bench@example.org --password-stdin >/dev/null
token=$("$picket" admin --data-dir "$work/upstream" create-token bench 2>/dev/null)
port_up=$(free_port)
PICKET_SERVE_RATE_PROJECT_CREATE_USER=off PICKET_SERVE_RATE_PROJECT_CREATE_IP=off \
  PICKET_LOG=warn "$picket" serve --data-dir "$work/upstream" --listen "127.0.0.1:$port_up" >/dev/null &
pids+=($!)
wait_port "$port_up"
"$py" benches/upload_all.py "$work/files" "http://127.0.0.1:$port_up/legacy/" "$token"
upstream="http://127.0.0.1:$port_up/simple/"

# The three proxies, each with its own cache, in front of it.
start_proxies() { # $1: upstream simple URL, $2: suffix for folders; sets port_picket port_devpi port_proxpi
  port_picket=$(free_port)
  PICKET_LOG=warn "$picket" proxy --data-dir "$work/picket-$2" --listen "127.0.0.1:$port_picket" --upstream "$1" >/dev/null &
  pids+=($!)
  "$venv/bin/devpi-init" --serverdir "$work/devpi-$2" --no-root-pypi >/dev/null 2>&1
  port_devpi=$(free_port)
  "$venv/bin/devpi-server" --serverdir "$work/devpi-$2" --host 127.0.0.1 --port "$port_devpi" >/dev/null 2>&1 &
  pids+=($!)
  port_proxpi=$(free_port)
  PROXPI_INDEX_URL="$1" PROXPI_CACHE_DIR="$work/proxpi-$2" PROXPI_INDEX_TTL=1800 \
    "$venv/bin/gunicorn" --bind "127.0.0.1:$port_proxpi" --workers 2 --threads 8 proxpi.server:app >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$port_picket"; wait_port "$port_devpi"; wait_port "$port_proxpi"
  "$py" benches/proxy_bench.py devpi-mirror "http://127.0.0.1:$port_devpi" "$1"
}
start_proxies "$upstream" pages
simple_picket="http://127.0.0.1:$port_picket/simple/"
simple_devpi="http://127.0.0.1:$port_devpi/bench/mirror/+simple/"
simple_proxpi="http://127.0.0.1:$port_proxpi/index/"

echo "cold miss: 100 projects, median ms (upstream direct, through the proxy, added)"
printf '  %-12s %s\n' picket "$("$py" benches/proxy_bench.py cold "$upstream" "$simple_picket" 0 100)"
printf '  %-12s %s\n' devpi "$("$py" benches/proxy_bench.py cold "$upstream" "$simple_devpi" 0 100)"
printf '  %-12s %s\n' proxpi "$("$py" benches/proxy_bench.py cold "$upstream" "$simple_proxpi" 0 100)"

for s in "$simple_picket" "$simple_devpi" "$simple_proxpi"; do "$py" benches/proxy_bench.py warm "$s" 1000; done

# One wrk run: prints "requests/s p99_ms".
measure() {
  local url=$1 prefix=$2 out rps p99 errors
  out=$(PICKET_ACCEPT="text/html" PICKET_PREFIX="$prefix" PICKET_DELAY_MS="${PICKET_DELAY_MS:-}" wrk -t2 -c16 -d"$duration" --timeout 30s --latency -s benches/random_project.lua "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$errors" ] || { echo "error: $url answered $errors non-2xx responses" >&2; exit 1; }
  echo "$rps $p99"
}
echo
echo "warm pages (HTML), wrk -t2 -c16 -d$duration, median of $runs runs"
printf '  %-26s %12s %9s\n' "server" "requests/s" "p99 ms"
declare -A rps_of
for t in "picket serve (upstream)|http://127.0.0.1:$port_up|/simple" \
         "picket proxy|http://127.0.0.1:$port_picket|/simple" \
         "devpi-server mirror|http://127.0.0.1:$port_devpi|/bench/mirror/+simple" \
         "proxpi (gunicorn 2x8)|http://127.0.0.1:$port_proxpi|/index"; do
  IFS='|' read -r label url prefix <<<"$t"
  results=()
  for _ in $(seq "$runs"); do results+=("$(measure "$url" "$prefix")"); done
  rps=$(printf '%s\n' "${results[@]}" | awk '{print $1}' | median)
  p99=$(printf '%s\n' "${results[@]}" | awk '{print $2}' | median)
  rps_of[$label]=$rps
  printf '  %-26s %12s %9s\n' "$label" "$rps" "$p99"
done
ratio() { python3 -c "print(round($1 / $2, 2))"; }
echo "  picket proxy / picket serve: $(ratio "${rps_of[picket proxy]}" "${rps_of[picket serve (upstream)]}")"
# The same at a paced load (each connection waits 1 ms between requests: at most 16,000 req/s,
# below both servers' capacity), so the tails compare at one offered rate.
echo "  paced (16 connections, 1 ms between requests each): requests/s, p99 ms, median of $runs"
for t in "picket serve (upstream)|http://127.0.0.1:$port_up|/simple" \
         "picket proxy|http://127.0.0.1:$port_picket|/simple"; do
  IFS='|' read -r label url prefix <<<"$t"
  results=()
  for _ in $(seq "$runs"); do results+=("$(PICKET_DELAY_MS=1 measure "$url" "$prefix")"); done
  printf '  %-26s %12s %9s\n' "$label" "$(printf '%s\n' "${results[@]}" | awk '{print $1}' | median)" "$(printf '%s\n' "${results[@]}" | awk '{print $2}' | median)"
done
echo "  picket proxy / devpi: $(ratio "${rps_of[picket proxy]}" "${rps_of[devpi-server mirror]}"), / proxpi: $(ratio "${rps_of[picket proxy]}" "${rps_of[proxpi (gunicorn 2x8)]}")"

# The herd, against a counting upstream, with fresh proxies.
cleanup; pids=()
port_files=$(free_port)
"$py" benches/proxy_bench.py file-upstream "$port_files" 64 &
pids+=($!)
wait_port "$port_files"
files_up="http://127.0.0.1:$port_files/simple/"
echo
echo "herd: 100 clients at once for one uncached 64 MiB wheel (upstream fetches, answers, slowest)"
for which in picket devpi proxpi; do
  start_proxies "$files_up" "herd-$which"
  case $which in
    picket) s="http://127.0.0.1:$port_picket/simple/" ;;
    devpi) s="http://127.0.0.1:$port_devpi/bench/mirror/+simple/" ;;
    proxpi) s="http://127.0.0.1:$port_proxpi/index/" ;;
  esac
  before=$(curl -s "http://127.0.0.1:$port_files/count")
  answers=$("$py" benches/proxy_bench.py herd "$s" 100)
  after=$(curl -s "http://127.0.0.1:$port_files/count")
  printf '  %-8s fetched upstream %s time(s); %s\n' "$which" "$((after - before))" "$answers"
  for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done
  pids=("${pids[0]}")
done
