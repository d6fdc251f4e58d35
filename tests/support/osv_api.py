"""A loopback stand-in for the OSV query API (POST /v1/query, /v1/querybatch), for pip-audit.

It answers from a directory of OSV records with its own version matching, written with the
`packaging` library independently of picket's Rust matcher, so that comparing pip-audit's
findings with `picket scan`'s compares two implementations of OSV's ECOSYSTEM semantics.

Usage: python osv_api.py RECORDS_DIR_OR_ALL_ZIP PORT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def load(source):
    """Records from a directory of JSON files or an all.zip, indexed by canonical project name."""
    texts = []
    if Path(source).is_dir():
        texts = [p.read_text() for p in sorted(Path(source).glob("*.json"))]
    else:
        import zipfile

        with zipfile.ZipFile(source) as z:
            texts = [z.read(n) for n in z.namelist() if n.endswith(".json")]
    by_name = {}
    for text in texts:
        record = json.loads(text)
        if record.get("withdrawn"):
            continue
        names = {canonicalize_name(a["package"]["name"]) for a in record.get("affected", [])}
        for name in names:
            by_name.setdefault(name, []).append(record)
    return by_name


def range_hits(events, version):
    """OSV ECOSYSTEM ranges: introduced opens, fixed/limit close, last_affected closes inclusively."""
    parsed = []
    for event in events:
        if len(event) != 1:
            return False
        ((kind, text),) = event.items()
        try:
            at = Version("0") if (kind == "introduced" and text == "0") else Version(text)
        except InvalidVersion:
            return False
        parsed.append((at, kind))
    order = {"fixed": 0, "limit": 0, "last_affected": 0, "introduced": 1}
    parsed.sort(key=lambda e: (e[0], order[e[1]]))
    hit = False
    for at, kind in parsed:
        if kind == "introduced" and at <= version:
            hit = True
        elif kind in ("fixed", "limit") and at <= version:
            hit = False
        elif kind == "last_affected" and at < version:
            hit = False
    return hit


def affects(record, name, version):
    for affected in record.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or canonicalize_name(package.get("name", "")) != name:
            continue
        for listed in affected.get("versions", []):
            try:
                if Version(listed) == version:
                    return True
            except InvalidVersion:
                pass
        for r in affected.get("ranges", []):
            if r.get("type") == "ECOSYSTEM" and range_hits(r.get("events", []), version):
                return True
    return False


def query(by_name, body):
    name = canonicalize_name(body["package"]["name"])
    version = Version(body["version"])
    return {"vulns": [r for r in by_name.get(name, []) if affects(r, name, version)]}


class Handler(BaseHTTPRequestHandler):
    records = {}

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
            if self.path == "/v1/query":
                answer = query(self.records, body)
            elif self.path == "/v1/querybatch":
                answer = {"results": [query(self.records, q) for q in body["queries"]]}
            else:
                self.send_error(404)
                return
        except (KeyError, ValueError, InvalidVersion) as e:
            self.send_error(400, str(e))
            return
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    Handler.records = load(sys.argv[1])
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
