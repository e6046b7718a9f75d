// Subprocesses on the loop, translated from CPython's Lib/test/test_asyncio/test_subprocess.py
// (SubprocessMixin: test_stdin_stdout, test_communicate, test_shell, test_kill,
// test_terminate, test_send_signal, test_stdin_broken_pipe, test_devnull_*, test_popen_error,
// test_cancel_process_wait, test_read_stdout_after_process_exit, ...), with real programs
// (cat, sh, true), plus the rule that no child is ever left a zombie.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "concur/net.hpp"

namespace aio = concur::aio;
namespace net = concur::net;
using namespace std::chrono_literals;

namespace {

net::subprocess_options pipes(bool in, bool out, bool err) {
  net::subprocess_options o;
  o.std_in = in ? net::redirect::pipe : net::redirect::inherit;
  o.std_out = out ? net::redirect::pipe : net::redirect::inherit;
  o.std_err = err ? net::redirect::pipe : net::redirect::inherit;
  return o;
}

// True once `pid` is gone: reaped, not a zombie (polled for at most `limit`).
bool reaped(int pid, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

}  // namespace

TEST(Subprocess, StdinStdout) {  // test_stdin_stdout
  auto [out, code] = aio::run([]() -> aio::task<std::pair<std::string, int>> {
    const auto opts = pipes(true, true, false);
    const std::vector<std::string> none;
    auto proc = co_await net::create_subprocess_exec("cat", none, opts);
    proc.std_in().write("Python The Winner");
    co_await proc.std_in().drain();
    proc.std_in().close();
    std::string data = co_await proc.std_out().read();
    int rc = co_await proc.wait();
    co_return std::pair{data, rc};
  }());
  EXPECT_EQ(out, "Python The Winner");
  EXPECT_EQ(code, 0);
}

TEST(Subprocess, Communicate) {  // test_communicate
  auto [out, code] = aio::run([]() -> aio::task<std::pair<std::string, int>> {
    const auto opts = pipes(true, true, false);
    const std::vector<std::string> none;
    auto proc = co_await net::create_subprocess_exec("cat", none, opts);
    std::string input = "Python The Winner";
    auto [o, e] = co_await proc.communicate(input);
    EXPECT_EQ(e, "");
    co_return std::pair{o, *proc.returncode()};
  }());
  EXPECT_EQ(out, "Python The Winner");
  EXPECT_EQ(code, 0);
}

TEST(Subprocess, ShellExitCodeAndStderr) {  // test_shell
  auto [err, code] = aio::run([]() -> aio::task<std::pair<std::string, int>> {
    const auto opts = pipes(false, true, true);
    auto proc = co_await net::create_subprocess_shell("echo oops >&2; exit 7", opts);
    auto [o, e] = co_await proc.communicate();
    EXPECT_EQ(o, "");
    co_return std::pair{e, *proc.returncode()};
  }());
  EXPECT_EQ(err, "oops\n");
  EXPECT_EQ(code, 7);
}

TEST(Subprocess, StderrToStdout) {
  auto out = aio::run([]() -> aio::task<std::string> {
    auto opts = pipes(false, true, false);
    opts.std_err = net::redirect::to_stdout;
    auto proc = co_await net::create_subprocess_shell("echo out; echo err >&2", opts);
    auto [o, e] = co_await proc.communicate();
    co_return o;
  }());
  EXPECT_EQ(out, "out\nerr\n");
}

TEST(Subprocess, KillAndTerminateGiveMinusTheSignal) {  // test_kill, test_terminate
  aio::run([]() -> aio::task<void> {
    const std::vector<std::string> args{"60"};
    const net::subprocess_options opts;
    auto a = co_await net::create_subprocess_exec("sleep", args, opts);
    a.kill();
    EXPECT_EQ(co_await a.wait(), -SIGKILL);
    auto b = co_await net::create_subprocess_exec("sleep", args, opts);
    b.terminate();
    EXPECT_EQ(co_await b.wait(), -SIGTERM);
    b.kill();  // after the exit: nothing happens (Popen.send_signal does the same)
    EXPECT_EQ(b.returncode(), -SIGTERM);
  }());
}

TEST(Subprocess, SendSignalReachesTheChildsHandler) {  // test_send_signal
  auto out = aio::run([]() -> aio::task<std::string> {
    const auto opts = pipes(false, true, false);
    auto proc = co_await net::create_subprocess_shell(
        "trap 'echo got-hup; exit 0' HUP; echo ready; while :; do sleep 0.01; done", opts);
    std::string ready = co_await proc.std_out().readline();
    EXPECT_EQ(ready, "ready\n");
    proc.send_signal(SIGHUP);
    std::string rest = co_await proc.std_out().read();
    EXPECT_EQ(co_await proc.wait(), 0);
    co_return rest;
  }());
  EXPECT_EQ(out, "got-hup\n");
}

TEST(Subprocess, InputTheChildNeverReadsIsNotAnError) {  // test_stdin_broken_pipe
  auto code = aio::run([]() -> aio::task<int> {
    const auto opts = pipes(true, false, false);
    auto proc = co_await net::create_subprocess_shell("exit 0", opts);
    std::string big(4 * 1024 * 1024, 'x');  // far more than a socket buffer
    co_await proc.communicate(big);
    co_return *proc.returncode();
  }());
  EXPECT_EQ(code, 0);
}

TEST(Subprocess, Devnull) {  // test_devnull_input, test_devnull_output
  auto out = aio::run([]() -> aio::task<std::string> {
    net::subprocess_options opts;
    opts.std_in = net::redirect::devnull;
    opts.std_out = net::redirect::pipe;
    opts.std_err = net::redirect::devnull;
    auto proc = co_await net::create_subprocess_shell("cat; echo hidden >&2; echo end", opts);
    auto [o, e] = co_await proc.communicate();
    co_return o;
  }());
  EXPECT_EQ(out, "end\n");
}

TEST(Subprocess, EnvAndCwd) {
  auto out = aio::run([]() -> aio::task<std::string> {
    auto opts = pipes(false, true, false);
    opts.env = std::vector<std::string>{"GREETING=hello", "PATH=/usr/bin:/bin"};
    opts.cwd = "/";
    auto proc = co_await net::create_subprocess_shell("echo $GREETING; pwd", opts);
    auto [o, e] = co_await proc.communicate();
    co_return o;
  }());
  EXPECT_EQ(out, "hello\n/\n");
}

TEST(Subprocess, AProgramThatDoesNotExistIsAnOsError) {  // test_popen_error
  try {
    aio::run([]() -> aio::task<void> {
      const std::vector<std::string> none;
      const auto opts = pipes(true, true, true);
      auto proc = co_await net::create_subprocess_exec("concur-no-such-program", none, opts);
      ADD_FAILURE() << "started pid " << proc.pid();
    }());
    ADD_FAILURE() << "no error";
  } catch (const concur::os_error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("concur-no-such-program"), std::string::npos);
  }
}

