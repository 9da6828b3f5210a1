#!/usr/bin/env bash
# Whole-process cost of `samocoder ask "say hi"` against the fake provider answering at once:
# wall time (median of RUNS runs), peak memory (max RSS) and the request body size in bytes.
# Targets: within 10% of 0.1.0 on a quiet machine (13 ms, 12.6 MiB): under 15 ms and 13.9 MiB.
#
#   benches/ask.sh            # release build, 20 runs
#   RUNS=50 benches/ask.sh
#   VS=/path/to/old/samocoder benches/ask.sh   # the same figures for another binary, runs alternating
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-20}"

source benches/common.sh
build_release

HOME_DIR="$(mktemp -d)"
trap 'kill "${FAKE_PID:-0}" 2>/dev/null; rm -rf "$HOME_DIR"' EXIT
start_fake "$HOME_DIR"

export SAMOCODER_HOME="$HOME_DIR" FAKE_KEY="sk-bench-0123456789abcdef" NO_COLOR=1
"$BIN" ask "say hi" >/dev/null   # creates the database: later runs measure the steady state

# The exact request body on the wire: one call to a listener that prints Content-Length.
body_bytes="$(python3 - "$BIN" <<'PY'
import os, socket, subprocess, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(10)
port = s.getsockname()[1]
env = dict(os.environ)
p = subprocess.Popen([sys.argv[1], "-q", "-c", "network.max_retries=0", "ask", "--model", "probe:m1", "say hi",
                      "-c", f'providers.probe={{kind="openai", base_url="http://127.0.0.1:{port}/v1", key_env="FAKE_KEY"}}'],
                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# A server on 127.0.0.1 counts as local: samocoder first asks it for its context window (the
# probes are answered 404 here); the POST to /chat/completions is the request.
while True:
    conn, _ = s.accept(); data = b""
    while b"\r\n\r\n" not in data: data += conn.recv(65536)
    head = data.split(b"\r\n\r\n")[0].decode().lower()
    if head.startswith("post ") and "/chat/completions " in head.split("\r\n")[0]: break
    conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"); conn.close()
length = [l.split(":")[1].strip() for l in head.split("\r\n") if l.startswith("content-length:")]
conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"); conn.close(); p.wait()
print(length[0] if length else "?")
PY
)"
echo "request body: $body_bytes bytes (POST /chat/completions)"

# The other binary gets a home of its own (its database may be of an older schema).
BINS=("$BIN")
if [ -n "${VS:-}" ]; then
  VS_HOME="$HOME_DIR/vs"
  mkdir -p "$VS_HOME"
  # 0.1.0 knows no `free`: the fake model is unpriced there, which costs nothing either.
  grep -v "^free = " "$HOME_DIR/config.toml" >"$VS_HOME/config.toml"
  SAMOCODER_HOME="$VS_HOME" "$VS" ask "say hi" >/dev/null
  BINS+=("$VS")
fi
home_of() { if [ "$1" = "$BIN" ]; then echo "$HOME_DIR"; else echo "$VS_HOME"; fi; }

declare -A times rss
for _ in $(seq "$RUNS"); do
  for b in "${BINS[@]}"; do
    s=$(date +%s%N); SAMOCODER_HOME="$(home_of "$b")" "$b" ask "say hi" >/dev/null; e=$(date +%s%N)
    times[$b]+="$(( (e - s) / 1000 )) "
  done
done
for _ in $(seq 5); do
  for b in "${BINS[@]}"; do
    rss[$b]+="$(SAMOCODER_HOME="$(home_of "$b")" /usr/bin/time -f '%M' "$b" ask "say hi" 2>&1 >/dev/null | tail -1) "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for b in "${BINS[@]}"; do
  [ "${#BINS[@]}" -gt 1 ] && echo "$b:"
  echo "${times[$b]}" | median | awk -v n="$RUNS" '{printf "wall time: median %.1f ms over %d runs\n", $1/1000, n}'
  echo "${rss[$b]}" | median | awk '{printf "peak memory: median %.1f MiB (max RSS of 5 runs)\n", $1/1024}'
done
