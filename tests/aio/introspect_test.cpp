// Task introspection: asyncio.current_task / all_tasks (test_tasks.py), the call graphs of
// Python 3.14 (test_graph.py, translated: C++ frames have no names, so where Python compares
// call stacks these tests compare what each task waits for) and loop.dump_tasks.
#include <gtest/gtest.h>

#include <algorithm>
#include <concur/aio.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "aio/aio_test_support.hpp"
#include "aio/co_assert.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

// test_graph.py's walk(): [name, awaited-by...], a default name shown as T<anon>, the
// awaited-by entries sorted.
std::string walk(const aio::call_graph& g) {
  const std::string name = g.task.get_name();
  std::string out = name.starts_with("Task-") ? "T<anon>" : "T<" + name + ">";
  if (g.cycle) return out + "(cycle)";
  std::vector<std::string> above;
  for (const auto& w : g.awaited_by) above.push_back(walk(w));
  std::sort(above.begin(), above.end());
  out += "[";
  for (std::size_t i = 0; i < above.size(); ++i) out += (i ? "," : "") + above[i];
  return out + "]";
}

aio::task<void> capture_into(std::string* out) {
  *out = walk(aio::capture_call_graph());
  co_return;
}

}  // namespace

// test_tasks.BaseTaskTests.test_current_task
TEST(AioIntrospect, CurrentTaskIsTheRunningTask) {
  EXPECT_FALSE(aio::current_task().valid());
  aio_test::test_loop loop;
  aio::any_task seen;
  auto h = loop.create_task([](aio::any_task* out) -> aio::task<void> {
    co_await aio::sleep(0);
    *out = aio::current_task();
  }(&seen));
  loop.run_until_complete(h);
  EXPECT_TRUE(seen == aio::any_task(h));
  EXPECT_EQ(std::hash<aio::any_task>()(seen), std::hash<aio::any_task>()(aio::any_task(h)));
  EXPECT_FALSE(aio::current_task().valid());
}

// test_tasks.BaseTaskTests.test_current_task_with_interleaving_tasks
TEST(AioIntrospect, CurrentTaskWithInterleavingTasks) {
  aio_test::test_loop loop;
  aio::future<void> fut1(loop);
  aio::future<void> fut2(loop);
  aio::task_handle<void> task1;
  aio::task_handle<void> task2;
  task1 = loop.create_task([](aio::task_handle<void>* self, aio::future<void>* f1,
                              aio::future<void>* f2) -> aio::task<void> {
    EXPECT_TRUE(aio::current_task() == aio::any_task(*self));
    co_await *f1;
    EXPECT_TRUE(aio::current_task() == aio::any_task(*self));
    f2->set_result();
  }(&task1, &fut1, &fut2));
  task2 = loop.create_task([](aio::task_handle<void>* self, aio::future<void>* f1,
                              aio::future<void>* f2) -> aio::task<void> {
    EXPECT_TRUE(aio::current_task() == aio::any_task(*self));
    f1->set_result();
    co_await *f2;
    EXPECT_TRUE(aio::current_task() == aio::any_task(*self));
  }(&task2, &fut1, &fut2));
  std::vector<aio::task_handle<void>> both{task1, task2};
  loop.run_until_complete(aio::wait(both));
  EXPECT_TRUE(task1.done() && task2.done());
}

// test_tasks.BaseTaskTests.test_all_tasks (asyncio.all_tasks): the tasks not done, the
// current one included; invalid_state_error without a running loop.
TEST(AioIntrospect, AllTasksListsThePendingTasksOldestFirst) {
  EXPECT_THROW(aio::all_tasks(), aio::invalid_state_error);
  aio_test::run([]() -> aio::task<void> {
    auto quick = aio::create_task([]() -> aio::task<void> { co_return; }(), "quick");
    auto slow = aio::create_task([]() -> aio::task<void> { co_await aio::sleep(10); }(), "slow");
    co_await quick;
    auto tasks = aio::all_tasks();
    CO_ASSERT_EQ(tasks.size(), 2u);
    EXPECT_TRUE(tasks[0] == aio::current_task());
    EXPECT_EQ(tasks[1].get_name(), "slow");
    EXPECT_EQ(tasks[0].state(), "running");
    EXPECT_EQ(tasks[1].state(), "waiting");
    EXPECT_EQ(tasks[1].awaiting(), "sleep, 10.00 s left");
    auto fresh = aio::any_task(aio::create_task([]() -> aio::task<void> { co_return; }()));
    EXPECT_EQ(fresh.state(), "ready");  // created, its first step not run yet
    EXPECT_EQ(aio::all_tasks().size(), 3u);
    slow.cancel();
    co_await aio::sleep(0);
    EXPECT_EQ(tasks[1].state(), "cancelled");
    EXPECT_EQ(fresh.state(), "done");
    EXPECT_THROW(tasks[1].exception(), aio::cancelled_error);
    EXPECT_EQ(aio::all_tasks().size(), 1u);
  }());
}

