// loop.add_signal_handler / remove_signal_handler (test_asyncio/test_unix_events.py's
// SelectorEventLoopSignalTests and the signal cases of test_events.py), and aio::run's Ctrl-C
// as asyncio.Runner has it (test_asyncio/test_runners.py: test_signal_install_not_supported_ok,
// test_interrupt_call_soon, test_interrupt_cancelled_task...). The Ctrl-C cases run this test
// program again as a child with CONCUR_TEST_SIGINT set, and send it real SIGINTs.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/aio.hpp"

namespace aio = concur::aio;
using namespace std::chrono_literals;

extern char** environ;

namespace {

// ---------------------------------------------------------------- the child's side

void say(const char* line) {
  std::fputs(line, stdout);
  std::fflush(stdout);
}

aio::task<int> child_main(std::string mode) {
  say("ready\n");
  try {
    co_await aio::sleep(60.0);
  } catch (const aio::cancelled_error&) {
    if (mode == "once") {
      say("cancelled\n");
      throw;
    }
    say("ignoring\n");
    if (mode == "caught") co_return 5;
  }
  co_await aio::sleep(60.0);  // "twice": only a second Ctrl-C gets the program out of here
  say("done\n");
  co_return 0;
}

// Before gtest's main: the child runs its scenario and never reaches the tests.
[[maybe_unused]] const bool child_ran = [] {
  const char* mode = std::getenv("CONCUR_TEST_SIGINT");
  if (mode == nullptr) return false;
  const int r = aio::run(child_main(mode));
  std::printf("returned %d\n", r);
  std::fflush(stdout);
  std::_Exit(0);
}();

// ---------------------------------------------------------------- the parent's side

struct child {
  pid_t pid = 0;
  int out = -1;
  std::string seen;

  // Reads until `want` has appeared (at most 20 s); false at EOF or timeout.
  bool wait_for(const std::string& want) {
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (seen.find(want) == std::string::npos) {
      if (std::chrono::steady_clock::now() > end) return false;
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(out, buf, sizeof buf);
      if (n <= 0) return false;
      seen.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // The raw wait status, reading the rest of the output first.
  int finish() {
    wait_for("\x01");  // to the end of the output (never printed)
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::close(out);
    return status;
  }
};

child start_child(const char* mode) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string("CONCUR_TEST_SIGINT=") + mode);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};
  // The child starts with SIGINT at its default action and unblocked, whatever this test
  // runner inherited (a shell's background job has SIGINT ignored).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigset_t sigint;
  sigemptyset(&none);
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &sigint);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  child c;
  EXPECT_EQ(::posix_spawn(&c.pid, self, &fa, &attr, argv, envp.data()), 0);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

}  // namespace

TEST(Signals, HandlerRunsOnTheLoopAndRemoveRestores) {  // test_add_signal_handler
  struct sigaction before {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &before), 0);
  int caught = 0;
  aio::run([&]() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    loop.add_signal_handler(SIGUSR1, [&] { ++caught; });
    ::raise(SIGUSR1);
    for (int i = 0; i < 200 && caught == 0; ++i) co_await aio::sleep(0.005);
    EXPECT_EQ(caught, 1);
    loop.add_signal_handler(SIGUSR1, [&] { caught += 10; });  // replaces
    ::raise(SIGUSR1);
    for (int i = 0; i < 200 && caught == 1; ++i) co_await aio::sleep(0.005);
    EXPECT_EQ(caught, 11);
    EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
    EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
  }());
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGUSR1, &before, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_IGN);  // what was there before is back
}

TEST(Signals, ASignalTheKernelGivesAnotherThreadStillReachesTheLoop) {
  int caught = 0;
  aio::run([&]() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    loop.add_signal_handler(SIGUSR2, [&] { ++caught; });
    // Process-directed, from a thread that does not block SIGUSR2: the kernel may run the
    // handler in that thread, which passes it on to the loop's.
    std::thread sender([] {
      sigset_t none;
      sigemptyset(&none);
      ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
      for (int i = 0; i < 3; ++i) {
        ::kill(::getpid(), SIGUSR2);
        std::this_thread::sleep_for(10ms);
      }
    });
    for (int i = 0; i < 400 && caught < 3; ++i) co_await aio::sleep(0.005);
    sender.join();
    EXPECT_GE(caught, 1);  // signals of one number may merge while pending
    loop.remove_signal_handler(SIGUSR2);
  }());
}

TEST(Signals, InvalidSignalsAreValueErrors) {  // test_add_signal_handler's error cases
  aio::run([]() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    EXPECT_THROW(loop.add_signal_handler(0, [] {}), concur::value_error);
    EXPECT_THROW(loop.add_signal_handler(NSIG, [] {}), concur::value_error);
    EXPECT_THROW(loop.add_signal_handler(SIGKILL, [] {}), concur::value_error);
    EXPECT_THROW(loop.remove_signal_handler(-1), concur::value_error);
    co_return;
  }());
}

TEST(Signals, AThrowingHandlerGoesToTheExceptionHandler) {
  std::string reported;
  aio::run([&]() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    loop.set_exception_handler(
        [&](aio::event_loop&, const aio::exception_context& ctx) { reported = ctx.message; });
    loop.add_signal_handler(SIGUSR1, [] { throw std::runtime_error("boom"); });
    ::raise(SIGUSR1);
    for (int i = 0; i < 200 && reported.empty(); ++i) co_await aio::sleep(0.005);
    loop.remove_signal_handler(SIGUSR1);
  }());
  EXPECT_NE(reported.find("signal"), std::string::npos) << reported;
}

TEST(RunSigint, CtrlCCancelsMainAndTheProgramEndsBySigint) {  // test_interrupt_cancelled_task
  auto c = start_child("once");
  ASSERT_TRUE(c.wait_for("ready\n")) << c.seen;
  ::kill(c.pid, SIGINT);
  const int status = c.finish();
  EXPECT_EQ(c.seen, "ready\ncancelled\n");
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGINT);
}

TEST(RunSigint, AMainThatSwallowsTheCancellationReturnsNormally) {
  auto c = start_child("caught");
  ASSERT_TRUE(c.wait_for("ready\n")) << c.seen;
  ::kill(c.pid, SIGINT);
  const int status = c.finish();
  EXPECT_EQ(c.seen, "ready\nignoring\nreturned 5\n");
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RunSigint, ASecondCtrlCEndsTheProgramAtOnce) {  // test_interrupt_call_soon
  auto c = start_child("twice");
  ASSERT_TRUE(c.wait_for("ready\n")) << c.seen;
  ::kill(c.pid, SIGINT);
  ASSERT_TRUE(c.wait_for("ignoring\n")) << c.seen;
  ::kill(c.pid, SIGINT);
  const int status = c.finish();
  EXPECT_EQ(c.seen, "ready\nignoring\n");
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGINT);
}

TEST(RunSigint, NotInstalledWhenSigintIsTakenElsewhere) {  // test_signal_install_not_supported_ok
  struct sigaction before {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGINT, &ignore, &before), 0);
  aio::run([]() -> aio::task<void> {
    EXPECT_FALSE(aio::get_running_loop().remove_signal_handler(SIGINT));
    co_return;
  }());
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGINT, &before, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_IGN);
}
