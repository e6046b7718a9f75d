// Every process has its own PID (tutorial 04, "Basic Processes"): four processes print theirs.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

void task(std::string name) {
  std::printf("[%s] PID: %d\n", name.c_str(), ::getpid());
  std::fflush(stdout);
  // CPU-intensive work would go here.
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  example::parse(argc, argv);
  std::vector<concur::mp::process> processes;
  for (int i = 0; i < 4; ++i) {
    processes.emplace_back(task, "Process-" + std::to_string(i));
    processes.back().start();
  }
  std::set<int> pids;
  for (auto& p : processes) {
    p.join();
    pids.insert(p.pid());
  }
  std::cout << "main PID: " << ::getpid() << "\n"
            << "distinct worker PIDs: " << pids.size()
            << " of 4, main PID among them: " << (pids.count(::getpid()) != 0 ? "yes" : "no")
            << std::endl;
  return 0;
}
