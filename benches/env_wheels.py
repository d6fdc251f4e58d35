"""Writes wheels for the first N pins of a requirements file, for an environment to scan.

Each wheel is a real, installable one (METADATA, WHEEL, RECORD with sha256 digests) holding a
package of FILES modules of about SIZE bytes each, so that pip installs it and writes the RECORD
`picket scan --env` checks. No build backend is involved: 300 wheels take a second.

Usage: python env_wheels.py REQUIREMENTS OUT_DIR N [FILES] [SIZE]
Prints the pins written, one a line (for `pip install -r`).
"""

import base64
import hashlib
import re
import sys
import zipfile
from pathlib import Path

requirements, out = Path(sys.argv[1]), Path(sys.argv[2])
count = int(sys.argv[3])
files = int(sys.argv[4]) if len(sys.argv) > 4 else 20
size = int(sys.argv[5]) if len(sys.argv) > 5 else 8192
out.mkdir(parents=True, exist_ok=True)

pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", requirements.read_text(), re.M)[:count]


def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


for name, version in pins:
    module = re.sub(r"[-.]+", "_", name).lower()
    dist = f"{module}-{version}"
    entries = {}
    for i in range(files):
        body = f"# {name} {version}, module {i}\n" + "".join(
            f"def f{k}(x):\n    return x + {k}\n" for k in range(size // 32)
        )
        entries[f"{module}/m{i}.py"] = body.encode()
    entries[f"{module}/__init__.py"] = b"from .m0 import f0\n"
    entries[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: benchmark\n".encode()
    )
    entries[f"{dist}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: env_wheels\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{path},{digest(data)},{len(data)}\n" for path, data in entries.items())
    record += f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(out / f"{dist}-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in entries.items():
            z.writestr(path, data)
        z.writestr(f"{dist}.dist-info/RECORD", record)
    print(f"{name}=={version}")
