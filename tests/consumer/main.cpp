#include <concur/version.hpp>

#include <iostream>

int main() {
  std::cout << "concur " << concur::version() << "\nconsumer ok\n";
  return concur::version().empty() ? 1 : 0;
}
