// web.run_app: serves on the calling thread until SIGINT or SIGTERM, then shuts down
// gracefully. The signal is sent to the whole process, so the kernel may hand it to any
// thread; it must reach loop 0 either way (through the loop's add_signal_handler).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "concur/http.hpp"

namespace http = concur::http;
namespace aio = concur::aio;
using namespace std::chrono_literals;

namespace {

void serve_until_signal(int sig) {
  std::promise<std::uint16_t> ready;
  auto port = ready.get_future();
  std::atomic<bool> returned{false};
  std::thread server([&] {
    http::application app;
    app.get("/", [](http::web_request&) -> aio::task<http::web_response> {
      co_return http::text_response("up");
    });
    http::server_options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    http::run_app(std::move(app), o, [&](std::uint16_t p) { ready.set_value(p); });
    returned = true;
  });
  ASSERT_EQ(port.wait_for(20s), std::future_status::ready);
  // An answered request means loop 0 runs, with its signal handlers in place.
  const auto url = "http://127.0.0.1:" + std::to_string(port.get()) + "/";
  EXPECT_EQ(http::get(url).text(), "up");
  ::kill(::getpid(), sig);
  for (int i = 0; i < 2000 && !returned; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(returned);
  if (!returned) std::_Exit(1);  // a server that ignores the signal would hang the join
  server.join();
}

}  // namespace

TEST(RunApp, SigtermShutsDownGracefully) { serve_until_signal(SIGTERM); }
TEST(RunApp, SigintShutsDownGracefully) { serve_until_signal(SIGINT); }
