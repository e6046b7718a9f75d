// Thread-local storage (tutorial 05 mentions threading.local() as Python's per-thread
// storage). In C++ it is a language keyword: each thread gets its own `thread_local` variable,
// constructed on first use in that thread and destroyed when the thread exits.
#include <atomic>
#include <chrono>
#include <iostream>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "example_options.hpp"

namespace {

std::atomic<int> destroyed{0};

struct request_context {  // what a web handler might keep per thread
  std::string user = "nobody";
  ~request_context() { ++destroyed; }
};

thread_local request_context context;  // like `mydata = threading.local()`

}  // namespace

int main(int argc, char** argv) {
  const auto opts = example::parse(argc, argv);
  constexpr int workers = 4;
  std::atomic<int> shared_user{-1};  // one variable for all threads, for comparison
  std::latch everyone_wrote(workers);
  std::mutex out;
  std::atomic<int> saw_own_local{0};
  std::atomic<int> saw_other_shared{0};

  context.user = "main";
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < workers; ++i) {
      threads.emplace_back([&, i] {
        context.user = "user" + std::to_string(i);
        shared_user = i;
        everyone_wrote.arrive_and_wait();  // now every thread has written both
        std::this_thread::sleep_for(example::scaled(0.1 * (i + 1), opts.scale));  // work
        const bool own = context.user == "user" + std::to_string(i);
        const int shared_seen = shared_user.load();
        saw_own_local += own ? 1 : 0;
        saw_other_shared += shared_seen != i ? 1 : 0;
        std::lock_guard lock(out);
        std::cout << "worker " << i << ": thread_local user=" << context.user
                  << ", shared variable holds worker " << shared_seen << "'s value\n";
      });
    }
  }
  std::cout << "every worker saw its own thread_local value: "
            << (saw_own_local == workers ? "yes" : "no") << "\n";
  // All wrote before anyone read, so the shared variable holds one writer's value: the
  // other workers see a value that is not theirs.
  std::cout << "workers that found someone else's value in the shared variable: "
            << saw_other_shared << " of " << workers << "\n";
  std::cout << "main thread's thread_local user is still: " << context.user << "\n";
  std::cout << "thread_local objects destroyed at thread exit: " << destroyed << "\n";
  return saw_own_local == workers && context.user == "main" ? 0 : 1;
}
