// Must NOT compile under clang -Wthread-safety -Werror: reads a member guarded by a
// checked_mutex without holding it (tests/CMakeLists.txt expects the diagnostic).
#include <concur/core/checked_mutex.hpp>

class guarded {
 public:
  int locked_read() {
    const concur::checked_lock lock(m_);
    return value_;
  }
  int unguarded_read() { return value_; }

 private:
  concur::checked_mutex m_;
  int value_ CONCUR_GUARDED_BY(m_) = 0;
};

int main() {
  guarded g;
  return g.locked_read() + g.unguarded_read();
}
