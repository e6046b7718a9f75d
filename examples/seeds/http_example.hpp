#pragma once
// Shared bits of the HTTP client examples: --scale S shrinks the mock API's delays (CTest runs
// the examples fast); every example talks to http::mock_server on loopback.
#include <cstdio>
#include <cstdlib>
#include <string>

namespace http_example {

inline double parse_scale(int argc, char** argv) {
  double scale = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--scale") scale = std::atof(argv[i + 1]);
  }
  if (!(scale > 0)) {
    std::fprintf(stderr, "--scale must be > 0\n");
    std::exit(2);
  }
  return scale;
}

}  // namespace http_example
