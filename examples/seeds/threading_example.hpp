#pragma once
// The command line shared by the threading examples: --scale S multiplies every sleep (so the
// tests run the tutorials' seconds as milliseconds) and --seed N fixes the random sleeps.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

namespace example {

struct options {
  double scale = 1.0;
  std::optional<unsigned> seed;
};

[[noreturn]] inline void usage(std::string_view program, std::string_view problem) {
  std::cerr << program << ": " << problem << "\nusage: " << program
            << " [--scale S] [--seed N]   (S > 0 multiplies every sleep; default 1)\n";
  std::exit(2);
}

inline options parse(int argc, char** argv) {
  options o;
  const std::string_view program = argc > 0 ? argv[0] : "example";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg != "--scale" && arg != "--seed") {
      usage(program, "unknown argument '" + std::string(arg) + "'");
    }
    if (i + 1 >= argc) {
      usage(program, std::string(arg) + " needs a value");
    }
    const std::string_view value = argv[++i];
    const char* end = value.data() + value.size();
    if (arg == "--scale") {
      // std::from_chars for double needs a newer libstdc++ on some systems; strtod is enough.
      char* parsed_end = nullptr;
      const std::string copy(value);
      o.scale = std::strtod(copy.c_str(), &parsed_end);
      if (parsed_end != copy.c_str() + copy.size() || !std::isfinite(o.scale) || o.scale <= 0) {
        usage(program, "--scale wants a positive number, got '" + copy + "'");
      }
    } else {
      unsigned seed = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), end, seed);
      if (ec != std::errc() || ptr != end) {
        usage(program, "--seed wants a non-negative integer, got '" + std::string(value) + "'");
      }
      o.seed = seed;
    }
  }
  return o;
}

// A tutorial duration (in the tutorial's seconds) as the real duration to sleep.
inline std::chrono::nanoseconds scaled(double tutorial_seconds, double scale) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(tutorial_seconds * scale));
}

// A real elapsed time expressed back in the tutorial's seconds.
inline double tutorial_seconds(std::chrono::steady_clock::duration d, double scale) {
  return std::chrono::duration<double>(d).count() / scale;
}

}  // namespace example