// test_graph.CallStackTestBase.test_stack_tgroup: the root task is awaited by the group's
// owner (waiting at the end of the group) and by two tasks that await it.
TEST(AioIntrospect, CallGraphThroughATaskGroup) {
  std::string graph;
  aio_test::run([](std::string* out) -> aio::task<void> {
    co_await aio::with_task_group([out](aio::task_group& tg) -> aio::task<void> {
      auto root = tg.create_task(
          [](std::string* o) -> aio::task<void> {
            co_await aio::sleep(0);
            co_await capture_into(o);
          }(out),
          "c2_root");
      auto c1 = [](aio::task_handle<void> t) -> aio::task<void> { co_await t; };
      tg.create_task(c1(root), "sub_main_1");
      tg.create_task(c1(root), "sub_main_2");
      co_return;
    });
  }(&graph));
  EXPECT_EQ(graph, "T<c2_root>[T<anon>[],T<sub_main_1>[T<anon>[]],T<sub_main_2>[T<anon>[]]]");
}

// test_graph.CallStackTestBase.test_stack_gather
TEST(AioIntrospect, CallGraphThroughGather) {
  std::string graph;
  aio_test::run([](std::string* out) -> aio::task<void> {
    auto c1 = [](std::string* o) -> aio::task<void> {
      co_await aio::sleep(0);
      co_await capture_into(o);
    };
    auto c2 = []() -> aio::task<void> { co_await aio::sleep(0); };
    co_await aio::gather(c1(out), c2());
  }(&graph));
  EXPECT_EQ(graph, "T<anon>[T<anon>[]]");
}

// test_graph.CallStackTestBase.test_stack_shield and test_stack_timeout (a timeout inside
// the shielded task)
TEST(AioIntrospect, CallGraphThroughShield) {
  std::string graph;
  aio_test::run([](std::string* out) -> aio::task<void> {
    auto c1 = [](std::string* o) -> aio::task<void> {
      co_await aio::timeout(1s, aio::sleep(0));
      co_await capture_into(o);
    };
    co_await aio::shield(aio::create_task(c1(out)));
  }(&graph));
  EXPECT_EQ(graph, "T<anon>[T<anon>[]]");
}

// test_graph.CallStackTestBase.test_stack_wait
TEST(AioIntrospect, CallGraphThroughWait) {
  std::string graph;
  aio_test::run([](std::string* out) -> aio::task<void> {
    auto t1 = aio::create_task([](std::string* o) -> aio::task<void> {
      co_await aio::sleep(0);
      co_await capture_into(o);
    }(out));
    auto t2 = aio::create_task([]() -> aio::task<void> {
      for (int i = 0; i < 3; ++i) co_await aio::sleep(0);
    }());
    std::vector<aio::task_handle<void>> both{t1, t2};
    for (int round = 0; round < 10; ++round) {
      auto r = co_await aio::wait(both);
      if (r.pending.empty()) break;
    }
  }(&graph));
  EXPECT_EQ(graph, "T<anon>[T<anon>[]]");
}

// test_graph.CallStackTestBase.test_stack_task
TEST(AioIntrospect, CallGraphThroughAwaitedTask) {
  std::string graph;
  aio_test::run([](std::string* out) -> aio::task<void> {
    auto c1 = [](std::string* o) -> aio::task<void> {
      co_await aio::sleep(0);
      co_await capture_into(o);
    };
    co_await aio::create_task(c1(out), "there there");
  }(&graph));
  EXPECT_EQ(graph, "T<there there>[T<anon>[]]");
}

// asyncio.format_call_graph's layout, with "+ Awaiting:" where Python prints the call stack.
TEST(AioIntrospect, FormatCallGraph) {
  std::string text;
  aio_test::run([](std::string* out) -> aio::task<void> {
    auto child = aio::create_task(
        [](std::string* o) -> aio::task<void> {
          co_await aio::sleep(0);
          *o = aio::format_call_graph();
          std::ostringstream printed;
          aio::print_call_graph(printed);
          EXPECT_EQ(printed.str(), *o);
        }(out),
        "child");
    co_await child;
  }(&text));
  EXPECT_EQ(text,
            "* Task(name='child', id=2)\n"
            "+ Awaited by:\n"
            "    * Task(name='Task-1', id=1)\n"
            "    + Awaiting: task 'child'\n");
  EXPECT_EQ(aio::format_call_graph(), "");  // no current task
}

