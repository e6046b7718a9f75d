#!/usr/bin/env bash
# concur fetch's modes against a real Python peer (fault_server.py): -c continues a part file
# with a Range request (within a run after a cut, and across runs), takes a 416 for a part
# that is already whole, and skips a file that is already complete; --json gives one object
# per URL; -i - reads URLs from stdin; --quiet prints nothing but errors; --timeout bounds a
# URL's tries and waits together.
set -euo pipefail
concur=$1
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/test_support.sh"
start_peer faults python3 "$here/fault_server.py"
fail() { echo "FAILED: $*"; cat "$work/fetch.out" "$work/fetch.err" 2>/dev/null; ls -la "$work/out" 2>/dev/null; exit 1; }
body() {  # the first $1 bytes of the server's 1000-byte body
  python3 -c "import sys; sys.stdout.buffer.write((bytes(range(256)) * 3 + bytes(232))[:int(sys.argv[1])])" "$1"
}
mkdir -p "$work/out"
saved() { echo "$work/out/$(echo "${base#http://}/resumable/$1" | tr ':/' '__')"; }  # fetch's file name
body 300 >"$(saved b).part"
body 1000 >"$(saved c).part"
body 1000 >"$(saved d)"
body 1000 >"$work/whole"

"$concur" fetch --no-progress -c --retries 2 -o "$work/out" \
  "$base/resumable/a" "$base/resumable/b" "$base/resumable/c" "$base/resumable/d" \
  >"$work/fetch.out" 2>"$work/fetch.err" || fail "fetch -c failed"
cat "$work/fetch.out"
line() { grep -F "$base/$1 " "$work/fetch.out"; }
line resumable/a | grep -q "tries=2.*continued from 400 B" || fail "a cut body was not continued"
line resumable/b | grep -q "tries=1.*continued from 300 B" || fail "a part file was not continued"
line resumable/c | grep -q "continued from 1000 B" || fail "a whole part file was not taken as done"
line resumable/d | grep -q "already complete" || fail "a complete file was fetched again"
range() { python3 -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$base/range/resumable/$1"; }
[ "$(range a)" = "bytes=400-" ] || fail "the retry of a asked for $(range a)"
[ "$(range b)" = "bytes=300-" ] || fail "b asked for $(range b)"
[ "$(range c)" = "bytes=1000-" ] || fail "c asked for $(range c)"
[ "$(range d)" = "-" ] || fail "d was requested"
for name in a b c d; do
  cmp -s "$work/whole" "$(saved $name)" || fail "resumable/$name is not the whole body"
done
ls "$work/out" | grep -q "\.part$" && fail "a part file was left"

# A 206 that does not continue the part file is refused: nothing saved, the part kept.
body 300 >"$work/out/$(echo "${base#http://}/badrange/e" | tr ':/' '__').part"
"$concur" fetch --no-progress -c -o "$work/out" "$base/badrange/e" >"$work/fetch.out" 2>"$work/fetch.err" \
  && fail "a range that does not continue was accepted"
grep -q "does not continue the 300 bytes" "$work/fetch.err" || fail "the bad range was not named"
[ "$(ls "$work/out" | grep -c "badrange_e")" -eq 1 ] || fail "badrange/e: expected only its part file"
ls "$work/out" | grep -q "badrange_e.part$" || fail "the part file of badrange/e was not kept"
# A 206 to a request without Range is not taken for the whole file either.
"$concur" fetch --no-progress -o "$work/out" "$base/badrange/f" >"$work/fetch.out" 2>"$work/fetch.err" \
  && fail "an unasked-for 206 was accepted"
grep -q "answered 206 (Content-Range: bytes 0-999/1000) to a request for the whole file" \
  "$work/fetch.err" || fail "the unasked-for 206 was not named"
ls "$work/out" | grep -q "badrange_f" && fail "an unasked-for 206 left a file"

# --json and -i -: one object per URL on stdout, nothing else there.
printf '%s\n' "$base/flaky" "# comment" "$base/missing" | "$concur" fetch --json -i - \
  >"$work/fetch.out" 2>"$work/fetch.err" && fail "fetch --json exited 0 with a 404"
python3 - "$work/fetch.out" "$base" <<'PY' || fail "--json output"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
by_url = {r["url"]: r for r in rows}
base = sys.argv[2]
assert len(rows) == 2, rows
assert by_url[base + "/flaky"]["ok"] is True and by_url[base + "/flaky"]["tries"] == 2, rows
assert by_url[base + "/missing"]["ok"] is False and by_url[base + "/missing"]["status"] == 404, rows
PY
grep -q "2 URLs, 1 ok, 1 failed" "$work/fetch.err" || fail "the --json summary is not on stderr"

# --quiet: nothing on stdout; the failure still named on stderr.
"$concur" fetch --quiet "$base/throttled" "$base/missing" >"$work/fetch.out" 2>"$work/fetch.err" \
  && fail "fetch --quiet exited 0 with a 404"
[ ! -s "$work/fetch.out" ] || fail "--quiet printed on stdout"
grep -q "missing: HTTP 404" "$work/fetch.err" || fail "--quiet hid the error"

# --timeout: a URL whose body is always cut, with 20 retries allowed, gives up once its
# 1.5 s are spent (the backoff alone would take minutes).
start=$(date +%s%N)
"$concur" fetch --no-progress --retries 20 --timeout 1.5 "$base/always-cut" \
  >"$work/fetch.out" 2>"$work/fetch.err" && fail "an always-cut URL succeeded"
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "no time left: --timeout 1.5 s for this URL" "$work/fetch.out" || fail "--timeout not named"
[ "$took_ms" -lt 20000 ] || fail "--timeout 1.5 took ${took_ms} ms"
echo "fetch modes: ok"
