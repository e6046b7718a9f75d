// gtest_main runs the tests; this starts the fork server during static initialisation, while the
// test program is still single-threaded (the C++ counterpart of `if __name__ == "__main__"`).
#include "concur/mp.hpp"

namespace {
[[maybe_unused]] const bool fork_server_started = [] {
  concur::mp::init();
  return true;
}();
}  // namespace
