"""Uploads every wheel of a folder to a legacy upload URL with a token, 4 at a time (bench setup)."""
import concurrent.futures
import hashlib
import os
import sys

import requests


def upload(session, url, token, path):
    name = os.path.basename(path)
    project, version = name.split("-")[0], name.split("-")[1]
    data = open(path, "rb").read()
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": project,
        "version": version,
        "filetype": "bdist_wheel",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
    }
    r = session.post(url, data=fields, files={"content": (name, data)}, auth=("__token__", token))
    if r.status_code != 200:
        raise SystemExit(f"{name}: {r.status_code} {r.reason}")


def main():
    folder, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl"))
    session = requests.Session()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: upload(session, url, token, p), paths))


if __name__ == "__main__":
    main()
