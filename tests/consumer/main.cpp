// A separate project using the installed package. This is also the README's quick tour:
// keep the two in step.
#include <concur/aio.hpp>
#include <concur/futures.hpp>
#include <concur/mp.hpp>
#include <concur/threading.hpp>
#include <concur/version.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace aio = concur::aio;

int square(int x) { return x * x; }

aio::task<std::string> greet(std::string name, std::chrono::milliseconds delay) {
  co_await aio::sleep(delay);  // other coroutines run meanwhile
  co_return "hello " + name;
}

aio::task<int> amain() {
  auto [a, b] = co_await aio::gather(greet("A", 20ms), greet("B", 10ms));
  std::cout << a << ", " << b << "\n";
  co_return static_cast<int>(a.size() + b.size());
}

int main() {
  concur::mp::init();  // before any thread: the process pool's fork server starts here

  // concurrent.futures.ThreadPoolExecutor
  concur::thread_pool_executor pool(4);
  concur::future<int> f = pool.submit(square, 7);
  std::cout << "square(7) = " << f.result(2s) << "\n";

  // queue.Queue
  concur::queue<int> q(10);
  q.put(42);
  std::cout << "from the queue: " << q.get() << "\n";

  // asyncio.run + asyncio.gather
  const int n = aio::run(amain());

  // multiprocessing.Pool.map: each call runs in a worker process
  concur::mp::pool workers(2);
  std::vector<int> squares = workers.map(square, std::vector<int>{1, 2, 3, 4});
  std::cout << "squares from processes: " << squares[3] << "\n";

  const bool ok = f.result() == 49 && n == 14 && squares == std::vector<int>{1, 4, 9, 16};
  std::cout << "concur " << concur::version() << "\n" << (ok ? "consumer ok" : "consumer FAILED") << "\n";
  return ok ? 0 : 1;
}
