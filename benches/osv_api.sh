#!/usr/bin/env bash
# The OSV API of `picket serve` and the loopback OSV stand-in (tests/support/osv_api.py, Python's
# http.server) side by side, on the same records (benches/osv_corpus.py: 40,000 records of the real
# PyPI shape): `POST /v1/querybatch` of 1,000 packages, and pip-audit on a 500-dependency
# requirements.txt through each. Wall times of whole requests (curl) and processes; medians.
# Needs .venv from scripts/test (pip-audit). Release build from this working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-40000}
source benches/lib.sh

python3 benches/osv_corpus.py "$work/corpus" "$records" ../shared/data/pypi-snapshot.tsv.gz >/dev/null
"$picket" db import-osv "$work/corpus/all.zip" --data-dir "$work/data" >/dev/null 2>&1
ours=$(free_port); theirs=$(free_port)
PICKET_LOG=warn "$picket" serve --listen "127.0.0.1:$ours" --data-dir "$work/data" >/dev/null 2>&1 &
"$venv/bin/python" tests/support/osv_api.py "$work/corpus/all.zip" "$theirs" >/dev/null 2>&1 &
wait_port "$ours"; wait_port "$theirs"

# 1,000 queries: one per project the records name, at the first version each record lists.
python3 - "$work/corpus/all.zip" "$work/batch.json" <<'PY'
import json, sys, zipfile
queries, seen = [], set()
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        r = json.loads(z.read(n))
        for a in r.get("affected", []):
            name = a["package"]["name"].lower()
            if a.get("versions") and name not in seen and len(queries) < 1000:
                seen.add(name)
                queries.append({"package": {"name": name, "ecosystem": "PyPI"}, "version": a["versions"][0]})
json.dump({"queries": queries}, open(sys.argv[2], "w"))
PY
batch() { curl -s -o "$work/answer.json" -w '%{time_total}\n' -X POST --data-binary @"$work/batch.json" "http://127.0.0.1:$1/v1/querybatch"; }
count() { python3 -c "import json; d=json.load(open('$work/answer.json')); print(sum(len(r.get('vulns', [])) for r in d['results']))"; }
for who in ours theirs; do
  port=${!who}
  batch "$port" >/dev/null # picket reads the records on first use; both warm
  times=(); for _ in $(seq 21); do times+=("$(batch "$port")"); done
  echo "querybatch, 1,000 packages, $who: median $(printf '%s\n' "${times[@]}" | median) s, $(count) records answered (runs: ${times[*]})"
done

audit() { # port
  rm -rf "$work/cache"
  local start end
  start=$(date +%s.%N)
  "$venv/bin/pip-audit" -r "$work/corpus/project/requirements.txt" --disable-pip --no-deps -s osv \
    --osv-url "http://127.0.0.1:$1/v1/query" -f json --progress-spinner off --cache-dir "$work/cache" \
    >"$work/audit.json" 2>/dev/null || true
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 3))"
}
for who in ours theirs; do
  port=${!who}
  times=(); for _ in 1 2 3; do times+=("$(audit "$port")"); done
  found=$(python3 -c "import json; d=json.load(open('$work/audit.json')); print(sum(len(p['vulns']) for p in d['dependencies']))")
  echo "pip-audit, 500 dependencies, through $who: median $(printf '%s\n' "${times[@]}" | median) s, $found advisories (runs: ${times[*]})"
done
