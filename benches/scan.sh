#!/usr/bin/env bash
# picket scan and db import-osv speed, and pip-audit side by side on the same records.
#
# The PyPI all.zip of OSV can't be downloaded in a benchmark (no network), so benches/osv_corpus.py
# writes one of the real size (40,000 records by default) and a 500-dependency project pinned to
# projects it names. pip-audit reads the same records through tests/support/osv_api.py (a loopback
# stand-in for the OSV query API). Whole-process wall times, medians of 5 (3 for pip-audit).
# Needs .venv from scripts/test (pip-audit). Release build from this working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-40000}
source benches/lib.sh

python3 benches/osv_corpus.py "$work/corpus" "$records" ../shared/data/pypi-snapshot.tsv.gz
times=(); for _ in 1 2 3; do times+=("$(wall "$picket" db import-osv "$work/corpus/all.zip" --data-dir "$work/data")"); done
echo "import-osv all.zip ($records records): median $(printf '%s\n' "${times[@]}" | median) s (runs: ${times[*]})"

for file in uv.lock requirements.txt; do
  times=(); for _ in 1 2 3 4 5; do times+=("$(wall "$picket" scan --offline --data-dir "$work/data" "$work/corpus/project/$file")"); done
  echo "picket scan, 500 dependencies ($file): median $(printf '%s\n' "${times[@]}" | median) s (runs: ${times[*]})"
done

port=$(free_port)
"$venv/bin/python" tests/support/osv_api.py "$work/corpus/all.zip" "$port" &
wait_port "$port"
audit() { # requirements
  rm -rf "$work/cache"
  "$venv/bin/pip-audit" -r "$1" --disable-pip -s osv --osv-url "http://127.0.0.1:$port/v1/query" \
    -f json --progress-spinner off --cache-dir "$work/cache"
}
times=(); for _ in 1 2 3; do times+=("$(wall audit "$work/corpus/project/requirements.txt")"); done
echo "pip-audit, 500 dependencies (requirements.txt, loopback OSV): median $(printf '%s\n' "${times[@]}" | median) s (runs: ${times[*]})"
ours=$({ "$picket" --format json scan --offline --data-dir "$work/data" "$work/corpus/project/requirements.txt" 2>/dev/null || true; } |
  python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(len(p['vulnerabilities']) for p in d['packages']))")
theirs=$({ audit "$work/corpus/project/requirements.txt" 2>/dev/null || true; } |
  python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(len(p['vulns']) for p in d['dependencies']))")
echo "  advisories found: picket $ours, pip-audit $theirs"

# The fixture project (7 dependencies, tests/fixtures/deps/uv/requirements.txt) on the fixture records.
"$picket" db import-osv crates/picket-osv/tests/fixtures/osv --data-dir "$work/small" >/dev/null 2>&1
kill %1; wait %1 2>/dev/null || true
"$venv/bin/python" tests/support/osv_api.py crates/picket-osv/tests/fixtures/osv "$port" &
wait_port "$port"
times=(); for _ in 1 2 3 4 5; do times+=("$(wall "$picket" scan --offline --data-dir "$work/small" tests/fixtures/deps/uv/requirements.txt)"); done
echo "picket scan, fixture (7 dependencies): median $(printf '%s\n' "${times[@]}" | median) s (runs: ${times[*]})"
times=(); for _ in 1 2 3; do times+=("$(wall audit tests/fixtures/deps/uv/requirements.txt)"); done
echo "pip-audit, fixture (7 dependencies): median $(printf '%s\n' "${times[@]}" | median) s (runs: ${times[*]})"
