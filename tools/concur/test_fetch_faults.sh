#!/usr/bin/env bash
# concur fetch against a server that fails on purpose (fault_server.py, a real Python peer):
# a body cut short is retried and the file is whole; a 503 with Retry-After and a 429 are
# retried; a 404 is not; a body that is always cut leaves no file and no part file behind.
set -euo pipefail
concur=$1
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/test_support.sh"
start_peer faults python3 "$here/fault_server.py"

set +e
"$concur" fetch --no-progress -j 4 --retries 3 --timeout 20 -o "$work/out" \
  "$base/cut/a" "$base/flaky" "$base/throttled" "$base/missing" "$base/always-cut" \
  >"$work/fetch.out" 2>"$work/fetch.err"
rc=$?
set -e
cat "$work/fetch.out"
fail() { echo "FAILED: $*"; cat "$work/fetch.err"; ls -la "$work/out"; exit 1; }
[ "$rc" -eq 1 ] || fail "fetch exited $rc, expected 1 (two URLs fail)"
grep -q "5 URLs, 3 ok, 2 failed" "$work/fetch.out" || fail "wrong summary"
line() { grep -F "$base/$1" "$work/fetch.out"; }
line cut/a | grep -q "tries=2" || fail "a cut body was not retried once"
line flaky | grep -q "tries=2" || fail "a 503 was not retried once"
line throttled | grep -q "tries=2" || fail "a 429 was not retried once"
line missing | grep -q "tries=1" || fail "a 404 was retried"
line always-cut | grep -q "tries=4" || fail "an always-cut body was not tried 1 + 3 times"
count=$(python3 -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$base/count/missing")
[ "$count" = 1 ] || fail "the server saw the 404 URL $count times"
# Complete or absent: the cut file is whole (1000 bytes), the always-cut one is not there at
# all, and no part file is left.
[ "$(stat -c %s "$work/out/"*cut_a)" -eq 1000 ] || fail "cut/a is not 1000 bytes"
ls "$work/out" | grep -q "always-cut" && fail "a failed download left a file"
ls "$work/out" | grep -q "\.part$" && fail "a part file was left"
# The Retry-After of 1 s was honoured: flaky took at least a second.
line flaky | grep -Eq " ([1-9][0-9]*\.[0-9]+ s|[0-9]+:[0-9]+)" || fail "Retry-After was not honoured"
echo "fetch faults: ok"
