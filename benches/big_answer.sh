#!/usr/bin/env bash
# What a 200 MB answer costs: `samocoder ask` against the fake provider streaming a 200 MB text
# answer. Prints samocoder's peak memory (max RSS), how long it took, how much of the answer
# was kept (the answer is cut at `network.max_answer_bytes`, 4 MiB by default) and how much the
# database grew. Before the cap: a refused 100 MB write_file took 937 MB RSS and grew the
# database by 105 MB.
#
#   benches/big_answer.sh            # release build, 200 MB
#   MB=500 benches/big_answer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${MB:-200}"

source benches/common.sh
build_release

WORK="$(mktemp -d)"
trap 'kill "${FAKE_PID:-0}" 2>/dev/null; rm -rf "$WORK"' EXIT
# Words of 1,000 bytes: the fake streams one event per word.
python3 - "$MB" "$WORK/script.json" <<'PY'
import json, sys
mb, path = int(sys.argv[1]), sys.argv[2]
word = "x" * 999 + " "
text = word * (mb * 1024 * 1024 // len(word))
json.dump([{"kind": "answer", "text": text}], open(path, "w"))
PY
start_fake "$WORK" --script "$WORK/script.json"
export SAMOCODER_HOME="$WORK" FAKE_KEY="sk-bench-0123456789abcdef" NO_COLOR=1
"$BIN" -q usage >/dev/null 2>&1 || true
db_before=$(stat -c %s "$WORK/samocoder.db" 2>/dev/null || echo 0)
start=$(date +%s%N)
/usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" ask --max-output-tokens 100000000 "write a lot" >"$WORK/answer.txt" 2>"$WORK/err.txt" || true
end=$(date +%s%N)
db_after=$(stat -c %s "$WORK/samocoder.db" 2>/dev/null || echo 0)
printf 'answer of %d MB: peak memory %.1f MiB, %.2f s, %d bytes printed, database grew by %d KB\n' \
  "$MB" "$(echo "$(tail -1 "$WORK/rss") / 1024" | bc -l)" "$(echo "($end - $start) / 1000000000" | bc -l)" \
  "$(stat -c %s "$WORK/answer.txt")" "$(( (db_after - db_before) / 1024 ))"
tail -2 "$WORK/err.txt"
