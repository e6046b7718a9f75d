#!/usr/bin/env bash
# End to end: `concur serve` on a free port, `concur fetch` against it with one URL that
# fails (404) and one host that refuses; SIGUSR1 prints the server's tasks; then Ctrl-C stops
# the server gracefully.
set -euo pipefail
concur=$1
source "$(dirname "$0")/test_support.sh"
start_peer serve "$concur" serve --port 0

printf '%s\n' "$base/posts/1" "# a comment" "" "$base/users" >"$work/urls.txt"
set +e
"$concur" fetch -j 4 --retries 1 --timeout 10 -o "$work/out" -i "$work/urls.txt" \
  "$base/posts/99999" "http://127.0.0.1:1/refused" >"$work/fetch.out" 2>"$work/fetch.err"
rc=$?
set -e
cat "$work/fetch.out"
[ "$rc" -eq 1 ] || { echo "fetch exited $rc, expected 1"; cat "$work/fetch.err"; exit 1; }
grep -q "4 URLs, 2 ok, 2 failed" "$work/fetch.out" || { echo "wrong summary"; exit 1; }
grep -q "posts/99999" "$work/fetch.err" || { echo "404 not reported on stderr"; exit 1; }
grep -q "127.0.0.1:1/refused" "$work/fetch.err" || { echo "refusal not reported"; exit 1; }
# Bodies saved inside the output directory under safe names, and they are the real JSON.
saved=$(ls "$work/out" | wc -l)
[ "$saved" -eq 2 ] || { echo "expected 2 saved files, found $saved"; ls -la "$work/out"; exit 1; }
grep -q '"userId"' "$work/out/"*posts_1 || { echo "saved post is not the JSON"; exit 1; }
# One line per request on stderr, in the common log format with the time taken appended.
grep -Eq '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\] "GET /users HTTP/1\.1" 200 [0-9]+ [0-9.]+ms$' \
  "$work/serve.err" || { echo "server did not log the request"; cat "$work/serve.err"; exit 1; }

# SIGUSR1: every loop's task tree on stderr, and the server goes on serving.
kill -USR1 "$server_pid"
for _ in $(seq 100); do
  grep -q "(T) accept" "$work/serve.err" && break
  sleep 0.1
done
grep -q "loop 0 of 1: tasks of event loop" "$work/serve.err" || { echo "no task dump"; cat "$work/serve.err"; exit 1; }
grep -q "(T) accept  id=.*waiting: fd [0-9]* readable" "$work/serve.err" || { echo "accept task missing"; cat "$work/serve.err"; exit 1; }
curl_like=$("$concur" fetch -o "$work/again" "$base/posts/2" >/dev/null 2>&1 && echo ok || echo failed)
[ "$curl_like" = ok ] || { echo "server stopped serving after SIGUSR1"; exit 1; }

kill -INT "$server_pid"
for _ in $(seq 100); do  # graceful stop within 10 s
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then echo "server did not stop on SIGINT"; exit 1; fi
wait "$server_pid" && server_rc=0 || server_rc=$?
server_pid=
[ "$server_rc" -eq 0 ] || { echo "server exited $server_rc"; exit 1; }
echo "serve+fetch ok"
