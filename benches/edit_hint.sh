#!/usr/bin/env bash
# What a non-matching `edit_file` costs: a replayed run writes a 1 MB one-line file and then
# asks to replace a 64 KB `old` that is not in it (the model gets the "not found" hint), against
# the same run without the edit. Prints the median difference of RUNS runs: the time of the
# hint. Before the hint was bounded it took 48 s; the target is well under a second.
#
#   benches/edit_hint.sh        # release build, 5 runs
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
cargo build --release --quiet --bin samocoder
BIN="$PWD/target/release/samocoder"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
def call(name, args):
    return {"tool_calls": [{"name": name, "arguments": args, "id": "call_1"}],
            "usage": {"input_tokens": 100, "output_tokens": 10}}
head = [
    call("submit_spec", {"spec_markdown": "# Big\n", "assumptions": []}),
    call("submit_architecture", {"stack": "sh", "template": None, "dependencies": [],
                                 "install_command": None, "test_command": "true", "notes": ""}),
    call("submit_plan", {"tasks": [{"title": "Big", "goal": "A big file.", "files": ["big.txt"],
                                    "verify": "true"}]}),
    call("write_file", {"path": "big.txt", "content": "ab" * (512 * 1024)}),
]
tail = [call("task_done", {"summary": "done"})]
edit = call("edit_file", {"path": "big.txt", "old": "abc" * (64 * 1024 // 3), "new": "x"})
for name, lines in [("with", head + [edit] + tail), ("without", head + tail)]:
    with open(f"{work}/{name}.jsonl", "w") as f:
        f.write('# samocoder-new: {"name": "big", "description": "a big file"}\n')
        for l in lines:
            f.write(json.dumps(l) + "\n")
PY
run() {
  local T; T=$(mktemp -d -p "$WORK")
  local s e
  s=$(date +%s%N)
  SAMOCODER_HOME="$T/home" "$BIN" new --replay "$WORK/$1.jsonl" --yes --json --dir "$T/big" >"$T/out" 2>&1 \
    || { echo "run failed:"; tail -3 "$T/out"; exit 1; }
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 ))
}
with=(); without=()
for _ in $(seq "$RUNS"); do with+=("$(run with)"); without+=("$(run without)"); done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mw=$(med "${with[@]}"); mo=$(med "${without[@]}")
printf 'run with the failed 64 KB edit on a 1 MB line: %.0f ms, without it: %.0f ms; the edit and its hint: %.0f ms (median of %d)\n' \
  "$(echo "$mw/1000" | bc -l)" "$(echo "$mo/1000" | bc -l)" "$(echo "($mw-$mo)/1000" | bc -l)" "$RUNS"
