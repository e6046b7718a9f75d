// A semaphore lets 10 tasks run, never more than 3 at a time.
#include <algorithm>
#include <concur/aio.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "example_options.hpp"

namespace aio = concur::aio;

namespace {

example::options opt;
int executing = 0;
int max_executing = 0;

aio::task<void> limited_task(aio::semaphore& semaphore, std::string name) {
  auto held = co_await semaphore.scoped();  // "I wait my turn if it's crowded"
  max_executing = std::max(max_executing, ++executing);
  std::printf("[%s] Executing...\n", name.c_str());
  co_await aio::sleep(example::scaled(1, opt.scale));
  std::printf("[%s] Completed\n", name.c_str());
  --executing;
}

aio::task<void> main_task() {
  aio::semaphore semaphore(3);  // maximum 3 at once
  std::vector<aio::task<void>> tasks;
  for (int i = 0; i < 10; ++i)
    tasks.push_back(limited_task(semaphore, "Task-" + std::to_string(i)));
  co_await aio::gather(std::move(tasks));
}

}  // namespace

int main(int argc, char** argv) {
  opt = example::parse(argc, argv);
  aio::run(main_task());
  std::printf("max concurrently executing: %d\n", max_executing);
  return 0;
}