// What a waiting task waits for, for each kind of wait.
TEST(AioIntrospect, AwaitingNamesEachKindOfWait) {
  aio_test::run([]() -> aio::task<void> {
    aio::lock lock;
    aio::event event;
    aio::semaphore sem(0);
    aio::queue<int> q;
    aio::queue<int> full(1);
    full.put_nowait(1);
    aio::future<int> fut;
    co_await lock.acquire();
    auto waits = std::vector<aio::task_handle<void>>{
        aio::create_task(aio_test::as_task(lock.acquire())),
        aio::create_task(aio_test::as_task(event.wait())),
        aio::create_task(aio_test::as_task(sem.acquire())),
        aio::create_task([](aio::queue<int>* qq) -> aio::task<void> { co_await qq->get(); }(&q)),
        aio::create_task([](aio::queue<int>* f) -> aio::task<void> { co_await f->put(2); }(&full)),
        aio::create_task([](aio::future<int>* f) -> aio::task<void> { co_await *f; }(&fut)),
        aio::create_task([]() -> aio::task<void> { co_await aio::sleep(1.5); }()),
        aio::create_task([]() -> aio::task<void> {
          co_await aio::to_thread([] { std::this_thread::sleep_for(20ms); });
        }()),
    };
    co_await aio::sleep(0);
    std::vector<std::string> seen;
    for (auto& w : waits) seen.push_back(aio::any_task(w).awaiting());
    EXPECT_EQ(seen,
              (std::vector<std::string>{"lock", "event", "semaphore", "queue get (empty)",
                                        "queue put (full)", "aio::future", "sleep, 1.50 s left",
                                        "concur::future (work in another thread)"}));
    EXPECT_EQ(aio::current_task().awaiting(), "");
    for (auto& w : waits) w.cancel();
    co_await aio::wait(waits);
    lock.release();
  }());
}

// loop.dump_tasks: the tree of Python 3.14's `python -m asyncio pstree`.
TEST(AioIntrospect, DumpTasksDrawsTheAwaitTree) {
  aio_test::run([]() -> aio::task<void> {
    aio::event never;
    auto leaf = [](aio::event* e) -> aio::task<void> { co_await e->wait(); };
    auto w1 = aio::create_task(leaf(&never), "worker-1");
    auto w2 = aio::create_task(leaf(&never), "worker-2");
    auto boss = aio::create_task(
        [](aio::task_handle<void> a, aio::task_handle<void> b) -> aio::task<void> {
          co_await aio::gather(a, b);
        }(w1, w2),
        "boss");
    auto idle = aio::create_task([]() -> aio::task<void> { co_await aio::sleep(30); }(), "idle");
    co_await aio::sleep(0);
    w2.cancel();  // requested; it ends on its next step
    std::ostringstream out;
    aio::get_running_loop().dump_tasks(out);
    std::string text = out.str();
    const auto first_line_end = text.find('\n');
    EXPECT_NE(text.substr(0, first_line_end).find("5 pending"), std::string::npos) << text;
    EXPECT_EQ(text.substr(first_line_end + 1),
              "├── (T) Task-1  id=1  running\n"
              "├── (T) boss  id=4  waiting: gather (2 of 2 tasks pending)\n"
              "│   ├── (T) worker-1  id=2  waiting: event\n"
              "│   └── (T) worker-2  id=3  ready (cancel requested)\n"
              "└── (T) idle  id=5  waiting: sleep, 30.00 s left\n");
    boss.cancel();
    idle.cancel();
    std::vector<aio::task_handle<void>> all{w1, w2, boss, idle};
    co_await aio::wait(all);
  }());
}

// Tasks that await each other: the dump marks the cycle, and cancelling one of them ends
// both (the cancellation does not go round the cycle forever).
TEST(AioIntrospect, TasksAwaitingEachOtherShowACycleAndCanBeCancelled) {
  aio_test::run_bounded([]() -> aio::task<void> {
    aio::task_handle<void> a;
    aio::task_handle<void> b;
    auto waiter = [](aio::task_handle<void>* other) -> aio::task<void> {
      co_await aio::sleep(0);
      co_await *other;
    };
    a = aio::create_task(waiter(&b), "a");
    b = aio::create_task(waiter(&a), "b");
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    std::ostringstream out;
    aio::get_running_loop().dump_tasks(out);
    EXPECT_NE(out.str().find("(T) a  id=2  waiting: task 'b'\n"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("(cycle: waits on a task above)"), std::string::npos) << out.str();
    auto graph = aio::capture_call_graph(a);
    EXPECT_EQ(walk(graph), "T<a>[T<b>[T<a>(cycle)]]");
    a.cancel();
    std::vector<aio::task_handle<void>> both{a, b};
    auto r = co_await aio::wait(both, aio::return_when::all_completed, 5s);
    EXPECT_TRUE(r.pending.empty());
    EXPECT_TRUE(a.cancelled());
    EXPECT_TRUE(b.cancelled());
  }());
}

// Python keeps tasks in sets (background_tasks.add(task)): handles hash and compare by task,
// typed or not.
TEST(AioIntrospect, TasksKeyASetTypedOrNot) {
  aio_test::run([]() -> aio::task<void> {
    auto a = aio::create_task([]() -> aio::task<int> { co_return 1; }());
    auto b = aio::create_task([]() -> aio::task<int> { co_return 2; }());
    std::unordered_set<aio::task_handle<int>> typed{a, b, a};
    EXPECT_EQ(typed.size(), 2u);
    std::unordered_set<aio::any_task> untyped{a, b, aio::current_task()};
    EXPECT_EQ(untyped.size(), 3u);
    EXPECT_TRUE(untyped.contains(aio::any_task(b)));
    EXPECT_EQ(co_await a + co_await b, 3);
  }());
}
