#!/usr/bin/env bash
# Side by side, in one run: serving one large file from disk (page cache) over loopback by nginx
# (one worker, sendfile on) and by concur (`concur serve --static`, add_static + sendfile),
# fetched by the same client (curl to /dev/null) in alternating rounds. Prints each round's
# rate and the server's CPU time (utime+stime from /proc) per GiB, then the ratio of the
# medians.
#   bench/static_file_vs.sh [build-dir] [size-MiB] [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/nginx_peer.sh"
build=${1:-$here/../build/default}
size_mib=${2:-100}
rounds=${3:-5}
ours=$build/bin/concur
[ -x "$ours" ] || { echo "missing $ours (build the concur tool)" >&2; exit 1; }

dir=$(mktemp -d)
chmod 755 "$dir"  # nginx workers may run as nobody
concur_pid=
trap 'kill $(cat "$dir/nginx.pid" 2>/dev/null) $concur_pid 2>/dev/null || true; rm -rf "$dir"' EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
mkdir -p "$dir/www"
chmod 755 "$dir/www"
head -c "$((size_mib << 20))" /dev/urandom > "$dir/www/big.bin"
chmod 644 "$dir/www/big.bin"
cat "$dir/www/big.bin" > /dev/null  # both servers read it from the page cache

nginx_port=$(free_port)
start_nginx "$dir" "$dir/www" "$nginx_port" /big.bin "default_type application/octet-stream;" \
  "sendfile on;"
nginx_pid=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)  # the worker does the sending
concur_port=$(free_port)
"$ours" serve -q --port "$concur_port" --static "$dir/www" > /dev/null &
concur_pid=$!
for _ in $(seq 50); do
  curl -sfI -o /dev/null "http://127.0.0.1:$concur_port/static/big.bin" && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run NAME PID URL: one download's rate and the server's CPU per GiB, size checked.
run() {
  local name=$1 pid=$2 url=$3 before after
  before=$(cpu_ticks "$pid")
  read -r speed size < <(curl -sf -o /dev/null -w '%{speed_download} %{size_download}\n' "$url")
  after=$(cpu_ticks "$pid")
  [ "$size" -eq "$((size_mib << 20))" ] || { echo "$name: got $size bytes" >&2; exit 1; }
  python3 -c "import os,sys; hz=os.sysconf('SC_CLK_TCK'); print(f'{sys.argv[1]} mib_per_s={float(sys.argv[2])/2**20:.0f} server_cpu_ms_per_gib={(int(sys.argv[4])-int(sys.argv[3]))*1000/hz/($size_mib/1024):.0f}')" \
    "$name" "$speed" "$before" "$after"
}

results=$dir/results
for _ in $(seq "$rounds"); do
  run nginx "$nginx_pid" "http://127.0.0.1:$nginx_port/big.bin" | tee -a "$results"
  run concur "$concur_pid" "http://127.0.0.1:$concur_port/static/big.bin" | tee -a "$results"
done
python3 - "$results" "$size_mib" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    rows.setdefault(name, []).append((float(d["mib_per_s"]), float(d["server_cpu_ms_per_gib"])))
n = statistics.median(r for r, _ in rows["nginx"])
o = statistics.median(r for r, _ in rows["concur"])
print(f"static_file size_mib={sys.argv[2]} concur_mib_per_s={o:.0f} nginx_mib_per_s={n:.0f} "
      f"ratio={o / n:.2f} concur_cpu_ms_per_gib={statistics.median(c for _, c in rows['concur']):.0f} "
      f"nginx_cpu_ms_per_gib={statistics.median(c for _, c in rows['nginx']):.0f}")
PY
echo "reproduce: bench/static_file_vs.sh ${1:-build/default} $size_mib $rounds"
