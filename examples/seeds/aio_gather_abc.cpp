// gather() runs tasks A, B and C (2, 1 and 3 s) "at once": about 3 s in all, not 6.
#include <concur/aio.hpp>
#include <cstdio>
#include <string>

#include "example_options.hpp"

namespace aio = concur::aio;

namespace {

example::options opt;
std::string finish_order;

aio::task<std::string> task(std::string name, double duration) {
  std::printf("[%s] Starting...\n", name.c_str());
  co_await aio::sleep(example::scaled(duration, opt.scale));  // "I wait, but don't block"
  std::printf("[%s] Completed!\n", name.c_str());
  finish_order += name;
  co_return name;
}

aio::task<void> main_task() {
  auto [a, b, c] = co_await aio::gather(task("A", 2), task("B", 1), task("C", 3));
  std::printf("Results: ['%s', '%s', '%s']\n", a.c_str(), b.c_str(), c.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  opt = example::parse(argc, argv);
  auto t0 = std::chrono::steady_clock::now();
  aio::run(main_task());
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("finish order: %s\n", finish_order.c_str());
  std::printf("took %.2f s (scaled back; sequential would be 6 s)\n", took / opt.scale);
  return 0;
}
