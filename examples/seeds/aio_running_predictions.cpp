// The running-predictions example: two coroutines awaited one after the other take the sum
// of their sleeps (3 s); with aio::gather they run together and take the longest (2 s).
#include <concur/aio.hpp>
#include <cstdio>

#include "example_options.hpp"

namespace aio = concur::aio;

namespace {

example::options opt;
int in_flight = 0;
int max_in_flight = 0;

struct flight {
  flight() { max_in_flight = std::max(max_in_flight, ++in_flight); }
  ~flight() { --in_flight; }
};

// Simulates a long-running prediction of my Sunday long run.
aio::task<double> predicted_sunday_run_length() {
  flight f;
  co_await aio::sleep(example::scaled(1, opt.scale));
  co_return 12.31;
}

// Simulates a long-running prediction of my weekly mileage.
aio::task<double> predicted_weekly_mileage() {
  flight f;
  co_await aio::sleep(example::scaled(2, opt.scale));
  co_return 44;
}

aio::task<std::pair<double, double>> running_predictions() {
  double sunday_run = co_await predicted_sunday_run_length();
  double weekly_mileage = co_await predicted_weekly_mileage();
  co_return std::pair{sunday_run, weekly_mileage};
}

aio::task<std::tuple<double, double>> running_predictions_concurrent() {
  co_return co_await aio::gather(predicted_weekly_mileage(), predicted_sunday_run_length());
}

}  // namespace

int main(int argc, char** argv) {
  opt = example::parse(argc, argv);
  auto unscaled = [](double s) { return s / opt.scale; };

  aio::event_loop loop;
  double start = loop.time();
  auto [sunday_run, weekly_mileage] = loop.run_until_complete(running_predictions());
  double end = loop.time();
  std::printf("%g\n%g\n", sunday_run, weekly_mileage);
  std::printf("two awaits completes in: %.2f s (the sleeps add up to 3 s)\n",
              unscaled(end - start));
  std::printf("two awaits: %d prediction(s) in flight at once\n", max_in_flight);

  max_in_flight = 0;
  start = loop.time();
  auto predictions = loop.run_until_complete(running_predictions_concurrent());
  end = loop.time();
  std::printf("%g\n%g\n", std::get<0>(predictions), std::get<1>(predictions));
  std::printf("await aio::gather() completes in: %.2f s (the longest sleep is 2 s)\n",
              unscaled(end - start));
  std::printf("gather: %d prediction(s) in flight at once\n", max_in_flight);
  return 0;
}
