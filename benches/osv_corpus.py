"""Writes a PyPI OSV all.zip the size of the real one, and a 500-dependency project that uses it.

The real PyPI all.zip can't be fetched here (no network in benchmarks), so this builds one with
the same shape: N records (default 40,000: PYSEC/GHSA advisories with CVSS vectors, ranges and
version lists, and MAL- records for invented names), each a few KB like the published ones, over
project names taken from the name snapshot when it is present (else invented). Then a uv.lock and
a hashed requirements.txt pinning 500 of those projects, a fifth of them at affected versions.

Usage: python osv_corpus.py OUT_DIR [RECORDS] [SNAPSHOT.tsv.gz]
"""

import gzip
import hashlib
import json
import random
import sys
import zipfile
from pathlib import Path

out = Path(sys.argv[1])
records = int(sys.argv[2]) if len(sys.argv) > 2 else 40_000
snapshot = Path(sys.argv[3]) if len(sys.argv) > 3 else None
rng = random.Random(7)
out.mkdir(parents=True, exist_ok=True)

names = []
if snapshot and snapshot.exists():
    with gzip.open(snapshot, "rt") as f:
        next(f)
        for line in f:
            name = line.split("\t", 1)[0]
            names.append(name)
            if len(names) >= 60_000:
                break
if not names:
    names = [f"project-{i}" for i in range(60_000)]

vectors = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
    "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
]
details = ("A crafted input lets a remote attacker cause the parser to read beyond the buffer. " * 30)[:2400]


def advisory(i, name):
    major = rng.randint(0, 5)
    fixed = f"{major}.{rng.randint(1, 20)}.{rng.randint(0, 9)}"
    versions = [f"{major}.{m}.{p}" for m in range(0, 3) for p in range(0, 4)]
    prefix = "GHSA" if i % 2 else "PYSEC"
    rid = f"{prefix}-{i:04d}-{rng.randint(1000, 9999)}"
    return {
        "schema_version": "1.6.0",
        "id": rid,
        "modified": "2025-06-01T00:00:00Z",
        "published": "2024-01-01T00:00:00Z",
        "aliases": [f"CVE-2024-{i + 10000}"],
        "summary": f"Out-of-bounds read in {name}",
        "details": details,
        "severity": [{"type": "CVSS_V3" if "3.1" in v else "CVSS_V4", "score": v} for v in [rng.choice(vectors)]],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name}"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            "versions": versions,
            "database_specific": {"source": "synthetic"},
        }],
        "references": [{"type": "ADVISORY", "url": f"https://example.invalid/{rid}"}],
        "database_specific": {"severity": "HIGH", "cwe_ids": ["CWE-125"]},
    }


def malicious(i):
    name = f"bait-{i}-{rng.randint(0, 10**6)}"
    return name, {
        "schema_version": "1.6.0",
        "id": f"MAL-2025-{i}",
        "modified": "2025-06-01T00:00:00Z",
        "summary": f"Malicious code in {name} (PyPI)",
        "details": "This package runs a credential stealer at install time. " * 10,
        "affected": [{"package": {"ecosystem": "PyPI", "name": name}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
    }


zip_path = out / "all.zip"
advisory_names = names[: records // 2]
with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(records):
        if i % 3 == 2:
            _, record = malicious(i)
        else:
            record = advisory(i, rng.choice(advisory_names))
        z.writestr(f"{record['id']}.json", json.dumps(record, indent=2))

# The project: 500 pinned dependencies among the names that have advisories.
chosen = rng.sample(advisory_names, 500)
lines = []
lock = ['version = 1', 'revision = 2', 'requires-python = ">=3.9"', '']
for k, name in enumerate(chosen):
    version = "0.1.1" if k % 5 == 0 else "99.0.0"
    digest = hashlib.sha256(f"{name}{version}".encode()).hexdigest()
    lines.append(f"{name}=={version} \\\n    --hash=sha256:{digest}")
    lock += [
        "[[package]]",
        f'name = "{name}"',
        f'version = "{version}"',
        'source = { registry = "http://127.0.0.1:8765/simple/" }',
        f'wheels = [{{ url = "http://127.0.0.1:8765/packages/{name}-{version}-py3-none-any.whl", hash = "sha256:{digest}" }}]',
        "",
    ]
(out / "project").mkdir(exist_ok=True)
(out / "project" / "requirements.txt").write_text("\n".join(lines) + "\n")
(out / "project" / "uv.lock").write_text("\n".join(lock))
print(f"{zip_path}: {records} records, {zip_path.stat().st_size >> 20} MiB; project: 500 dependencies")
