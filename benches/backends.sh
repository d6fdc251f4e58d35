#!/usr/bin/env bash
# picket serve on SQLite vs on PostgreSQL vs nginx serving the same pages as static files, in one
# run: project pages per second (wrk, random project of 1,000, HTML and PEP 691 JSON) and upload
# latency (p50/p99 of 200 new small wheels, each inspected).
#
# The same 1,000 projects x 5 wheels (benches/make_index.py) are uploaded to both picket
# instances through their upload API; nginx serves each project's page as picket rendered it
# (fetched once from the SQLite instance into a folder), gzip off on all three.
# wrk: 2 threads, 16 connections, BENCH_DURATION (10 s), BENCH_RUNS (3) runs each, interleaved
# across servers and formats after one warm-up of each, medians.
#
# Usage: bash benches/backends.sh     (needs wrk, nginx-light, postgresql from Debian)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
runs=${BENCH_RUNS:-3}
duration=${BENCH_DURATION:-10s}
command -v wrk >/dev/null || { echo "error: wrk not found" >&2; echo "hint: apt-get install wrk" >&2; exit 2; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "error: nginx not found" >&2; echo "hint: apt-get install nginx-light" >&2; exit 2; }

chmod 755 "$work"
pg_url=$(scripts/test-postgres start "$work/pg")
trap 'scripts/test-postgres stop "$work/pg" >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
db_url="${pg_url%/*}/picket_bench"
psql "$pg_url" -qc "CREATE DATABASE picket_bench"

"$venv/bin/python" benches/make_index.py "$work/files" 1000 5
start_picket() { # $1 data dir, $2 database URL or empty; sets $port
  port=$(free_port)
  if [ -n "$2" ]; then export PICKET_DATABASE_URL=$2; else unset PICKET_DATABASE_URL; fi
  echo "a long enough password" | "$picket" admin --data-dir "$1" create-user bench --email bench@example.org --password-stdin >/dev/null
  "$picket" admin --data-dir "$1" create-token bench 2>/dev/null >"$1.token"
  PICKET_SERVE_RATE_PROJECT_CREATE_USER=off PICKET_SERVE_RATE_PROJECT_CREATE_IP=off \
    PICKET_LOG=warn "$picket" serve --data-dir "$1" --listen "127.0.0.1:$port" >/dev/null &
  unset PICKET_DATABASE_URL
  wait_port "$port"
  "$venv/bin/python" benches/upload_all.py "$work/files" "http://127.0.0.1:$port/legacy/" "$(cat "$1.token")" >/dev/null
}
start_picket "$work/sqlite" ""
port_sqlite=$port
start_picket "$work/postgres" "$db_url"
port_pg=$port

# nginx: the same pages as static files, with the content type picket gives them.
mkdir -p "$work/static/simple" "$work/nginx"
"$venv/bin/python" - "http://127.0.0.1:$port_sqlite" "$work/static/simple" <<'EOF'
import os, sys, urllib.request
base, out = sys.argv[1], sys.argv[2]
for i in range(1000):
    name = f"bench-proj-{i:04d}"
    for accept, file in (("text/html", "index.html"), ("application/vnd.pypi.simple.v1+json", "index.json")):
        req = urllib.request.Request(f"{base}/simple/{name}/", headers={"Accept": accept})
        os.makedirs(f"{out}/{name}", exist_ok=True)
        with urllib.request.urlopen(req) as r, open(f"{out}/{name}/{file}", "wb") as f:
            f.write(r.read())
EOF
port_nginx=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
pid $work/nginx/nginx.pid; error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  types { text/html html; application/vnd.pypi.simple.v1+json json; }
  # A map, not an \`if\` in the location: inside \`if\` try_files does not apply, and nginx
  # answered the JSON requests with index.html.
  map \$http_accept \$page { default index.html; "~vnd\\.pypi\\.simple\\.v1\\+json" index.json; }
  server {
    listen 127.0.0.1:$port_nginx;
    root $work/static;
    location /simple/ {
      try_files \$uri\$page =404;
    }
  }
}
EOF
"$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
wait_port "$port_nginx"

