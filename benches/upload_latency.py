"""Uploads N new small wheels one after another to a legacy upload URL and prints the median and
p99 latency of the upload request in milliseconds (bench helper: `benches/scale.sh`).

usage: upload_latency.py URL TOKEN N PREFIX
"""
import hashlib
import io
import statistics
import sys
import time
import zipfile

import requests


def wheel(name, version):
    dist = name.replace("-", "_")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        code = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(30))
        z.writestr(f"{dist}/__init__.py", code)
        z.writestr(f"{dist}-{version}.dist-info/METADATA",
                   f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: bench\n")
        z.writestr(f"{dist}-{version}.dist-info/WHEEL",
                   "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{dist}-{version}.dist-info/RECORD", "")
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue()


def main():
    url, token, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    session = requests.Session()
    times = []
    for i in range(n):
        name = f"{prefix}-{i}"
        filename, data = wheel(name, "1.0")
        fields = {
            ":action": "file_upload", "protocol_version": "1", "name": name, "version": "1.0",
            "filetype": "bdist_wheel", "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(data).hexdigest(),
        }
        start = time.perf_counter()
        r = session.post(url, data=fields, files={"content": (filename, data)},
                         auth=("__token__", token))
        times.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{filename}: {r.status_code} {r.reason}")
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{statistics.median(times):.2f} {p99:.2f}")


if __name__ == "__main__":
    main()
