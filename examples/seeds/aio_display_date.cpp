// display_date: two tasks on one event loop, each printing the time and napping a random
// while, until its deadline (50 s in the tutorial; --seconds bounds it here).
#include <algorithm>
#include <concur/aio.hpp>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "example_options.hpp"

namespace aio = concur::aio;

namespace {

example::options opt;
std::vector<int> log_order;  // which task printed each line

std::string now_text() {
  auto t = std::chrono::system_clock::now();
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

aio::task<void> my_sleep_func(std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 2);
  co_await aio::sleep(example::scaled(d(rng), opt.scale));
}

aio::task<void> display_date(int num, aio::event_loop& loop, double seconds, unsigned seed) {
  std::mt19937 rng(seed);
  double end_time = loop.time() + seconds * opt.scale;
  for (;;) {
    std::printf("Loop: %d Time: %s\n", num, now_text().c_str());
    log_order.push_back(num);
    if (loop.time() + 1.0 * opt.scale >= end_time) break;
    co_await my_sleep_func(rng);
  }
}

}  // namespace

int main(int argc, char** argv) {
  opt = example::parse(argc, argv, example::seed | example::seconds);
  const double seconds = opt.seconds.value_or(5);
  const unsigned seed = opt.seed.value_or(1);
  aio::event_loop loop;
  auto t1 = loop.create_task(display_date(1, loop, seconds, seed));
  auto t2 = loop.create_task(display_date(2, loop, seconds, seed + 1));
  loop.run_until_complete(aio::gather(t1, t2));

  // Interleaved: each task printed again after the other one had started printing.
  auto first = [&](int n) {
    return static_cast<std::size_t>(std::find(log_order.begin(), log_order.end(), n) -
                                    log_order.begin());
  };
  auto last = [&](int n) {
    return log_order.size() - 1 -
           static_cast<std::size_t>(std::find(log_order.rbegin(), log_order.rend(), n) -
                                    log_order.rbegin());
  };
  bool interleaved = first(2) < last(1) && first(1) < last(2);
  std::printf("lines printed: %zu\n", log_order.size());
  std::printf("both tasks ran on one loop, interleaved: %s\n", interleaved ? "yes" : "no");
  return 0;
}
