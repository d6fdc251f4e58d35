#!/usr/bin/env bash
# Derives crates/picket-names/data/popular.tsv, the name list compiled into picket (and its fst
# index data/popular.fst), from the PyPI
# snapshot (../shared/data/pypi-snapshot.tsv.gz, columns name, latest_version,
# latest_release_month, download_rank): every ranked project, most downloaded first, as
# `name<TAB>rank<TAB>latest_release_month`.
#
# Usage: scripts/derive-popular-names.sh [SNAPSHOT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
snapshot=${1:-$root/../shared/data/pypi-snapshot.tsv.gz}
out="$root/crates/picket-names/data/popular.tsv"
{
  printf '# Derived by scripts/derive-popular-names.sh from %s\n' "$(basename "$snapshot")"
  printf '# name\trank\tlatest_release_month\n'
  gzip -dc "$snapshot" | awk -F'\t' 'NR > 1 && $4 != "" { print $1 "\t" $4 "\t" $3 }' | sort -t$'\t' -k2,2n
} >"$out"
echo "wrote $(grep -vc '^#' "$out") names to $out"
# The same list as the fst index compiled into picket (data/popular.fst), rebuilt by its test.
(cd "$root" && PICKET_WRITE_EMBEDDED_FST=1 cargo test -q -p picket-names --lib the_embedded_fst)
