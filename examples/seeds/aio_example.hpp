#pragma once
// Shared bits of the asyncio examples: --scale S multiplies every sleep (CTest runs them
// fast), --seed N fixes the random sleeps.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace aio_example {

struct options {
  double scale = 1.0;
  unsigned seed = 1;
};

inline options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--scale") o.scale = std::atof(argv[i + 1]);
    if (a == "--seed") o.seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  if (!(o.scale > 0)) {
    std::fprintf(stderr, "--scale must be > 0\n");
    std::exit(2);
  }
  return o;
}

// `seconds` of the original program, scaled.
inline std::chrono::duration<double> scaled(double seconds, const options& o) {
  return std::chrono::duration<double>(seconds * o.scale);
}

}  // namespace aio_example
