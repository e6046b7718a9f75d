#pragma once
// The command line every seed example shares. --scale S multiplies every sleep and delay (the
// tests run the tutorials' seconds as hundredths); an example may also take --seed N (fixes its
// random sleeps), --n N (its problem size) or --seconds S (how long it runs, in the tutorial's
// seconds). Anything else, or a value that is not a number in range, prints the usage and exits
// with status 2.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace example {

// The options an example takes beside --scale.
enum flag : unsigned { seed = 1U << 0, n = 1U << 1, seconds = 1U << 2 };

struct options {
  double scale = 1.0;
  std::optional<unsigned> seed;
  std::optional<long> n;
  std::optional<double> seconds;
};

namespace detail {

inline std::string usage_line(std::string_view program, unsigned accepted) {
  std::string u = "usage: " + std::string(program) + " [--scale S]";
  if ((accepted & flag::seed) != 0) u += " [--seed N]";
  if ((accepted & flag::n) != 0) u += " [--n N]";
  if ((accepted & flag::seconds) != 0) u += " [--seconds S]";
  return u + "   (S > 0 multiplies every sleep; default 1)";
}

[[noreturn]] inline void usage(std::string_view program, unsigned accepted,
                               const std::string& problem) {
  std::cerr << program << ": " << problem << '\n' << usage_line(program, accepted) << '\n';
  std::exit(2);
}

inline std::optional<double> positive_real(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0)
    return std::nullopt;
  return v;
}

inline std::optional<long> non_negative_integer(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || v < 0)
    return std::nullopt;
  return v;
}

}  // namespace detail

inline options parse(int argc, char** argv, unsigned accepted = 0) {
  options o;
  const std::string_view program = argc > 0 ? argv[0] : "example";
  auto takes = [&](const std::string& arg) {
    return arg == "--scale" || (arg == "--seed" && (accepted & flag::seed) != 0) ||
           (arg == "--n" && (accepted & flag::n) != 0) ||
           (arg == "--seconds" && (accepted & flag::seconds) != 0);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!takes(arg)) detail::usage(program, accepted, "unknown argument '" + arg + "'");
    if (i + 1 >= argc) detail::usage(program, accepted, arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--scale" || arg == "--seconds") {
      const auto v = detail::positive_real(value);
      if (!v)
        detail::usage(program, accepted, arg + " wants a positive number, got '" + value + "'");
      (arg == "--scale" ? o.scale : o.seconds.emplace()) = *v;
    } else {
      const auto v = detail::non_negative_integer(value);
      if (!v || (arg == "--seed" && *v > static_cast<long>(~0U)))
        detail::usage(program, accepted,
                      arg + " wants a non-negative integer, got '" + value + "'");
      if (arg == "--seed") {
        o.seed = static_cast<unsigned>(*v);
      } else {
        o.n = *v;
      }
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
