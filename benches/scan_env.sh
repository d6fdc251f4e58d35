#!/usr/bin/env bash
# `picket scan --env` against `pip-audit -l` on one installed environment, the same advisories.
#
# benches/osv_corpus.py writes an OSV all.zip of the real size (no network in benchmarks) and a
# project pinning names it covers, a fifth at affected versions; benches/env_wheels.py makes
# wheels of the first N pins (FILES modules of ~8 KiB each); pip installs them (--no-index) into
# a fresh `python -m venv`, so every RECORD is pip's. picket reads the imported records and hashes
# every installed file; pip-audit asks the same records of the loopback OSV stand-in
# (tests/support/osv_api.py) about the environment (PIPAPI_PYTHON_LOCATION: that venv's python).
# Whole-process wall times, medians of 5 (3 for pip-audit), and the vulnerabilities each found.
# picket is timed three ways, each reported on its own:
# - cold: the verified-hash cache removed before each run, so every file with a digest is read
#   and hashed (and the cache written) — what a first scan costs;
# - warm: the cache kept from the previous run (the environment unchanged), so no file is read;
# - with --record-sizes-only (sizes compared with RECORD, nothing hashed, no cache).
# The files and bytes hashed in a cold and a warm run are printed (`--verbose`).
#
# Usage: benches/scan_env.sh [DISTRIBUTIONS=300] [RECORDS=40000] [FILES=20]
# Needs .venv from scripts/test (pip-audit). Release build from this working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
dists=${1:-300}
records=${2:-40000}
files=${3:-20}
source benches/lib.sh

python3 benches/osv_corpus.py "$work/corpus" "$records" ../shared/data/pypi-snapshot.tsv.gz
"$picket" db import-osv "$work/corpus/all.zip" --data-dir "$work/data" >/dev/null 2>&1
python3 benches/env_wheels.py "$work/corpus/project/requirements.txt" "$work/wheels" "$dists" "$files" >"$work/pins.txt"
"$venv/bin/python" -m venv "$work/env"
"$work/env/bin/python" -m pip install -q --disable-pip-version-check --no-index --no-deps \
  --find-links "$work/wheels" -r "$work/pins.txt"
installed=$(find "$work/env" -type f | wc -l)
echo "environment: $dists distributions (+ pip's own), $installed files, $(du -sh "$work/env" | cut -f1)"
sleep 2 # the hash cache keeps no file changed in the last 2 s (see crates/picket-env/src/cache.rs)

scan() { "$picket" scan --offline --env "$work/env" --data-dir "$work/data" "$@"; }
hashed() { scan --verbose 2>&1 >/dev/null | grep '^note: hashed' || true; }
times=(); for _ in 1 2 3 4 5; do rm -rf "$work/data/hash-cache"; times+=("$(wall scan)"); done
cold_time=$(printf '%s\n' "${times[@]}" | median)
echo "picket scan --env, cold (no hash cache): median $cold_time s (runs: ${times[*]})"
rm -rf "$work/data/hash-cache"; echo "  cold: $(hashed)"
times=(); for _ in 1 2 3 4 5; do times+=("$(wall scan)"); done
warm_time=$(printf '%s\n' "${times[@]}" | median)
echo "picket scan --env, warm (hash cache from the previous run): median $warm_time s (runs: ${times[*]})"
echo "  warm: $(hashed)"
# The explicit opt-out: sizes compared with RECORD, nothing hashed (a weaker tamper check).
times=(); for _ in 1 2 3 4 5; do times+=("$(wall scan --record-sizes-only)"); done
sizes_time=$(printf '%s\n' "${times[@]}" | median)
echo "picket scan --env --record-sizes-only: median $sizes_time s (runs: ${times[*]})"

port=$(free_port)
"$venv/bin/python" tests/support/osv_api.py "$work/corpus/all.zip" "$port" &
wait_port "$port"
audit() {
  rm -rf "$work/cache"
  PIPAPI_PYTHON_LOCATION="$work/env/bin/python" "$venv/bin/pip-audit" -l -s osv \
    --osv-url "http://127.0.0.1:$port/v1/query" -f json --progress-spinner off --cache-dir "$work/cache"
}
times=(); for _ in 1 2 3; do times+=("$(wall audit)"); done
theirs_time=$(printf '%s\n' "${times[@]}" | median)
echo "pip-audit -l: median $theirs_time s (runs: ${times[*]})"
python3 -c "print(f'ratio: picket is {$theirs_time / $cold_time:.1f}x faster cold, {$theirs_time / $warm_time:.1f}x warm ({$theirs_time / $sizes_time:.1f}x with --record-sizes-only)')"

ours=$({ "$picket" --format json scan --offline --env "$work/env" --data-dir "$work/data" 2>/dev/null || true; } |
  python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(len(p['vulnerabilities']) for p in d['packages']), 'vulnerabilities,', sum(f['id']=='tampered' for p in d['packages'] for f in p['findings']), 'tampered')")
theirs=$({ audit 2>/dev/null || true; } |
  python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(len(p['vulns']) for p in d['dependencies']), 'vulnerabilities')")
echo "  found: picket $ours; pip-audit $theirs"
