#pragma once
// The command line shared by the multiprocessing examples: --scale S multiplies every sleep
// (the tests run the tutorials' seconds as hundredths), --seed N fixes random sleeps, and
// --n N sets a problem size where an example has one.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace mp_example {

struct options {
  double scale = 1.0;
  std::optional<unsigned> seed;
  std::optional<long> n;
};

[[noreturn]] inline void usage(std::string_view program, const std::string& problem) {
  std::cerr << program << ": " << problem << "\nusage: " << program
            << " [--scale S] [--seed N] [--n N]   (S > 0 multiplies every sleep; default 1)\n";
  std::exit(2);
}

inline options parse(int argc, char** argv) {
  options o;
  const std::string_view program = argc > 0 ? argv[0] : "example";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg != "--scale" && arg != "--seed" && arg != "--n")
      usage(program, "unknown argument '" + arg + "'");
    if (i + 1 >= argc) usage(program, arg + " needs a value");
    const std::string value = argv[++i];
    char* end = nullptr;
    if (arg == "--scale") {
      o.scale = std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size() || !std::isfinite(o.scale) || o.scale <= 0)
        usage(program, "--scale wants a positive number, got '" + value + "'");
    } else {
      const long v = std::strtol(value.c_str(), &end, 10);
      if (end != value.c_str() + value.size() || value.empty() || v < 0)
        usage(program, arg + " wants a non-negative integer, got '" + value + "'");
      if (arg == "--seed") {
        o.seed = static_cast<unsigned>(v);
      } else {
        o.n = v;
      }
    }
  }
  return o;
}

// A tutorial duration (the tutorial's seconds) as the real duration to sleep.
inline std::chrono::nanoseconds scaled(double tutorial_seconds, double scale) {
  return std::chrono::nanoseconds(static_cast<long long>(tutorial_seconds * scale * 1e9));
}

// A measured duration back in tutorial seconds.
inline double tutorial_seconds(std::chrono::steady_clock::duration d, double scale) {
  return std::chrono::duration<double>(d).count() / scale;
}

}  // namespace mp_example
