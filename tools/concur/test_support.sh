# Sourced by the cli tests: a work directory removed at exit, and a peer server started in the
# background (killed at exit if still running).

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_peer NAME COMMAND...: runs COMMAND in the background (its output in $work/NAME.out and
# $work/NAME.err), waits at most 10 s for its "serving on http://HOST:PORT" line, and sets
# $base to that address and $server_pid to the process.
start_peer() {
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "serving on http://" "$work/$name.out" && break
    sleep 0.1
  done
  base=$(grep -o "http://[0-9.:]*" "$work/$name.out" | head -1)
  [ -n "$base" ] || { echo "$name did not start"; cat "$work/$name.err"; exit 1; }
}
