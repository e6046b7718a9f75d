// CPython's Lib/test/test_asyncio/test_taskgroups.py (CpyTaskGroup) and the asyncio.run part
// of test_runners.py (CpyRun), translated case by case. `async with TaskGroup() as g: <body>`
// is aio::with_task_group([&](aio::task_group& g) -> aio::task<void> { <body> }).
// Expectations are asyncio's behaviour, whether or not concur has it yet.
#include <gtest/gtest.h>

#include <concur/aio.hpp>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio/aio_test_support.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

struct zero_division : std::runtime_error {
  zero_division() : std::runtime_error("division by zero") {}
};
struct my_exc : std::runtime_error {  // MyExc(Exception)
  my_exc() : std::runtime_error("MyExc") {}
};
struct my_base_exc {};  // MyBaseExc(BaseException): not a std::exception
struct type_error : std::runtime_error {
  type_error() : std::runtime_error("TypeError") {}
};
struct value_error : std::runtime_error {
  explicit value_error(double t = 0) : std::runtime_error("ValueError"), t(t) {}
  double t;
};
struct runtime_error_ : std::runtime_error {  // RuntimeError
  runtime_error_() : std::runtime_error("RuntimeError") {}
};
struct custom_exception : std::runtime_error {
  custom_exception() : std::runtime_error("CustomException") {}
};

std::string type_name(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const zero_division&) {
    return "ZeroDivisionError";
  } catch (const my_exc&) {
    return "MyExc";
  } catch (const my_base_exc&) {
    return "MyBaseExc";
  } catch (const type_error&) {
    return "TypeError";
  } catch (const value_error&) {
    return "ValueError";
  } catch (const runtime_error_&) {
    return "RuntimeError";
  } catch (const custom_exception&) {
    return "CustomException";
  } catch (const aio::exception_group&) {
    return "ExceptionGroup";
  } catch (const aio::cancelled_error&) {
    return "CancelledError";
  } catch (const std::exception& x) {
    return std::string("other: ") + x.what();
  } catch (...) {
    return "other";
  }
}

// get_error_types(eg)
std::set<std::string> error_types(const aio::exception_group& eg) {
  std::set<std::string> s;
  for (auto& e : eg.exceptions()) s.insert(type_name(e));
  return s;
}
using names = std::set<std::string>;
// of("A", "B") (a braced list of string literals trips GCC inside coroutines).
template <class... S>
names of(S... s) {
  return names{std::string(s)...};
}

// Runs `aw` and returns the exception_group it raises (fails the test if it raises none).
template <class Aw>
aio::task<std::vector<std::exception_ptr>> expect_group(Aw aw, names expected) {
  try {
    co_await std::move(aw);
    ADD_FAILURE() << "ExceptionGroup was not raised";
  } catch (const aio::exception_group& eg) {
    EXPECT_EQ(error_types(eg), expected);
    co_return eg.exceptions();
  } catch (...) {
    ADD_FAILURE() << "raised " << type_name(std::current_exception()) << " instead of ExceptionGroup";
  }
  co_return std::vector<std::exception_ptr>{};
}

aio::task<int> value_after(double t, int v) {
  co_await aio::sleep(t);
  co_return v;
}

aio::task<void> crash_after(double t) {
  co_await aio::sleep(t);
  throw value_error(t);
}

// try: await sleep(t) finally: 1 / 0
aio::task<void> sleep_then_zero_division(double t) {
  try {
    co_await aio::sleep(t);
  } catch (...) {
  }
  throw zero_division();
}

}  // namespace

