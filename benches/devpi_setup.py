"""Creates user `bench` and index `bench/dev` on a devpi-server (no PyPI base) and uploads every
wheel of a folder to it, 4 at a time, through devpi's upload API (bench setup)."""
import concurrent.futures
import json
import os
import sys

import requests


def main():
    base, folder = sys.argv[1].rstrip("/"), sys.argv[2]
    s = requests.Session()
    r = s.put(f"{base}/bench", data=json.dumps({"password": "bench", "email": "bench@example.org"}),
              headers={"Content-Type": "application/json", "Accept": "application/json"})
    r.raise_for_status()
    r = s.post(f"{base}/+login", data=json.dumps({"user": "bench", "password": "bench"}),
               headers={"Content-Type": "application/json", "Accept": "application/json"})
    r.raise_for_status()
    password = r.json()["result"]["password"]
    auth = {"X-Devpi-Auth": __import__("base64").b64encode(f"bench:{password}".encode()).decode(),
            "Accept": "application/json"}
    r = s.put(f"{base}/bench/dev", data=json.dumps({"bases": [], "volatile": True}),
              headers={**auth, "Content-Type": "application/json"})
    r.raise_for_status()

    def upload(path):
        name = os.path.basename(path)
        project, version = name.split("-")[0], name.split("-")[1]
        with open(path, "rb") as f:
            data = f.read()
        r = s.post(f"{base}/bench/dev/", auth=("bench", "bench"),
                   data={":action": "file_upload", "name": project, "version": version},
                   files={"content": (name, data)})
        if r.status_code != 200:
            raise SystemExit(f"{name}: {r.status_code} {r.text[:200]}")

    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl"))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, paths))


if __name__ == "__main__":
    main()