json='application/vnd.pypi.simple.v1+json'
targets=("sqlite|$port_sqlite" "postgres|$port_pg" "nginx-static|$port_nginx")
accept_of() { if [ "$1" = json ]; then echo "$json"; else echo text/html; fi; }
measure() { # url accept -> "requests/s p99_ms"
  local out rps p99 errors
  out=$(PICKET_ACCEPT="$2" PICKET_PREFIX=/simple wrk -t2 -c16 -d"$duration" --timeout 30s --latency -s benches/random_project.lua "$1")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$errors" ] || { echo "error: $1 answered $errors non-2xx responses" >&2; exit 1; }
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  echo "$rps $p99"
}
# Every server answers each format in that format's type, and nginx with the page picket gave.
page_of() { # port format -> body, then the content type on the last line
  curl -s -w '\n%{content_type}' -H "Accept: $(accept_of "$2")" "http://127.0.0.1:$1/simple/bench-proj-0007/"
}
for format in html json; do
  for target in "${targets[@]}"; do
    IFS='|' read -r label port <<<"$target"
    answer=$(page_of "$port" "$format")
    case "$format:${answer##*$'\n'}" in
      html:text/html* | json:application/vnd.pypi.simple.v1+json*) ;;
      *) echo "error: $label answered ${answer##*$'\n'} to a $format request" >&2; exit 1 ;;
    esac
  done
  sqlite_page=$(page_of "$port_sqlite" "$format")
  nginx_page=$(page_of "$port_nginx" "$format")
  if [ "${sqlite_page%$'\n'*}" != "${nginx_page%$'\n'*}" ]; then
    echo "error: nginx's $format page is not the one picket serves" >&2
    exit 1
  fi
done
# Warm-up: every server answers every page once in both formats (picket renders each page).
for target in "${targets[@]}"; do
  IFS='|' read -r label port <<<"$target"
  for format in html json; do measure "http://127.0.0.1:$port" "$(accept_of "$format")" >/dev/null; done
done
# Runs interleaved (run 1 of every server and format, then run 2, ...): a slower stretch of the
# machine falls on every cell alike rather than on whichever format is measured first. (All HTML
# runs came first before: picket's HTML and JSON pages cost the same per request, within 1 %, in
# instructions counted under callgrind, yet HTML measured 20 % slower.)
declare -A results_of
for _ in $(seq "$runs"); do
  for format in html json; do
    for target in "${targets[@]}"; do
      IFS='|' read -r label port <<<"$target"
      results_of[$label-$format]+="$(measure "http://127.0.0.1:$port" "$(accept_of "$format")")"$'\n'
    done
  done
done
printf '%-22s %14s %10s\n' "server / format" "requests/s" "p99 ms"
declare -A rps_of
for format in html json; do
  for target in "${targets[@]}"; do
    IFS='|' read -r label _ <<<"$target"
    rps=$(awk 'NF {print $1}' <<<"${results_of[$label-$format]}" | median)
    p99=$(awk 'NF {print $2}' <<<"${results_of[$label-$format]}" | median)
    rps_of[$label-$format]=$rps
    printf '%-22s %14s %10s\n' "$label-$format" "$rps" "$p99"
  done
done
ratio() { python3 -c "print(round($1 / $2, 3))"; }
for format in html json; do
  echo "$format: postgres/sqlite $(ratio "${rps_of[postgres-$format]}" "${rps_of[sqlite-$format]}"), sqlite/nginx $(ratio "${rps_of[sqlite-$format]}" "${rps_of[nginx-static-$format]}"), postgres/nginx $(ratio "${rps_of[postgres-$format]}" "${rps_of[nginx-static-$format]}")"
done
for target in "sqlite|$port_sqlite|$work/sqlite" "postgres|$port_pg|$work/postgres"; do
  IFS='|' read -r label port dir <<<"$target"
  echo "upload latency, $label: $("$venv/bin/python" benches/upload_latency.py "http://127.0.0.1:$port/legacy/" "$(cat "$dir.token")" 200 "lat-$label")"
done
