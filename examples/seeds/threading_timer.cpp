// threading.Timer, as in Python's documentation: call a function after a delay, unless it is
// cancelled first. concur::timer is the C++ spelling; it runs the function on its own thread,
// and its destructor cancels and joins, so a forgotten timer never outlives its scope.
#include <atomic>
#include <chrono>
#include <concur/threading.hpp>
#include <iostream>
#include <string>

#include "example_options.hpp"

int main(int argc, char** argv) {
  const auto opts = example::parse(argc, argv);

  // t = Timer(1.0, hello); t.start()  -> "hello, world" after a second
  concur::timer hello(example::scaled(1.0, opts.scale), [] { std::cout << "hello, world\n"; });
  hello.start();
  hello.join();
  std::cout << "first timer fired: " << (hello.fired() ? "yes" : "no") << "\n";

  // A timer cancelled before its interval ends never calls its function. (An hour, so that
  // even a very slow machine cancels it in time; cancelling wakes its thread at once.)
  std::atomic<bool> called{false};
  concur::timer late(example::scaled(3600.0, opts.scale), [&] { called = true; });
  late.start();
  const bool prevented = late.cancel();
  late.join();
  std::cout << "second timer cancelled before firing: " << (prevented && !called ? "yes" : "no")
            << "\n";

  // Arguments are passed like threading.Timer(interval, function, args).
  concur::timer greet(
      example::scaled(0.5, opts.scale),
      [](const std::string& name, int times) {
        for (int i = 0; i < times; ++i) {
          std::cout << "hello, " << name << "\n";
        }
      },
      std::string("timer"), 2);
  greet.start();
  greet.join();
  return hello.fired() && prevented && !called && greet.fired() ? 0 : 1;
}
