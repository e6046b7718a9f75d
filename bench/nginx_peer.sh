# Sourced by the bench scripts whose peer is nginx, so they all start it the same way.
# start_nginx WORK ROOT PORT PROBE [DIRECTIVE...]: one nginx worker on 127.0.0.1:PORT serving
# the folder ROOT, its pid in WORK/nginx.pid (the caller's EXIT trap kills it) and its logs in
# WORK/logs; each DIRECTIVE goes into the http block ("default_type application/json;").
# Returns once PROBE (a path) is served; ends the script if it never is.
start_nginx() {
  local work=$1 root=$2 port=$3 probe=$4
  shift 4
  command -v nginx >/dev/null || { echo "nginx is not installed" >&2; exit 1; }
  command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 1; }
  mkdir -p "$work/logs"
  cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  $*
  server { listen 127.0.0.1:$port; location / { root $root; } }
}
CONF
  nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
  for _ in $(seq 50); do
    curl -sfI -o /dev/null "http://127.0.0.1:$port$probe" && return 0
    sleep 0.1
  done
  echo "nginx does not serve $probe (see $work/logs/error.log)" >&2
  exit 1
}