TEST(Subprocess, CancellingWaitLeavesTheChildRunning) {  // test_cancel_process_wait
  aio::run([]() -> aio::task<void> {
    const std::vector<std::string> args{"60"};
    const net::subprocess_options opts;
    auto proc = co_await net::create_subprocess_exec("sleep", args, opts);
    EXPECT_THROW(co_await aio::wait_for(proc.wait(), 50ms), concur::timeout_error);
    EXPECT_FALSE(proc.returncode().has_value());
    EXPECT_EQ(::kill(proc.pid(), 0), 0);
    proc.kill();
    EXPECT_EQ(co_await proc.wait(), -SIGKILL);
  }());
}

TEST(Subprocess, ReadStdoutAfterTheProcessExited) {  // test_read_stdout_after_process_exit
  auto out = aio::run([]() -> aio::task<std::string> {
    const auto opts = pipes(false, true, false);
    auto proc = co_await net::create_subprocess_shell("echo done", opts);
    EXPECT_EQ(co_await proc.wait(), 0);
    co_return co_await proc.std_out().read();
  }());
  EXPECT_EQ(out, "done\n");
}

TEST(Subprocess, NotAPipeIsAnInvalidStateError) {
  aio::run([]() -> aio::task<void> {
    const net::subprocess_options opts;
    auto proc = co_await net::create_subprocess_shell("exit 0", opts);
    EXPECT_THROW(proc.std_out(), concur::invalid_state_error);
    EXPECT_THROW(proc.std_in(), concur::invalid_state_error);
    co_await proc.wait();
  }());
}

TEST(Subprocess, DestroyingARunningSubprocessKillsAndReapsIt) {
  int pid = 0;
  aio::run([&]() -> aio::task<void> {
    const std::vector<std::string> args{"60"};
    const net::subprocess_options opts;
    auto proc = co_await net::create_subprocess_exec("sleep", args, opts);
    pid = proc.pid();
  }());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(reaped(pid));
}

TEST(Subprocess, TheLoopClosingFirstLeavesNoZombie) {
  int pid = 0;
  aio::run([&]() -> aio::task<void> {
    // A task still waiting for its child when main returns: asyncio.run cancels it. (A
    // parameter, not a capture: the lambda object is gone before the task runs.)
    aio::create_task([](int& out) -> aio::task<void> {
      const std::vector<std::string> args{"60"};
      const net::subprocess_options opts;
      auto proc = co_await net::create_subprocess_exec("sleep", args, opts);
      out = proc.pid();
      co_await proc.wait();
    }(pid));
    for (int i = 0; i < 500 && pid == 0; ++i) co_await aio::sleep(0.01);
  }());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(reaped(pid));
}

TEST(Subprocess, CancelledCommunicateLeavesNoZombie) {
  int pid = 0;
  aio::run([&]() -> aio::task<void> {
    const auto opts = pipes(true, true, false);
    const std::vector<std::string> args{"60"};
    auto proc = co_await net::create_subprocess_exec("sleep", args, opts);
    pid = proc.pid();
    // sleep never closes its stdout: communicate() waits until the timeout cancels it.
    std::string input = "unread";
    EXPECT_THROW(co_await aio::wait_for(proc.communicate(input), 30ms), concur::timeout_error);
    EXPECT_FALSE(proc.returncode().has_value());
  }());
  EXPECT_TRUE(reaped(pid));
}

TEST(Subprocess, ManyAtOnce) {
  auto total = aio::run([]() -> aio::task<int> {
    aio::semaphore slots(16);
    int ok = 0;
    std::vector<aio::task<void>> all;
    for (int i = 0; i < 64; ++i) {
      all.push_back([](aio::semaphore& s, int& n) -> aio::task<void> {
        co_await s.acquire();
        const std::vector<std::string> none;
        const net::subprocess_options opts;
        auto proc = co_await net::create_subprocess_exec("true", none, opts);
        n += co_await proc.wait() == 0 ? 1 : 0;
        s.release();
      }(slots, ok));
    }
    co_await aio::gather(std::move(all));
    co_return ok;
  }());
  EXPECT_EQ(total, 64);
}
