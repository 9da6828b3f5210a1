# Shared by the benchmark scripts and scripts/link-order.sh; sourced from the repository root.

# The release binary, then the fake provider and any other EXAMPLES, in two cargo calls: built in
# one, the binary would link a library with the examples' dev-dependency features (`testing`,
# tokio's test-util, ...), not the one users get. Sets BIN and FAKE.
build_release() {
  cargo build --release --locked --quiet --bin samocoder
  cargo build --release --locked --quiet --example fake_provider "$@"
  BIN="$PWD/target/release/samocoder"
  FAKE="$PWD/target/release/examples/fake_provider"
}

# Starts the fake provider (extra arguments go to it), waits for its URL and writes
# DIR/config.toml with the free provider `fake` (OpenAI wire, key in FAKE_KEY) as the default
# route. Sets FAKE_PID (the caller's trap kills it) and BASE.
start_fake() {
  local dir="$1"
  shift
  "$FAKE" "$@" >"$dir/fake.out" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 300); do [ -s "$dir/fake.out" ] && break; sleep 0.1; done
  BASE="$(head -1 "$dir/fake.out")"
  [ -n "$BASE" ] || { echo "the fake provider did not start: $(cat "$dir/fake.out")" >&2; exit 1; }
  cat >"$dir/config.toml" <<TOML
[providers.fake]
kind = "openai"
base_url = "$BASE"
key_env = "FAKE_KEY"
free = true

[routes]
default = ["fake:m1"]
TOML
}
