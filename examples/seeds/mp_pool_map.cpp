// Pool(5).map(f, [1, 2, 3]) from the official docs (tutorial 03): each call may run in a
// different worker process; the results come back in order.
#include <iostream>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {
int f(int x) { return x * x; }
}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  example::parse(argc, argv);
  concur::mp::pool p(5);
  const std::vector<int> out = p.map(f, std::vector<int>{1, 2, 3});
  std::cout << "[";
  for (std::size_t i = 0; i < out.size(); ++i) std::cout << (i ? ", " : "") << out[i];
  std::cout << "]" << std::endl;
  return 0;
}