// ============================================================================== CpyTaskGroup

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_01
TEST(CpyTaskGroup, TaskGroup01) {
  aio_test::run([]() -> aio::task<void> {
    aio::task_handle<int> t1, t2;
    co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
      t1 = g.create_task(value_after(0.1, 42));
      t2 = g.create_task(value_after(0.2, 11));
      co_return;
    });
    EXPECT_EQ(t1.result(), 42);
    EXPECT_EQ(t2.result(), 11);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_02
TEST(CpyTaskGroup, TaskGroup02) {
  aio_test::run([]() -> aio::task<void> {
    aio::task_handle<int> t1, t2;
    co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
      t1 = g.create_task(value_after(0.1, 42));
      co_await aio::sleep(0.15);
      t2 = g.create_task(value_after(0.2, 11));
    });
    EXPECT_EQ(t1.result(), 42);
    EXPECT_EQ(t2.result(), 11);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_03
TEST(CpyTaskGroup, TaskGroup03) {
  aio_test::run([]() -> aio::task<void> {
    aio::task_handle<int> t1, t2;
    co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
      t1 = g.create_task(value_after(1, 42));
      co_await aio::sleep(0.15);
      // Cancel t1 explicitly: everything should go on working as expected.
      t1.cancel();
      t2 = g.create_task(value_after(0.2, 11));
    });
    EXPECT_TRUE(t1.cancelled());
    EXPECT_EQ(t2.result(), 11);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_04
TEST(CpyTaskGroup, TaskGroup04) {
  aio_test::run([]() -> aio::task<void> {
    int NUM = 0;
    bool t2_cancel = false;
    aio::task_handle<void> t2;
    auto foo1 = []() -> aio::task<void> {
      co_await aio::sleep(0.1);
      throw zero_division();
    };
    auto foo2 = [](int& NUM, bool& t2_cancel) -> aio::task<void> {
      try {
        co_await aio::sleep(1);
      } catch (const aio::cancelled_error&) {
        t2_cancel = true;
        throw;
      }
      NUM += 1;
    };
    auto runner = [&]() -> aio::task<void> {
      co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
        g.create_task(foo1());
        t2 = g.create_task(foo2(NUM, t2_cancel));
        co_return;
      });
      NUM += 10;
    };
    co_await expect_group(aio::create_task(runner()), of("ZeroDivisionError"));
    EXPECT_EQ(NUM, 0);
    EXPECT_TRUE(t2_cancel);
    EXPECT_TRUE(t2.cancelled());
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_cancel_children_on_child_error
TEST(CpyTaskGroup, CancelChildrenOnChildError) {
  aio_test::run([]() -> aio::task<void> {
    int NUM = 0;
    bool t2_cancel = false;
    bool runner_cancel = false;
    auto foo1 = []() -> aio::task<void> {
      co_await aio::sleep(0.1);
      throw zero_division();
    };
    auto foo2 = [](int& NUM, bool& t2_cancel) -> aio::task<void> {
      try {
        co_await aio::sleep(5);
      } catch (const aio::cancelled_error&) {
        t2_cancel = true;
        throw;
      }
      NUM += 1;
    };
    auto runner = [&]() -> aio::task<void> {
      co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
        g.create_task(foo1());
        g.create_task(foo1());
        g.create_task(foo1());
        g.create_task(foo2(NUM, t2_cancel));
        try {
          co_await aio::sleep(10);
        } catch (const aio::cancelled_error&) {
          runner_cancel = true;
          throw;
        }
      });
      NUM += 10;
    };
    co_await expect_group(aio::create_task(runner()), of("ZeroDivisionError"));
    EXPECT_EQ(NUM, 0);
    EXPECT_TRUE(t2_cancel);
    EXPECT_TRUE(runner_cancel);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_cancellation
TEST(CpyTaskGroup, Cancellation) {
  aio_test::run([]() -> aio::task<void> {
    int NUM = 0;
    auto foo = [](int& NUM) -> aio::task<void> {
      try {
        co_await aio::sleep(5);
      } catch (const aio::cancelled_error&) {
        NUM += 1;
        throw;
      }
    };
    // What the task uses goes in as parameters: a capturing closure would die with this
    // statement, long before the task runs.
    auto r = aio::create_task([](int& NUM, decltype(foo) foo) -> aio::task<void> {
      co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
        for (int i = 0; i < 5; ++i) g.create_task(foo(NUM));
        co_return;
      });
    }(NUM, foo));
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    EXPECT_THROW(co_await r, aio::cancelled_error);
    EXPECT_EQ(NUM, 5);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_07
TEST(CpyTaskGroup, TaskGroup07) {
  aio_test::run([]() -> aio::task<void> {
    int NUM = 0;
    auto foo = [](int& NUM) -> aio::task<void> {
      try {
        co_await aio::sleep(5);
      } catch (const aio::cancelled_error&) {
        NUM += 1;
        throw;
      }
    };
    auto r = aio::create_task([](int& NUM, decltype(foo) foo) -> aio::task<void> {
      co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
        for (int i = 0; i < 5; ++i) g.create_task(foo(NUM));
        try {
          co_await aio::sleep(10);
        } catch (const aio::cancelled_error&) {
          NUM += 10;
          throw;
        }
      });
    }(NUM, foo));
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    EXPECT_THROW(co_await r, aio::cancelled_error);
    EXPECT_EQ(NUM, 15);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_08
TEST(CpyTaskGroup, TaskGroup08) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      co_await aio::with_task_group([](aio::task_group& g) -> aio::task<void> {
        for (int i = 0; i < 5; ++i) g.create_task(sleep_then_zero_division(10));
        co_await aio::sleep(10);
      });
    }());
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    co_await expect_group(r, of("ZeroDivisionError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_09
TEST(CpyTaskGroup, TaskGroup09) {
  aio_test::run([]() -> aio::task<void> {
    aio::task_handle<int> t1, t2;
    auto runner = [&]() -> aio::task<void> {
      co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
        t1 = g.create_task(value_after(1, 42));
        t2 = g.create_task(value_after(2, 11));
        co_await aio::sleep(0.1);
        throw zero_division();
      });
    };
    co_await expect_group(runner(), of("ZeroDivisionError"));
    EXPECT_TRUE(t1.cancelled());
    EXPECT_TRUE(t2.cancelled());
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_10
TEST(CpyTaskGroup, TaskGroup10) {
  aio_test::run([]() -> aio::task<void> {
    aio::task_handle<int> t1, t2;
    auto runner = [&]() -> aio::task<void> {
      co_await aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
        t1 = g.create_task(value_after(1, 42));
        t2 = g.create_task(value_after(2, 11));
        throw zero_division();
        co_return;
      });
    };
    co_await expect_group(runner(), of("ZeroDivisionError"));
    EXPECT_TRUE(t1.cancelled());
    EXPECT_TRUE(t2.cancelled());
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_11
TEST(CpyTaskGroup, TaskGroup11) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      co_await aio::with_task_group([](aio::task_group&) -> aio::task<void> {
        co_await aio::with_task_group([](aio::task_group& g2) -> aio::task<void> {
          for (int i = 0; i < 5; ++i) g2.create_task(sleep_then_zero_division(10));
          co_await aio::sleep(10);
        });
      });
    }());
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    auto excs = co_await expect_group(r, of("ExceptionGroup"));
    if (excs.size() == 1) {
      try {
        std::rethrow_exception(excs[0]);
      } catch (const aio::exception_group& inner) {
        EXPECT_EQ(error_types(inner), of("ZeroDivisionError"));
      } catch (...) {
      }
    }
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_12
TEST(CpyTaskGroup, TaskGroup12) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      co_await aio::with_task_group([](aio::task_group& g1) -> aio::task<void> {
        g1.create_task(aio_test::sleep_task(10));
        co_await aio::with_task_group([](aio::task_group& g2) -> aio::task<void> {
          for (int i = 0; i < 5; ++i) g2.create_task(sleep_then_zero_division(10));
          co_await aio::sleep(10);
        });
      });
    }());
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    auto excs = co_await expect_group(r, of("ExceptionGroup"));
    if (excs.size() == 1) {
      try {
        std::rethrow_exception(excs[0]);
      } catch (const aio::exception_group& inner) {
        EXPECT_EQ(error_types(inner), of("ZeroDivisionError"));
      } catch (...) {
      }
    }
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_13
TEST(CpyTaskGroup, TaskGroup13) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      co_await aio::with_task_group([](aio::task_group& g1) -> aio::task<void> {
        g1.create_task(crash_after(0.1));
        co_await aio::with_task_group([](aio::task_group& g2) -> aio::task<void> {
          g2.create_task(crash_after(10));
          co_return;
        });
      });
    }());
    co_await expect_group(r, of("ValueError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_14
TEST(CpyTaskGroup, TaskGroup14) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      co_await aio::with_task_group([](aio::task_group& g1) -> aio::task<void> {
        g1.create_task(crash_after(10));
        co_await aio::with_task_group([](aio::task_group& g2) -> aio::task<void> {
          g2.create_task(crash_after(0.1));
          co_return;
        });
      });
    }());
    auto excs = co_await expect_group(r, of("ExceptionGroup"));
    if (excs.size() == 1) {
      try {
        std::rethrow_exception(excs[0]);
      } catch (const aio::exception_group& inner) {
        EXPECT_EQ(error_types(inner), of("ValueError"));
      } catch (...) {
      }
    }
  }());
}

