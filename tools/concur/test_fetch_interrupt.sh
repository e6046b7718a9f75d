#!/usr/bin/env bash
# Ctrl-C during concur fetch: the running downloads are cancelled (no file and no part file
# left), the summary is printed, and the exit status is 130.
set -euo pipefail
concur=$1
source "$(dirname "$0")/test_support.sh"
start_peer serve "$concur" serve --port 0 --latency 10000

# A background job of a script starts with SIGINT ignored: give fetch the default action back.
env --default-signal=INT "$concur" fetch --no-progress -o "$work/out" \
  "$base/posts/1" "$base/posts/2" "$base/users" >"$work/fetch.out" 2>"$work/fetch.err" &
fetch_pid=$!
sleep 1  # the three requests are in flight, each answered only after 10 s
kill -INT "$fetch_pid"
set +e
wait "$fetch_pid"
rc=$?
set -e
cat "$work/fetch.out"
fail() { echo "FAILED: $*"; cat "$work/fetch.err"; ls -la "$work/out" 2>/dev/null; exit 1; }
[ "$rc" -eq 130 ] || fail "fetch exited $rc, expected 130"
grep -q "3 URLs, 0 ok, 3 failed" "$work/fetch.out" || fail "no summary"
grep -q "interrupted: 3 downloads cancelled" "$work/fetch.err" || fail "not reported as interrupted"
[ -z "$(ls -A "$work/out" 2>/dev/null)" ] || fail "files left behind"
echo "fetch interrupt: ok"
