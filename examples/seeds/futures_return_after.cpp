// submit, then ask the future (tutorial 03, ThreadPoolExecutor): return_after_5_secs runs on
// a pool of 3 threads; the future is not done right after submit, is done once its 5 s have
// passed, and result() gives back the message.
//   futures_return_after [--scale S]   (S multiplies every sleep; CTest runs it with 0.05)
#include <chrono>
#include <concur/futures.hpp>
#include <cstdio>
#include <string>
#include <thread>

#include "example_options.hpp"

int main(int argc, char** argv) {
  const double scale = example::parse(argc, argv).scale;
  auto seconds = [scale](double s) { return std::chrono::duration<double>(s * scale); };

  auto return_after_5_secs = [&](std::string message) {
    std::this_thread::sleep_for(seconds(5));
    return message;
  };

  concur::thread_pool_executor pool(3);
  auto future = pool.submit(return_after_5_secs, "hello");
  const bool done_at_once = future.done();
  std::printf("future.done() right after submit: %s\n", done_at_once ? "True" : "False");

  // The tutorial sleeps 5 s here; one more second of margin keeps a loaded machine from
  // turning the second done() into a coin toss.
  std::this_thread::sleep_for(seconds(6));
  const bool done_later = future.done();
  std::printf("future.done() after 5 s: %s\n", done_later ? "True" : "False");
  const std::string& result = future.result();
  std::printf("future.result(): %s\n", result.c_str());

  const bool ok = !done_at_once && done_later && result == "hello";
  std::printf("pending, then done, then the message: %s\n", ok ? "yes" : "no");
  return ok ? 0 : 1;
}
