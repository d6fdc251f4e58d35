"""Helpers of benches/proxy.sh (standard library only, so any Python runs them):

  proxy_bench.py devpi-mirror BASE UPSTREAM_SIMPLE
      create user `bench` and a mirror index `bench/mirror` of UPSTREAM_SIMPLE on a devpi-server
  proxy_bench.py cold UPSTREAM_SIMPLE PROXY_SIMPLE FIRST COUNT
      for COUNT projects from bench-proj-FIRST, GET each page from the upstream, then through the
      proxy (a miss), on a new connection each; prints the two medians in ms and their difference
  proxy_bench.py warm SIMPLE COUNT
      GETs the first COUNT project pages once (fills a proxy's cache)
  proxy_bench.py file-upstream PORT SIZE_MIB
      serves /simple/big-file/ and one wheel of SIZE_MIB, sent at about 50 MiB/s so concurrent
      requests overlap; /count answers how many times the wheel was fetched
  proxy_bench.py herd SIMPLE CLIENTS
      CLIENTS threads GET the wheel of big-file through SIMPLE at once; prints the status counts
"""
import base64
import hashlib
import http.client
import http.server
import io
import json
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile

HTML = "text/html"


def get(url, accept=HTML):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", parsed.path or "/", headers={"Accept": accept})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, body, elapsed


def get_with_location(url):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", parsed.path or "/", headers={"Accept": "*/*"})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, body, elapsed, response.getheader("Location")


def devpi_mirror(base, upstream):
    def call(method, path, payload, headers=None):
        request = urllib.request.Request(
            base + path, data=json.dumps(payload).encode(), method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})})
        with urllib.request.urlopen(request) as r:
            return json.load(r)
    call("PUT", "/bench", {"password": "bench", "email": "bench@example.org"})
    password = call("POST", "/+login", {"user": "bench", "password": "bench"})["result"]["password"]
    auth = {"X-Devpi-Auth": base64.b64encode(f"bench:{password}".encode()).decode()}
    call("PUT", "/bench/mirror", {"type": "mirror", "mirror_url": upstream, "mirror_cache_expiry": 1800}, auth)


def cold(upstream, proxy, first, count):
    direct, through = [], []
    for i in range(first, first + count):
        name = f"bench-proj-{i:04d}/"
        status, _, t = get(upstream + name)
        assert status == 200, (upstream + name, status)
        direct.append(t * 1000)
        status, _, t = get(proxy + name)
        assert status == 200, (proxy + name, status)
        through.append(t * 1000)
    d, p = statistics.median(direct), statistics.median(through)
    print(f"{d:.2f} {p:.2f} {p - d:.2f}")


def warm(simple, count):
    for i in range(count):
        status, _, _ = get(f"{simple}bench-proj-{i:04d}/")
        assert status == 200, status


def big_wheel(size_mib):
    module = "big_file"
    dist_info = f"{module}-1.0.dist-info"
    payload = (hashlib.sha256(b"seed").digest() * ((size_mib << 20) // 32 + 1))[: size_mib << 20]
    files = {
        f"{module}/__init__.py": b"def size():\n    return len(DATA)\n",
        f"{module}/data.bin": payload,
        f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: big-file\nVersion: 1.0\nSummary: bench\n",
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for path, data in files.items():
            z.writestr(path, data)
    return buf.getvalue()


def file_upstream(port, size_mib):
    wheel = big_wheel(size_mib)
    sha = hashlib.sha256(wheel).hexdigest()
    name = "big_file-1.0-py3-none-any.whl"
    page = json.dumps({"meta": {"api-version": "1.1"}, "name": "big-file", "files": [
        {"filename": name, "url": f"/files/{name}", "hashes": {"sha256": sha}, "size": len(wheel)}]}).encode()
    html = f'<a href="/files/{name}#sha256={sha}">{name}</a>'.encode()
    fetched = [0]
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, content_type, length=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            return body

        def do_GET(self):
            if self.path.rstrip("/") == "/simple":
                if "json" in self.headers.get("Accept", ""):
                    root = json.dumps({"meta": {"api-version": "1.1"}, "projects": [{"name": "big-file"}]}).encode()
                    self.wfile.write(self.send(200, root, "application/vnd.pypi.simple.v1+json"))
                else:
                    self.wfile.write(self.send(200, b'<a href="big-file/">big-file</a>', "text/html"))
            elif self.path.rstrip("/") == "/simple/big-file":
                if "json" in self.headers.get("Accept", ""):
                    self.wfile.write(self.send(200, page, "application/vnd.pypi.simple.v1+json"))
                else:
                    self.wfile.write(self.send(200, html, "text/html"))
            elif self.path == f"/files/{name}":
                with lock:
                    fetched[0] += 1
                self.send(200, b"", "application/octet-stream", len(wheel))
                self.wfile.flush()
                # About 50 MiB/s: slow enough that every client of the herd arrives mid-fetch.
                for i in range(0, len(wheel), 1 << 20):
                    self.wfile.write(wheel[i:i + (1 << 20)])
                    time.sleep(0.02)
            elif self.path == "/count":
                self.wfile.write(self.send(200, str(fetched[0]).encode(), "text/plain"))
            else:
                self.wfile.write(self.send(404, b"", "text/plain"))


    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def herd(simple, clients):
    status, body, _ = get(simple + "big-file/")
    assert status == 200, status
    text = body.decode()
    start = text.index('href="') + 6
    href = text[start:text.index('"', start)].split("#")[0]
    url = urllib.parse.urljoin(simple + "big-file/", href)
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def one():
        barrier.wait()
        start = time.perf_counter()
        target = url
        for _ in range(5):  # redirects followed, as installers do
            status, data, _, location = get_with_location(target)
            if status not in (301, 302, 303, 307, 308):
                break
            target = urllib.parse.urljoin(target, location)
        t = time.perf_counter() - start
        with lock:
            results.append((status, len(data), t))
    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = {}
    for s, _, _ in results:
        statuses[s] = statuses.get(s, 0) + 1
    slowest = max(t for _, _, t in results)
    print(f"{json.dumps(statuses)} slowest {slowest:.2f}s")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "devpi-mirror":
        devpi_mirror(*args)
    elif command == "cold":
        cold(args[0], args[1], int(args[2]), int(args[3]))
    elif command == "warm":
        warm(args[0], int(args[1]))
    elif command == "file-upstream":
        file_upstream(int(args[0]), int(args[1]))
    elif command == "herd":
        herd(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
