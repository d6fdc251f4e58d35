"""GuardDog's PyPI typosquatting heuristic, offline, over the names on stdin.

GuardDog's detector normally loads (and refreshes from the network) its own top-packages list; here
`_get_top_packages` is replaced by the popular list picket embeds, so both tools compare against the
same names and nothing is fetched. Prints one JSON object: the names flagged with their targets,
and the time spent in the heuristic.

Usage: python benches/guarddog_typosquat.py POPULAR_TSV < names.txt
"""

import json
import sys
import time

import packaging.utils
from guarddog.analyzer.metadata.pypi.typosquatting import PypiTyposquatDetector


def popular_names(path):
    with open(path, encoding="utf-8") as handle:
        return {
            packaging.utils.canonicalize_name(line.split("\t", 1)[0])
            for line in handle
            if line.strip() and not line.startswith("#")
        }


class SameNamesDetector(PypiTyposquatDetector):
    def __init__(self, popular):
        self._popular = popular
        super().__init__()

    def _get_top_packages(self):
        return self._popular


def main():
    detector = SameNamesDetector(popular_names(sys.argv[1]))
    names = [line.strip() for line in sys.stdin if line.strip()]
    flagged = {}
    start = time.perf_counter()
    for name in names:
        targets = detector.get_typosquatted_package(packaging.utils.canonicalize_name(name))
        if targets:
            flagged[name] = sorted(targets)
    elapsed = time.perf_counter() - start
    json.dump({"names": len(names), "flagged": flagged, "seconds": elapsed}, sys.stdout)


main()
