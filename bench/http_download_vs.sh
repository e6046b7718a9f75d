#!/usr/bin/env bash
# Side by side, in one run: downloading one large file from nginx (one worker, loopback) to a
# file with curl and with concur (bench_http_download: client_session + response::save), in
# alternating rounds. Prints each round's rate and peak RSS, then the ratio of the medians.
#   bench/http_download_vs.sh [build-dir] [size-MiB] [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/nginx_peer.sh"
build=${1:-$here/../build/default}
size_mib=${2:-1024}
rounds=${3:-3}
ours=$build/bench/bench_http_download
[ -x "$ours" ] || { echo "missing $ours (build with CONCUR_BUILD_BENCH=ON)" >&2; exit 1; }

dir=$(mktemp -d)
chmod 755 "$dir"  # nginx workers may run as nobody
trap 'kill $(cat "$dir/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/www" "$dir/out"
chmod 755 "$dir/www"
# Random bytes: nothing on the way can shrink them.
head -c "$((size_mib << 20))" /dev/urandom > "$dir/www/big.bin"
chmod 644 "$dir/www/big.bin"
start_nginx "$dir" "$dir/www" "$port" /big.bin "default_type application/octet-stream;" "sendfile on;"
url="http://127.0.0.1:$port/big.bin"
cat "$dir/www/big.bin" > /dev/null  # both sides read it from the page cache

# run NAME COMMAND...: seconds and peak RSS (KiB) of one download, checked byte for byte.
run() {
  local name=$1
  shift
  rm -f "$dir/out/$name"
  /usr/bin/time -f "%e %M" -o "$dir/time.$name" "$@" > /dev/null
  cmp -s "$dir/www/big.bin" "$dir/out/$name" || { echo "$name: the file differs" >&2; exit 1; }
  rm -f "$dir/out/$name"
  read -r secs rss < "$dir/time.$name"
  python3 -c "import sys; s=float(sys.argv[1]); print(f'{sys.argv[3]} seconds={s:.2f} mib_per_s={$size_mib/max(s,1e-3):.0f} max_rss_kib={sys.argv[2]}')" "$secs" "$rss" "$name"
}

results=$dir/results
for r in $(seq "$rounds"); do
  run curl curl -sf -o "$dir/out/curl" "$url" | tee -a "$results"
  run concur "$ours" "$url" "$dir/out/concur" | tee -a "$results"
done
python3 - "$results" "$size_mib" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    rows.setdefault(name, []).append((float(d["mib_per_s"]), int(d["max_rss_kib"])))
c = statistics.median(r for r, _ in rows["curl"])
o = statistics.median(r for r, _ in rows["concur"])
print(f"http_download size_mib={sys.argv[2]} concur_mib_per_s={o:.0f} curl_mib_per_s={c:.0f} "
      f"ratio={o / c:.2f} concur_max_rss_kib={max(m for _, m in rows['concur'])} "
      f"curl_max_rss_kib={max(m for _, m in rows['curl'])}")
PY
