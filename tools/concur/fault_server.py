"""A loopback HTTP server that misbehaves on purpose, for concur fetch's retry rules.

Prints "serving on http://127.0.0.1:PORT" once it listens. Paths:
  /cut/<name>     first request: Content-Length 1000, 100 bytes, then the connection drops;
                  later requests: the whole 1000 bytes
  /always-cut     every request is cut short the same way
  /flaky          first request: 503 with Retry-After: 1; later: 200 "fine"
  /throttled      first request: 429; later: 200 "fine"
  /missing        404 (must not be retried)
  /resumable/<n>  honours "Range: bytes=N-" (206, or 416 past the end); without a Range the
                  first request is cut after 400 of its 1000 bytes, later ones are whole
  /badrange/<n>   answers any Range with a 206 of the whole body (Content-Range: bytes 0-999)
  /count/<path>   how many requests <path> has had so far
  /range/<path>   the Range header of the last request for <path> ("-" when it had none)
"""
import collections
import http.server
import socket
import sys

hits = collections.Counter()
last_range = {}
BODY = bytes(range(256)) * 3 + bytes(232)  # 1000 bytes


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def cut(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(BODY[:100])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def resumable(self, first):
        wanted = self.headers.get("Range")
        if wanted is None:
            if first:
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(BODY[:400])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            else:
                self.send_body(200, BODY)
            return
        start = int(wanted.removeprefix("bytes=").removesuffix("-"))
        if start >= len(BODY):
            self.send_body(416, b"", [("Content-Range", f"bytes */{len(BODY)}")])
        else:
            self.send_body(206, BODY[start:],
                           [("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")])

    def do_GET(self):
        if self.path.startswith("/count/"):
            self.send_body(200, str(hits["/" + self.path[len("/count/"):]]).encode())
            return
        if self.path.startswith("/range/"):
            self.send_body(200, last_range.get("/" + self.path[len("/range/"):], "-").encode())
            return
        hits[self.path] += 1
        last_range[self.path] = self.headers.get("Range", "-")
        first = hits[self.path] == 1
        if self.path.startswith("/cut/"):
            self.cut() if first else self.send_body(200, BODY)
        elif self.path == "/always-cut":
            self.cut()
        elif self.path == "/flaky":
            if first:
                self.send_body(503, b"busy", [("Retry-After", "1")])
            else:
                self.send_body(200, b"fine")
        elif self.path.startswith("/resumable/"):
            self.resumable(first)
        elif self.path.startswith("/badrange/"):
            self.send_body(206, BODY, [("Content-Range", f"bytes 0-{len(BODY) - 1}/{len(BODY)}")])
        elif self.path == "/throttled":
            self.send_body(429, b"slow down") if first else self.send_body(200, b"fine")
        else:
            self.send_body(404, b"no such thing")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"serving on http://127.0.0.1:{server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
