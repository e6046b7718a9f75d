// Must not compile: each function below sends something that cannot cross a process boundary.
// check.cmake compiles this file once and expects every static_assert message.
#include "concur/mp.hpp"

struct opaque {
  int x = 0;
};
int use_opaque(opaque o) { return o.x; }
void use_pointer(int* p) { *p = 1; }

int unsendable_argument(concur::mp::pool& p) { return p.apply(use_opaque, opaque{}); }

int stateful_closure(concur::mp::pool& p) {
  int offset = 3;
  return p.apply([offset](int x) { return x + offset; }, 1);
}

void raw_pointer(int& x) {
  concur::mp::process p(use_pointer, &x);
  p.start();
}
