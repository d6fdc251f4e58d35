# Shared by the whole-process benchmark scripts: `source benches/lib.sh` from the repository root.
# Builds the release binary, sets $picket, $venv (the test virtualenv: pip-audit, peers) and $work
# (a scratch folder removed, with every background job, on exit), and defines the helpers below.
cargo build --release -q
picket=$PWD/target/release/picket
venv=${PICKET_TEST_VENV:-$PWD/.venv}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The median of numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until something listens on loopback port $1.
wait_port() { until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; do sleep 0.2; done; }
# Wall time of a command in seconds (its output dropped, its failure ignored).
wall() {
  local start end
  start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 3))"
}