namespace {
aio::task<void> crash_soon(double t) {
  co_await aio::sleep(t);
  throw zero_division();
}
// async with TaskGroup() as g1: g1.create_task(crash_soon()); try: await sleep(10)
// except CancelledError: await sleep(0.5); raise
aio::task<void> group_with_slow_cancel() {
  co_await aio::with_task_group([](aio::task_group& g1) -> aio::task<void> {
    g1.create_task(crash_soon(0.3));
    bool cancelled = false;
    try {
      co_await aio::sleep(10);
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    if (cancelled) {
      co_await aio::sleep(0.5);
      throw aio::cancelled_error();
    }
  });
}
}  // namespace

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_15
TEST(CpyTaskGroup, TaskGroup15) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task(group_with_slow_cancel());
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    co_await expect_group(r, of("ZeroDivisionError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_16
TEST(CpyTaskGroup, TaskGroup16) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      auto t = aio::create_task(group_with_slow_cancel());
      co_await t;
    }());
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    co_await expect_group(r, of("ZeroDivisionError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_17
TEST(CpyTaskGroup, TaskGroup17) {
  aio_test::run([]() -> aio::task<void> {
    int NUM = 0;
    auto r = aio::create_task([](int& NUM) -> aio::task<void> {
      co_await aio::with_task_group([&NUM](aio::task_group&) -> aio::task<void> {
        try {
          co_await aio::sleep(10);
        } catch (const aio::cancelled_error&) {
          NUM += 10;
          throw;
        }
      });
    }(NUM));
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    EXPECT_THROW(co_await r, aio::cancelled_error);
    EXPECT_EQ(NUM, 10);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_18
TEST(CpyTaskGroup, TaskGroup18) {
  aio_test::run([]() -> aio::task<void> {
    int NUM = 0;
    auto r = aio::create_task([](int& NUM) -> aio::task<void> {
      co_await aio::with_task_group([&NUM](aio::task_group&) -> aio::task<void> {
        try {
          co_await aio::sleep(10);
        } catch (const aio::cancelled_error&) {
          NUM += 10;
          // Not a good idea, but this weird case has to be supported.
          throw my_exc();
        }
      });
    }(NUM));
    co_await aio::sleep(0.1);
    EXPECT_FALSE(r.done());
    r.cancel();
    co_await expect_group(r, of("MyExc"));
    EXPECT_EQ(NUM, 10);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_19
TEST(CpyTaskGroup, TaskGroup19) {
  aio_test::run([]() -> aio::task<void> {
    auto nested = []() -> aio::task<void> {
      try {
        co_await aio::sleep(10);
      } catch (...) {
      }
      throw my_exc();  // finally: raise MyExc
    };
    auto r = aio::create_task([](auto nested) -> aio::task<void> {
      co_await aio::with_task_group([&nested](aio::task_group& g) -> aio::task<void> {
        g.create_task(crash_soon(0.1));
        co_await nested();
      });
    }(nested));
    co_await expect_group(r, of("MyExc", "ZeroDivisionError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_20a
TEST(CpyTaskGroup, TaskGroup20a) {
  aio_test::run([]() -> aio::task<void> {
    auto nested = []() -> aio::task<void> {
      try {
        co_await aio::sleep(10);
      } catch (...) {
      }
      throw my_base_exc();  // finally: raise MyBaseExc
    };
    co_await expect_group(aio::with_task_group([&nested](aio::task_group& g) -> aio::task<void> {
                            g.create_task(crash_soon(0.1));
                            co_await nested();
                          }),
                          of("MyBaseExc", "ZeroDivisionError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_21a
TEST(CpyTaskGroup, TaskGroup21a) {
  aio_test::run([]() -> aio::task<void> {
    auto crash_soon_base = []() -> aio::task<void> {
      co_await aio::sleep(0.1);
      throw my_base_exc();
    };
    auto nested = []() -> aio::task<void> {
      try {
        co_await aio::sleep(10);
      } catch (...) {
      }
      throw type_error();  // finally: raise TypeError
    };
    co_await expect_group(aio::with_task_group([&](aio::task_group& g) -> aio::task<void> {
                            g.create_task(crash_soon_base());
                            co_await nested();
                          }),
                          of("MyBaseExc", "TypeError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_22
TEST(CpyTaskGroup, TaskGroup22) {
  aio_test::run([]() -> aio::task<void> {
    auto r = aio::create_task([]() -> aio::task<void> {
      co_await aio::with_task_group([](aio::task_group& g) -> aio::task<void> {
        g.create_task(value_after(1, 42));
        g.create_task(value_after(2, 11));
        co_return;
      });
    }());
    co_await aio::sleep(0.05);
    r.cancel();
    EXPECT_THROW(co_await r, aio::cancelled_error);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_23
TEST(CpyTaskGroup, TaskGroup23) {
  aio_test::run([]() -> aio::task<void> {
    co_await aio::with_task_group([](aio::task_group& g) -> aio::task<void> {
      for (int count = 0; count < 10; ++count) {
        co_await aio::sleep(0.1);
        g.create_task(aio_test::sleep_task(0.3));
        if (count == 5) {
          EXPECT_LT(g.pending(), 5u);
        }
      }
      co_await aio::sleep(1.35);
      EXPECT_EQ(g.pending(), 0u);
    });
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_24
TEST(CpyTaskGroup, TaskGroup24) {
  aio_test::run([]() -> aio::task<void> {
    co_await aio::with_task_group([](aio::task_group& g) -> aio::task<void> {
      g.create_task([](aio::task_group& g) -> aio::task<void> {
        co_await aio::sleep(0.1);
        g.create_task(aio_test::sleep_task(0.1));
        g.create_task(aio_test::sleep_task(0.2));
      }(g));
      co_return;
    });
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_25
TEST(CpyTaskGroup, TaskGroup25) {
  struct coros {
    static aio::task<void> hydra(aio::task_group& g, int& nhydras) {
      nhydras += 1;
      co_await aio::sleep(0.01);
      spawn(g, nhydras);
      spawn(g, nhydras);
    }
    // (A separate step: clang 14 takes a coroutine creating itself for endless recursion.)
    static void spawn(aio::task_group& g, int& nhydras) { g.create_task(hydra(g, nhydras)); }
    static aio::task<void> hercules(int& nhydras) {
      for (int i = 0; i < 1000 && nhydras < 10; ++i) co_await aio::sleep(0.015);
      throw zero_division();
    }
  };
  aio_test::run([]() -> aio::task<void> {
    int nhydras = 0;
    co_await expect_group(aio::with_task_group([&nhydras](aio::task_group& g) -> aio::task<void> {
                            g.create_task(coros::hydra(g, nhydras));
                            g.create_task(coros::hercules(nhydras));
                            co_return;
                          }),
                          of("ZeroDivisionError"));
    EXPECT_GE(nhydras, 10);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_task_name
TEST(CpyTaskGroup, TaskGroupTaskName) {
  aio_test::run([]() -> aio::task<void> {
    co_await aio::with_task_group([](aio::task_group& g) -> aio::task<void> {
      auto t = g.create_task(aio_test::sleep_task(0), "yolo");
      EXPECT_EQ(t.get_name(), "yolo");
      co_return;
    });
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_no_create_task_after_failure
TEST(CpyTaskGroup, NoCreateTaskAfterFailure) {
  struct coros {
    static aio::task<void> coro1() {
      co_await aio::sleep(0.001);
      throw zero_division();
    }
    static aio::task<void> coro2(aio::task_group& g) {
      try {
        co_await aio::sleep(1);
      } catch (const aio::cancelled_error&) {
        EXPECT_THROW(g.create_task(coro1()), aio::invalid_state_error);
      }
    }
  };
  aio_test::run([]() -> aio::task<void> {
    co_await expect_group(aio::with_task_group([](aio::task_group& g) -> aio::task<void> {
                            g.create_task(coros::coro1());
                            g.create_task(coros::coro2(g));
                            co_return;
                          }),
                          of("ZeroDivisionError"));
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_context_manager_exit_raises
TEST(CpyTaskGroup, ContextManagerExitRaises) {
  aio_test::run([]() -> aio::task<void> {
    co_await aio::create_task([]() -> aio::task<void> {
      auto raise_exc = []() -> aio::task<void> {
        throw custom_exception();
        co_return;
      };
      try {
        co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<void> {
          // async with database(): ... whose exit raises CustomException
          tg.create_task(raise_exc());
          try {
            co_await aio::sleep(1);
          } catch (...) {
          }
          throw custom_exception();
        });
        ADD_FAILURE() << "CustomException not raised";
      } catch (const aio::exception_group& err) {
        EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
        EXPECT_EQ(err.exceptions().size(), 2u);
        EXPECT_EQ(error_types(err), of("CustomException"));
      }
    }());
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_taskgroup_finished
TEST(CpyTaskGroup, TaskGroupFinished) {
  aio_test::run([]() -> aio::task<void> {
    aio::task_group tg;
    co_await tg.wait();
    EXPECT_THROW(tg.create_task(aio_test::sleep_task(0)), aio::invalid_state_error);
  }());
}

namespace {
aio::task<void> raise_after_runtime(double t) {
  co_await aio::sleep(t);
  throw runtime_error_();
}
aio::task<void> raise_after_value(double t) {
  co_await aio::sleep(t);
  throw value_error();
}
}  // namespace

// test_taskgroups.BaseTestTaskGroup.test_cancelling_level_preserved
TEST(CpyTaskGroup, CancellingLevelPreserved) {
  aio_test::run([]() -> aio::task<void> {
    try {
      co_await aio::with_task_group([](aio::task_group& tg) -> aio::task<void> {
        tg.create_task(raise_after_runtime(0.0));
        co_return;
      });
    } catch (const aio::exception_group& eg) {
      EXPECT_EQ(error_types(eg), of("RuntimeError"));
    }
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_nested_groups_both_cancelled
TEST(CpyTaskGroup, NestedGroupsBothCancelled) {
  aio_test::run([]() -> aio::task<void> {
    try {
      co_await aio::with_task_group([](aio::task_group& outer_tg) -> aio::task<void> {
        try {
          co_await aio::with_task_group([&outer_tg](aio::task_group& inner_tg) -> aio::task<void> {
            inner_tg.create_task(raise_after_runtime(0));
            outer_tg.create_task(raise_after_value(0));
            co_return;
          });
          ADD_FAILURE() << "RuntimeError not raised";
        } catch (const aio::exception_group& eg) {
          EXPECT_EQ(error_types(eg), of("RuntimeError"));
        }
        EXPECT_EQ(aio_test::current_task()->cancelling(), 1);
      });
      ADD_FAILURE() << "ValueError not raised";
    } catch (const aio::exception_group& eg) {
      EXPECT_EQ(error_types(eg), of("ValueError"));
    }
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_error_and_cancel
TEST(CpyTaskGroup, ErrorAndCancel) {
  aio_test::run([]() -> aio::task<void> {
    aio::event event;
    auto inner = [](aio::event& event) -> aio::task<void> {
      try {
        co_await aio::with_task_group([&event](aio::task_group& tg) -> aio::task<void> {
          tg.create_task([](aio::event& event) -> aio::task<void> {
            event.set();
            co_await aio::sleep(0);
            throw runtime_error_();
          }(event));
          co_await aio::sleep(1);
          ADD_FAILURE() << "Sleep in group should have been cancelled";
        });
      } catch (const aio::exception_group& eg) {
        EXPECT_EQ(error_types(eg), of("RuntimeError"));
        EXPECT_EQ(aio_test::current_task()->cancelling(), 1);
      }
      EXPECT_EQ(aio_test::current_task()->cancelling(), 1);
      co_await aio::sleep(1);
      ADD_FAILURE() << "Sleep after group should have been cancelled";
    };
    auto t = aio::create_task(inner(event));
    co_await event.wait();
    EXPECT_EQ(t.cancelling(), 0);
    t.cancel();
    EXPECT_EQ(t.cancelling(), 1);
    EXPECT_THROW(co_await t, aio::cancelled_error);
    EXPECT_TRUE(t.cancelled());
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_name
TEST(CpyTaskGroup, Name) {
  aio_test::run([]() -> aio::task<void> {
    std::string name;
    co_await aio::with_task_group([&name](aio::task_group& tg) -> aio::task<void> {
      tg.create_task(
          [](std::string& name) -> aio::task<void> {
            name = aio_test::current_task()->name();
            co_return;
          }(name),
          "example name");
      co_return;
    });
    EXPECT_EQ(name, "example name");
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_cancels_task_if_created_during_creation
TEST(CpyTaskGroup, CancelsTaskIfCreatedDuringCreation) {
  aio_test::run([]() -> aio::task<void> {
    bool ran = false;
    auto excs = co_await expect_group(
        aio::with_task_group([&ran](aio::task_group& tg) -> aio::task<void> {
          tg.create_task([](aio::task_group& tg, bool& ran) -> aio::task<void> {
            tg.create_task([]() -> aio::task<void> {
              throw my_exc();  // third task failed
              co_return;
            }());
            EXPECT_THROW(
                {
                  co_await aio::sleep(0);  // eager tasks cancel here
                  co_await aio::sleep(0);  // lazy tasks cancel here
                },
                aio::cancelled_error);
            ran = true;
          }(tg, ran));
          co_return;
        }),
        of("MyExc"));
    EXPECT_TRUE(ran);
  }());
}

// test_taskgroups.BaseTestTaskGroup.test_cancellation_does_not_leak_out_of_tg
TEST(CpyTaskGroup, CancellationDoesNotLeakOutOfTg) {
  aio_test::run([]() -> aio::task<void> {
    co_await expect_group(aio::with_task_group([](aio::task_group& tg) -> aio::task<void> {
                            tg.create_task([]() -> aio::task<void> {
                              throw my_exc();
                              co_return;
                            }());
                            co_return;
                          }),
                          of("MyExc"));
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
    // If the cancellation leaked, it would hit this task here.
    EXPECT_NO_THROW(co_await aio::sleep(0));
  }());
}

// ============================================================================== CpyRun

// test_runners.RunTests.test_asyncio_run_return
TEST(CpyRun, AsyncioRunReturn) {
  EXPECT_EQ(aio_test::run([]() -> aio::task<int> {
              co_await aio::sleep(0);
              co_return 42;
            }()),
            42);
}

// test_runners.RunTests.test_asyncio_run_raises
TEST(CpyRun, AsyncioRunRaises) {
  try {
    aio_test::run([]() -> aio::task<void> {
      co_await aio::sleep(0);
      throw std::invalid_argument("spam");
    }());
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "spam");
  }
}

// test_runners.RunTests.test_asyncio_run_debug
TEST(CpyRun, AsyncioRunDebug) {
  auto main = [](bool expected) -> aio::task<void> {
    EXPECT_EQ(aio::get_running_loop().get_debug(), expected);
    co_return;
  };
  aio::run(main(false));
  aio::run(main(true), aio::run_options{.debug = true});
}

// test_runners.RunTests.test_asyncio_run_from_running_loop
TEST(CpyRun, AsyncioRunFromRunningLoop) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(aio::run([]() -> aio::task<void> { co_return; }()), aio::invalid_state_error);
    co_return;
  }());
}

// test_runners.RunTests.test_asyncio_run_cancels_hanging_tasks
TEST(CpyRun, AsyncioRunCancelsHangingTasks) {
  aio::task_handle<void> lo_task;
  EXPECT_EQ(aio_test::run([](aio::task_handle<void>& lo_task) -> aio::task<int> {
              lo_task = aio::create_task(aio_test::sleep_task(0.1));
              co_return 123;
            }(lo_task)),
            123);
  EXPECT_TRUE(lo_task.done());
}

// test_runners.RunTests.test_asyncio_run_cancels_hanging_tasks: the leftover task created just
// before main returns still gets its first step (main's completion stops the loop through a
// callback, one iteration later), and is then cancelled where it waits.
TEST(CpyRun, HangingTaskGetsItsFirstStep) {
  aio::task_handle<void> lo_task;
  bool started = false;
  bool cancelled_while_waiting = false;
  EXPECT_EQ(aio_test::run([](aio::task_handle<void>& lo_task, bool& started,
                             bool& cancelled) -> aio::task<int> {
              lo_task = aio::create_task([](bool& started, bool& cancelled) -> aio::task<void> {
                started = true;
                try {
                  co_await aio::sleep(0.1);
                } catch (const aio::cancelled_error&) {
                  cancelled = true;
                  throw;
                }
              }(started, cancelled));
              co_return 123;
            }(lo_task, started, cancelled_while_waiting)),
            123);
  EXPECT_TRUE(lo_task.done());
  EXPECT_TRUE(lo_task.cancelled());
  EXPECT_TRUE(started);
  EXPECT_TRUE(cancelled_while_waiting);
}

// test_runners.RunTests.test_asyncio_run_reports_hanging_tasks_errors
TEST(CpyRun, AsyncioRunReportsHangingTasksErrors) {
  aio::task_handle<void> lo_task;
  std::vector<aio::exception_context> calls;
  EXPECT_EQ(aio_test::run([](aio::task_handle<void>& lo_task,
                             std::vector<aio::exception_context>& calls) -> aio::task<int> {
              aio::get_running_loop().set_exception_handler(
                  [&calls](aio::event_loop&, const aio::exception_context& ctx) {
                    calls.push_back(ctx);
                  });
              lo_task = aio::create_task([]() -> aio::task<void> {
                bool cancelled = false;
                try {
                  co_await aio::sleep(0.1);
                } catch (const aio::cancelled_error&) {
                  cancelled = true;
                }
                if (cancelled) throw zero_division();
              }());
              co_return 123;
            }(lo_task, calls)),
            123);
  EXPECT_TRUE(lo_task.done());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(std::regex_search(calls[0].message, std::regex("run.*shutdown"))) << calls[0].message;
  EXPECT_EQ(calls[0].task_name, lo_task.get_name());
  EXPECT_THROW(std::rethrow_exception(calls[0].exception), zero_division);
}
