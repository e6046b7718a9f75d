"""concur fetch on a real pseudo-terminal (80 columns): the progress bar redraws in place and
fits the width, each URL gets its line as it finishes, the bar is gone at the end, and Ctrl-C
typed on the terminal cancels, prints the summary and exits 130.

Usage: python3 test_fetch_tty.py CONCUR
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONCUR = sys.argv[1]
ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def start_server(args):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"http://[0-9.:]+", line)
        if match:
            return proc, match.group(0)
    proc.kill()
    sys.exit("the peer server did not start")


def run_on_tty(args, type_after=None, limit=60):
    """Runs args with stdin/stdout/stderr on one pty of 80x24; returns (status, output).
    type_after=(seconds, bytes) types the bytes on the terminal after that long."""
    pid, master = pty.fork()
    if pid == 0:
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execv(args[0], args)
    out = b""
    start = time.monotonic()
    typed = False
    while time.monotonic() - start < limit:
        if type_after and not typed and time.monotonic() - start >= type_after[0]:
            os.write(master, type_after[1])
            typed = True
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    else:
        os.kill(pid, signal.SIGKILL)
        sys.exit("FAILED: concur fetch did not finish within %d s" % limit)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def check(condition, what, output):
    if not condition:
        print("FAILED:", what)
        print(repr(output))
        sys.exit(1)


faults, base = start_server([sys.executable, os.path.join(HERE, "fault_server.py")])
slow, slow_base = start_server([CONCUR, "serve", "--port", "0", "--latency", "10000", "--quiet"])
try:
    # /flaky waits 1 s (Retry-After) before its second try: the bar redraws meanwhile.
    urls = [base + "/flaky", base + "/cut/x", base + "/missing"] + [base + "/throttled"]
    code, out = run_on_tty([CONCUR, "fetch", "--retries", "2"] + urls)
    check(code == 1, "exit status %d, expected 1 (one 404)" % code, out)
    redraws = out.count("\r\x1b[K")
    check(redraws >= 5, "the bar was drawn %d times, expected it redrawn in place" % redraws, out)
    bars = [ESCAPES.sub("", part) for part in re.split(r"[\r\n]", out) if "files/s" in part]
    check(bars, "no progress bar", out)
    check(all(len(b) <= 80 for b in bars), "a bar wider than the terminal", out)
    check(any(re.search(r"\d+/4 +\d+% \|[#.]+\| \d\d:\d\d<(\d\d:\d\d|\?)", b) for b in bars),
          "the bar lacks done/total, percent, bar, elapsed<ETA", out)
    check(any("retrying" in b for b in bars), "the bar never showed the retrying URL", out)
    check(any("failed" in b for b in bars), "the bar never showed the failed URL", out)
    for url in urls:
        check(re.search(r"(ok|FAIL) +" + re.escape(url) + " ", out), "no line for " + url, out)
    final = out.split("\x1b[K")[-1]
    check("4 URLs, 3 ok, 1 failed" in final, "the summary is not after the last bar", out)
    check("files/s" not in final, "the bar stayed on screen", out)

    # Ctrl-C typed on the terminal while three answers are 10 s away.
    slow_urls = [slow_base + "/posts/1", slow_base + "/posts/2", slow_base + "/users"]
    code, out = run_on_tty([CONCUR, "fetch"] + slow_urls, type_after=(1.0, b"\x03"), limit=30)
    check(code == 130, "exit status %d after Ctrl-C, expected 130" % code, out)
    check("interrupted: 3 downloads cancelled" in out, "not reported as interrupted", out)
    final = out.split("\x1b[K")[-1]
    check("3 URLs, 0 ok, 3 failed" in final, "no summary after Ctrl-C", out)
    check("files/s" not in final, "the bar stayed on screen after Ctrl-C", out)
finally:
    faults.kill()
    slow.kill()
    faults.wait()
    slow.wait()
print("fetch on a terminal: ok")
