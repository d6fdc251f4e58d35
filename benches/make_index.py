"""Writes N projects x F files of small valid wheels into a folder (for index benchmarks):
make_index.py OUT N F [NAME_PREFIX].

Each wheel has METADATA, WHEEL, RECORD and a module, so pip, pypiserver and picket all accept it.
"""
import base64
import hashlib
import io
import os
import sys
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel(name, version):
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n\ndef hello():\n    return {name!r}\n".encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: benchmark package\nRequires-Python: >=3.8\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [record_line(p, d) for p, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(zipfile.ZipInfo(path, date_time=(2025, 6, 1, 0, 0, 0)), data)
    return f"{module}-{version}-py3-none-any.whl", buf.getvalue()


def main():
    out, projects, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    prefix = sys.argv[4] if len(sys.argv) > 4 else "bench-proj"
    os.makedirs(out, exist_ok=True)
    for p in range(projects):
        for v in range(per):
            filename, data = wheel(f"{prefix}-{p:04d}", f"1.{v}")
            with open(os.path.join(out, filename), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
