#!/usr/bin/env bash
# Regenerates tests/fixtures/dists/: small wheels and sdists built by the real build tools.
#
#   demo_tool-1.0.0 (wheel + .tar.gz)   python -m build (setuptools): pure Python, two console scripts
#   cext_demo-0.1.0 (wheel)             pip wheel (setuptools + gcc): a C extension stub
#   empty_pkg-0.0.1 (wheel + .tar.gz)   uv build: nothing but an empty __init__.py
#   legacy_zip-0.3 (.zip sdist)         setup.py sdist --formats=zip: the legacy sdist form
#
# Usage: scripts/make-dist-fixtures.sh PYTHON_VENV_DIR   (a venv with build, setuptools, wheel, uv)
set -euo pipefail
venv=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/fixtures/dists"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000
mkdir -p "$out"
rm -f "$out"/*.whl "$out"/*.tar.gz "$out"/*.zip

# A pure-Python tool with console scripts.
p="$work/demo-tool"
mkdir -p "$p/src/demo_tool"
cat >"$p/pyproject.toml" <<'TOML'
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "demo-tool"
version = "1.0.0"
description = "A small command-line tool used as a picket fixture"
readme = "README.md"
license = "MIT"
requires-python = ">=3.9"
dependencies = ["click>=8"]

[project.optional-dependencies]
color = ["rich>=13"]

[project.scripts]
demo-tool = "demo_tool.cli:main"
demo-admin = "demo_tool.cli:admin"
TOML
printf '# demo-tool\n\nCounts words in files.\n' >"$p/README.md"
cat >"$p/src/demo_tool/__init__.py" <<'PY'
"""demo-tool: counts words."""

__version__ = "1.0.0"
PY
cat >"$p/src/demo_tool/cli.py" <<'PY'
import sys


def count_words(text):
    return len(text.split())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    total = 0
    for path in argv:
        with open(path, encoding="utf-8") as handle:
            total += count_words(handle.read())
    print(total)
    return 0


def admin():
    print("nothing to administer")
PY
"$venv/bin/python" -m build --no-isolation -q --outdir "$out" "$p" >/dev/null

# A C extension stub.
p="$work/cext-demo"
mkdir -p "$p/cext_demo"
cat >"$p/setup.py" <<'PY'
from setuptools import Extension, setup

setup(
    name="cext-demo",
    version="0.1.0",
    packages=["cext_demo"],
    ext_modules=[Extension("cext_demo._speed", ["cext_demo/speed.c"])],
)
PY
echo '"""Fast things."""' >"$p/cext_demo/__init__.py"
cat >"$p/cext_demo/speed.c" <<'C'
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "Add two integers."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
C
"$venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$out" "$p" >/dev/null

# An empty package: the shape of the 2025 campaign's uploads.
p="$work/empty-pkg"
mkdir -p "$p/src/empty_pkg"
cat >"$p/pyproject.toml" <<'TOML'
[build-system]
requires = ["uv_build>=0.8,<0.20"]
build-backend = "uv_build"

[project]
name = "empty-pkg"
version = "0.0.1"
description = "Nothing inside"
TOML
: >"$p/src/empty_pkg/__init__.py"
(cd "$p" && "$venv/bin/uv" build -q --out-dir "$out" --no-build-isolation 2>/dev/null \
  || "$venv/bin/uv" build -q --out-dir "$out")

# uv marks its output folder ignored (a `.gitignore` of `*`); these files are meant to be committed.
rm -f "$out/.gitignore"

# A legacy zip sdist.
p="$work/legacy-zip"
mkdir -p "$p/legacy_zip"
cat >"$p/setup.py" <<'PY'
from setuptools import setup

setup(
    name="legacy-zip",
    version="0.3",
    packages=["legacy_zip"],
    entry_points={"console_scripts": ["legacy-zip = legacy_zip:main"]},
)
PY
cat >"$p/legacy_zip/__init__.py" <<'PY'
def main():
    print("legacy")
PY
(cd "$p" && "$venv/bin/python" setup.py -q sdist --formats=zip -d "$out" >/dev/null 2>&1)

ls -l "$out"
