#!/usr/bin/env bash
# `picket scan --image` on a large container image: wall time and peak RSS (goal: RSS bounded,
# <= 200 MB, whatever the image's size).
#
# The image is built by umoci (Debian) in three layers: SIZE_MB (in 16 MB files) of incompressible filler under
# /data, then DISTRIBUTIONS pip-installed distributions (benches/env_wheels.py, as in
# benches/scan_env.sh) at /usr/local/lib/python3.X/site-packages, then one installed file edited;
# skopeo writes the same image as a `docker save` tarball. Each form is scanned 3 times offline
# against benches/osv_corpus.py's records; the median wall time and the largest peak RSS are
# printed, with the findings (the edited file must be the one `tampered`).
#
# Usage: benches/scan_image.sh [SIZE_MB=1024] [DISTRIBUTIONS=300]
# Needs .venv from scripts/test, umoci and skopeo. Release build from this working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
dists=${2:-300}
source benches/lib.sh

python3 benches/osv_corpus.py "$work/corpus" 40000 ../shared/data/pypi-snapshot.tsv.gz >/dev/null
"$picket" db import-osv "$work/corpus/all.zip" --data-dir "$work/data" >/dev/null 2>&1
python3 benches/env_wheels.py "$work/corpus/project/requirements.txt" "$work/wheels" "$dists" >"$work/pins.txt"
"$venv/bin/python" -m venv --without-pip "$work/env"
"$venv/bin/python" -m pip --python "$work/env/bin/python" install -q --disable-pip-version-check \
  --no-index --no-deps --find-links "$work/wheels" -r "$work/pins.txt"
sp=$(echo "$work"/env/lib/python3*/site-packages)
python=$(basename "$(dirname "$sp")")

cd "$work"
umoci init --layout oci >/dev/null
umoci new --image oci:t
layer() { # a shell snippet run in the bundle's rootfs
  umoci unpack --rootless --image oci:t bundle >/dev/null
  (cd bundle/rootfs && eval "$1")
  umoci repack --image oci:t bundle >/dev/null
  rm -rf bundle
}
layer "mkdir -p data && for i in \$(seq 1 $(((size_mb + 15) / 16))); do head -c 16M /dev/urandom > data/filler-\$i; done"
layer "mkdir -p usr/local/lib/$python && cp -r '$sp' usr/local/lib/$python/"
edited=$(cd "$sp" && ls -d */ | grep -v -e dist-info -e __pycache__ | head -1)
edited="usr/local/lib/$python/site-packages/${edited%/}/m1.py"
layer "echo 'import os' >> '$edited'"
skopeo copy --quiet oci:oci:t docker-archive:saved.tar:picket/bench:t
echo "image: $(du -sh oci | cut -f1) OCI layout, $(du -sh saved.tar | cut -f1) docker-archive; $dists distributions; edited /$edited"

measure() { # prints "seconds peak-KB"
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.time()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(round(time.time() - start, 3), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
for image in oci saved.tar; do
  times=(); peak=0
  for _ in 1 2 3; do
    read -r seconds kb < <(measure "$picket" scan --offline --image "$image" --data-dir "$work/data")
    times+=("$seconds"); [ "$kb" -gt "$peak" ] && peak=$kb
  done
  echo "picket scan --image $image: median $(printf '%s\n' "${times[@]}" | median) s (runs: ${times[*]}), peak RSS $((peak / 1024)) MB"
  { "$picket" --format json scan --offline --image "$image" --data-dir "$work/data" 2>/dev/null || true; } |
    python3 -c "import json,sys; d=json.load(sys.stdin); print('  found:', len(d['packages']), 'distributions,', sum(len(p['vulnerabilities']) for p in d['packages']), 'vulnerabilities, tampered:', [f['path'] for p in d['packages'] for f in p['findings'] if f['id']=='tampered'])"
done
