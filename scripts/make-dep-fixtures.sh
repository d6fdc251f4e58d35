#!/usr/bin/env bash
# Regenerates tests/fixtures/deps/: lock files written by the real tools (uv, poetry, pipenv).
#
# No public index is contacted: small stand-in distributions with the real project names and
# versions (requests 2.31.0, urllib3 1.26.5, jinja2 3.1.2, ...) are built locally and served by
# pypiserver on loopback, and every tool locks against that server.
#
# Usage: scripts/make-dep-fixtures.sh PYTHON_VENV_DIR   (a venv with build, uv, poetry, pipenv, pypiserver)
set -euo pipefail
venv=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/fixtures/deps"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

# name version "dependency, dependency"
packages=(
  "requests 2.31.0 charset-normalizer>=2,<4;idna>=2.5,<4;urllib3>=1.21.1,<3;certifi>=2017.4.17"
  "urllib3 1.26.5 "
  "idna 3.6 "
  "certifi 2024.2.2 "
  "charset-normalizer 3.3.2 "
  "jinja2 3.1.2 MarkupSafe>=2.0"
  "markupsafe 2.1.3 "
  "reqeusts 0.0.1 "
)
mkdir -p "$work/dist"
for spec in "${packages[@]}"; do
  read -r name version deps <<<"$spec"
  src="$work/src/$name"
  mkdir -p "$src/src/${name//-/_}"
  echo "__version__ = '$version'" >"$src/src/${name//-/_}/__init__.py"
  deps_toml=$(python3 -c 'import sys; print(", ".join(repr(d) for d in sys.argv[1].split(";") if d))' "$deps")
  cat >"$src/pyproject.toml" <<TOML
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "$name"
version = "$version"
description = "Stand-in for $name $version, built for picket's test fixtures"
dependencies = [$deps_toml]
TOML
  "$venv/bin/python" -m build --no-isolation -q --outdir "$work/dist" "$src" >/dev/null
done

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/pypi-server" run --disable-fallback -i 127.0.0.1 -p "$port" -a . -P . "$work/dist" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/simple/" >/dev/null && break; sleep 0.2; done
index="http://127.0.0.1:$port/simple/"

proj="$work/project"
mkdir -p "$proj"
cat >"$proj/pyproject.toml" <<TOML
[project]
name = "demo-app"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["requests==2.31.0", "jinja2==3.1.2"]

[dependency-groups]
dev = ["urllib3==1.26.5"]
TOML
(cd "$proj" && "$venv/bin/uv" lock -q --index-url "$index" \
  && "$venv/bin/uv" export -q --format requirements-txt --no-emit-project -o requirements.txt \
  && "$venv/bin/uv" export -q --format pylock.toml --no-emit-project -o pylock.toml)

poetry_proj="$work/poetry"
mkdir -p "$poetry_proj"
cat >"$poetry_proj/pyproject.toml" <<TOML
[tool.poetry]
name = "demo-app"
version = "0.1.0"
description = ""
authors = ["picket tests <tests@example.invalid>"]
package-mode = false

[tool.poetry.dependencies]
python = "^3.9"
requests = "2.31.0"
jinja2 = "3.1.2"

[tool.poetry.group.dev.dependencies]
urllib3 = "1.26.5"

[[tool.poetry.source]]
name = "local"
url = "$index"
priority = "primary"
TOML
(cd "$poetry_proj" && POETRY_CACHE_DIR="$work/poetry-cache" "$venv/bin/poetry" lock -q)

pipenv_proj="$work/pipenv"
mkdir -p "$pipenv_proj"
cat >"$pipenv_proj/Pipfile" <<TOML
[[source]]
url = "$index"
verify_ssl = false
name = "local"

[packages]
requests = "==2.31.0"
jinja2 = "==3.1.2"

[dev-packages]
urllib3 = "==1.26.5"
TOML
(cd "$pipenv_proj" && PIPENV_VENV_IN_PROJECT=1 PIPENV_IGNORE_VIRTUALENVS=1 PIP_INDEX_URL="$index" \
  "$venv/bin/pipenv" lock >/dev/null 2>&1)

mkdir -p "$out/uv" "$out/poetry" "$out/pipenv"
cp "$proj/pyproject.toml" "$proj/uv.lock" "$proj/requirements.txt" "$proj/pylock.toml" "$out/uv/"
cp "$poetry_proj/pyproject.toml" "$poetry_proj/poetry.lock" "$out/poetry/"
cp "$pipenv_proj/Pipfile" "$pipenv_proj/Pipfile.lock" "$out/pipenv/"
# The loopback port differs on every run; fix it so regenerating gives a stable diff.
grep -rl "127.0.0.1:$port" "$out" | xargs sed -i "s/127.0.0.1:$port/127.0.0.1:8765/g"
echo "wrote $(find "$out" -type f | wc -l) files to $out"
