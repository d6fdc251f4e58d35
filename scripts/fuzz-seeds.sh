#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the committed fixtures, so fuzzing starts from real tool output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus="$root/fuzz/corpus"
mkdir -p "$corpus"/{archive,core_metadata,entry_points,requirements,lock_files,dist_filename}
fixtures="$root/tests/fixtures"
for f in "$fixtures"/dists/*; do
  base=$(basename "$f")
  case "$base" in
    *.whl) sel='\x00' ;; *.tar.gz) sel='\x01' ;; *.zip) sel='\x02' ;; *) continue ;;
  esac
  { printf "$sel"; cat "$f"; } >"$corpus/archive/$base"
  printf '%s' "$base" >"$corpus/dist_filename/$base"
done
python3 - "$fixtures/dists" "$corpus" <<'PY'
import pathlib, sys, tarfile, zipfile
dists, corpus = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in dists.iterdir():
    if path.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
    elif path.name.endswith(".tar.gz"):
        with tarfile.open(path) as t:
            members = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
    else:
        continue
    for name, data in members.items():
        leaf = name.rsplit("/", 1)[-1]
        target = {"METADATA": "core_metadata", "PKG-INFO": "core_metadata",
                  "entry_points.txt": "entry_points"}.get(leaf)
        if target:
            (corpus / target / f"{path.name}-{leaf}").write_bytes(data)
PY
cp "$fixtures"/deps/uv/requirements.txt "$corpus/requirements/uv-requirements.txt"
for f in uv/uv.lock uv/pylock.toml uv/pyproject.toml poetry/poetry.lock poetry/pyproject.toml pipenv/Pipfile.lock; do
  cp "$fixtures/deps/$f" "$corpus/lock_files/${f//\//-}"
done
mkdir -p "$corpus/osv_record"
cp "$root"/crates/picket-osv/tests/fixtures/osv/*.json "$corpus/osv_record/"
echo "seeded $(find "$corpus" -type f | wc -l) files in $corpus"
