// mp::manager and its proxies, translated from CPython's Lib/test/_test_multiprocessing.py:
// _TestContainers (test_list, test_dict, test_namespace), _TestQueue with the manager's Queue
// (test_put, test_get, test_qsize, test_task_done) and TestSyncManagerTypes (each proxy used
// from a child process), plus what a process that dies while it waits must not take with it.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "concur/mp.hpp"
#include "mp/test_support.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

std::vector<int> range(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

void run(mp::process p) {
  p.start();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

// A child's check: a failed one ends the child with a status naming its line.
void check(bool ok, int line) {
  if (!ok) std::_Exit(line % 250 + 2);
}

// TestSyncManagerTypes._test_list
void child_list(mp::list_proxy<int> l) {
  check(l.at(0) == 5, __LINE__);
  check(l.count(5) == 1, __LINE__);
  check(l.index(5) == 0, __LINE__);
  l.reverse();
  check(l.size() == 1, __LINE__);
  check(l.pop(0) == 5, __LINE__);
}

// TestSyncManagerTypes._test_dict
void child_dict(mp::dict_proxy<std::string, int> d) {
  check(d.size() == 1, __LINE__);
  check(d.at("foo") == 5, __LINE__);
  check(d.get("foo") == 5, __LINE__);
  check((d.items() == std::vector<std::pair<std::string, int>>{{"foo", 5}}), __LINE__);
  check(d.keys() == std::vector<std::string>{"foo"}, __LINE__);
  check(d.values() == std::vector<int>{5}, __LINE__);
  check((d.popitem() == std::pair<std::string, int>{"foo", 5}), __LINE__);
}

// TestSyncManagerTypes._test_queue
void child_queue(mp::queue_proxy<int> q) {
  check(q.qsize() == 2, __LINE__);
  check(q.full(), __LINE__);
  check(!q.empty(), __LINE__);
  check(q.get() == 5, __LINE__);
  check(q.get_nowait() == 6, __LINE__);
  check(q.empty(), __LINE__);
}

// TestSyncManagerTypes._test_namespace
void child_namespace(mp::namespace_proxy ns) {
  check(ns.get<int>("x") == 0, __LINE__);
  check(ns.get<int>("y") == 1, __LINE__);
}

// _TestQueue._test_task_done: a worker takes items until a -1 and marks each done.
void task_done_worker(mp::queue_proxy<int> q, mp::list_proxy<int> seen) {
  for (;;) {
    const int item = q.get();
    if (item < 0) {
      q.task_done();
      return;
    }
    seen.append(item);
    q.task_done();
  }
}

int square_into(mp::dict_proxy<int, int> d, int i) {
  d.set(i, i * i);
  return i;
}

void get_into(mp::queue_proxy<int> in, mp::queue_proxy<int> out) { out.put(in.get() + 1); }

void block_on_get(mp::queue_proxy<int> q, mp::queue_proxy<int> ready) {
  ready.put(1);
  (void)q.get();
  std::_Exit(3);  // reached only if the get returned: the test kills this process first
}

}  // namespace

TEST(MpManager, ListBasics) {  // _TestContainers.test_list
  mp::manager m;
  auto a = m.list<int>(range(10));
  EXPECT_EQ(a.copy(), range(10));
  auto b = m.list<int>();
  EXPECT_EQ(b.copy(), std::vector<int>{});
  b.extend(range(5));
  EXPECT_EQ(b.copy(), range(5));
  EXPECT_EQ(b.at(2), 2);
  b.extend(b.copy());  // b *= 2
  EXPECT_EQ(b.copy(), (std::vector<int>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}));
  EXPECT_EQ(a.copy(), range(10));

  // A list of proxies refers to the same objects: appending to a shows through f[0].
  auto f = m.list<mp::list_proxy<int>>({a});
  a.append(10);
  EXPECT_EQ(f.at(0).copy(), range(11));
  auto e = m.list<mp::list_proxy<int>>({a, b});
  EXPECT_EQ(e.size(), 2u);
  EXPECT_EQ(e.at(1).copy(), b.copy());
}

TEST(MpManager, ListIndexesFollowPython) {
  mp::manager m;
  auto l = m.list<std::string>({"a", "b", "c"});
  EXPECT_EQ(l.at(-1), "c");
  EXPECT_EQ(l.at(-3), "a");
  EXPECT_THROW(l.at(3), std::out_of_range);
  EXPECT_THROW(l.at(-4), std::out_of_range);
  l.set(-1, "C");
  EXPECT_THROW(l.set(5, "x"), std::out_of_range);
  l.insert(-100, "front");  // clamped, as list.insert does
  l.insert(100, "back");
  l.insert(-1, "before-back");
  EXPECT_EQ(l.copy(), (std::vector<std::string>{"front", "a", "b", "C", "before-back", "back"}));
  l.erase(0);
  EXPECT_THROW(l.erase(10), std::out_of_range);
  EXPECT_EQ(l.pop(), "back");
  EXPECT_EQ(l.pop(0), "a");
  EXPECT_THROW(l.pop(10), std::out_of_range);
  EXPECT_TRUE(l.contains("b"));
  EXPECT_FALSE(l.contains("zz"));
  EXPECT_EQ(l.index("C"), 1u);
  EXPECT_THROW(l.index("zz"), concur::value_error);
  l.append("b");
  EXPECT_EQ(l.count("b"), 2u);
  l.remove("b");  // the first one
  EXPECT_EQ(l.copy(), (std::vector<std::string>{"C", "before-back", "b"}));
  EXPECT_THROW(l.remove("zz"), concur::value_error);
  l.reverse();
  EXPECT_EQ(l.copy(), (std::vector<std::string>{"b", "before-back", "C"}));
  l.assign({"x"});
  EXPECT_EQ(l.size(), 1u);
  l.clear();
  EXPECT_TRUE(l.empty());
  EXPECT_THROW(l.pop(), std::out_of_range);  // pop from empty list
}

TEST(MpManager, DictBasics) {  // _TestContainers.test_dict
  mp::manager m;
  auto d = m.dict<int, std::string>();
  std::vector<int> indices;
  std::vector<std::string> chars;
  std::vector<std::pair<int, std::string>> items;
  for (int i = 65; i < 70; ++i) {
    d.set(i, std::string(1, static_cast<char>(i)));
    indices.push_back(i);
    chars.emplace_back(1, static_cast<char>(i));
    items.emplace_back(i, chars.back());
  }
  EXPECT_EQ(d.items(), items);  // d.copy()
  EXPECT_EQ(d.keys(), indices);
  EXPECT_EQ(d.values(), chars);
  EXPECT_EQ(d.size(), 5u);
}

TEST(MpManager, DictFollowsPython) {
  mp::manager m;
  auto d = m.dict<std::string, int>({{"a", 1}, {"b", 2}});
  d.set("a", 10);  // keeps its place
  d.set("c", 3);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.at("a"), 10);
  EXPECT_THROW(d.at("zz"), std::out_of_range);  // KeyError
  EXPECT_EQ(d.get("zz"), std::nullopt);
  EXPECT_EQ(d.get("zz", -1), -1);
  EXPECT_TRUE(d.contains("b"));
  EXPECT_EQ(d.setdefault("b", 99), 2);
  EXPECT_EQ(d.setdefault("d", 4), 4);
  EXPECT_EQ(d.pop("d"), 4);
  EXPECT_THROW(d.pop("d"), std::out_of_range);
  EXPECT_EQ(d.pop("d", 7), 7);
  EXPECT_TRUE(d.erase("b"));
  EXPECT_FALSE(d.erase("b"));
  d.update({{"e", 5}, {"a", 11}});
  EXPECT_EQ(d.items(), (std::vector<std::pair<std::string, int>>{{"a", 11}, {"c", 3}, {"e", 5}}));
  EXPECT_EQ(d.popitem(), (std::pair<std::string, int>{"e", 5}));  // LIFO
  d.clear();
  EXPECT_TRUE(d.empty());
  EXPECT_THROW(d.popitem(), std::out_of_range);  // popitem(): dictionary is empty
}

TEST(MpManager, Namespace) {  // _TestContainers.test_namespace
  mp::manager m;
  auto n = m.namespace_();
  n.set("name", std::string("Bob"));
  n.set("job", std::string("Builder"));
  EXPECT_EQ(n.get<std::string>("name"), "Bob");
  EXPECT_EQ(n.get<std::string>("job"), "Builder");
  n.erase("job");
  EXPECT_EQ(n.names(), std::vector<std::string>{"name"});
  EXPECT_TRUE(n.contains("name"));
  EXPECT_FALSE(n.contains("job"));
  EXPECT_THROW(n.get<std::string>("job"), std::out_of_range);  // AttributeError
  EXPECT_THROW(n.erase("job"), std::out_of_range);
  EXPECT_THROW(n.get<int>("name"), concur::value_error);  // stored as a std::string
}

TEST(MpManager, QueuePutGetAndTimeouts) {  // _TestQueue.test_put / test_get with Manager().Queue
  mp::manager m;
  auto q = m.queue<int>(2);
  EXPECT_TRUE(q.empty());
  q.put(1);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_THROW(q.put_nowait(3), mp::queue_full);
  EXPECT_THROW(q.put(3, 10ms), mp::queue_full);
  EXPECT_THROW(q.put(3, 0s), mp::queue_full);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(1s), 2);
  EXPECT_THROW(q.get_nowait(), mp::queue_empty);
  EXPECT_THROW(q.get(10ms), mp::queue_empty);
  EXPECT_THROW(q.get(-1s), concur::value_error);  // 'timeout' must be a non-negative number
  q.task_done();  // two items were put: two task_done() calls are fine, a third is not
  q.task_done();
  EXPECT_THROW(q.task_done(), concur::value_error);
}

TEST(MpManager, QueueTaskDoneAndJoin) {  // _TestQueue.test_task_done
  mp::manager m;
  auto q = m.queue<int>();
  auto seen = m.list<int>();
  std::vector<mp::process> workers;
  for (int i = 0; i < 4; ++i) workers.emplace_back(task_done_worker, q, seen);
  for (auto& w : workers) w.start();
  for (int i = 0; i < 10; ++i) q.put(i);
  q.join();
  EXPECT_EQ(seen.size(), 10u);
  for (int i = 0; i < 4; ++i) q.put(-1);
  q.join();
  for (auto& w : workers) {
    ASSERT_TRUE(w.join(30s));
    EXPECT_EQ(w.exitcode(), 0);
  }
  auto got = seen.copy();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, range(10));
  EXPECT_THROW(q.task_done(), concur::value_error);  // task_done() called too many times
}

TEST(MpManager, ProxiesInChildProcesses) {  // TestSyncManagerTypes
  mp::manager m;
  auto l = m.list<int>();
  l.append(5);
  run(mp::process(child_list, l));
  EXPECT_EQ(l.size(), 0u);

  auto d = m.dict<std::string, int>();
  d.set("foo", 5);
  run(mp::process(child_dict, d));
  EXPECT_TRUE(d.empty());

  auto q = m.queue<int>(2);
  q.put(5);
  q.put(6);
  run(mp::process(child_queue, q));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());

  auto ns = m.namespace_();
  ns.set("x", 0);
  ns.set("y", 1);
  run(mp::process(child_namespace, ns));
}

TEST(MpManager, ProxiesAsPoolTaskArguments) {
  mp::manager m;
  auto d = m.dict<int, int>();
  mp::pool p(2);
  std::vector<std::tuple<mp::dict_proxy<int, int>, int>> work;
  for (int i = 0; i < 50; ++i) work.emplace_back(d, i);
  EXPECT_EQ(p.starmap(square_into, work).size(), 50u);
  EXPECT_EQ(d.size(), 50u);
  EXPECT_EQ(d.at(7), 49);
}

TEST(MpManager, BlockedGetWakesOnAnotherProcessesPut) {
  mp::manager m;
  auto in = m.queue<int>();
  auto out = m.queue<int>();
  mp::process child(get_into, in, out);
  child.start();
  std::this_thread::sleep_for(20ms);  // usually parked in get() by now; correct either way
  in.put(41);
  EXPECT_EQ(out.get(30s), 42);
  ASSERT_TRUE(child.join(30s));
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(MpManager, AThreadBlockedInGetDoesNotHoldUpAPutOnTheSameProxy) {
  mp::manager m;
  auto q = m.queue<int>();
  int got = 0;
  std::thread consumer([&] { got = q.get(); });
  std::this_thread::sleep_for(20ms);
  q.put(7);  // through a copy-shared connection pool: a second connection
  consumer.join();
  EXPECT_EQ(got, 7);
}

TEST(MpManager, AKilledConsumerTakesNoItemWithIt) {
  mp::manager m;
  auto q = m.queue<int>();
  auto ready = m.queue<int>();
  mp::process child(block_on_get, q, ready);
  child.start();
  EXPECT_EQ(ready.get(30s), 1);
  std::this_thread::sleep_for(20ms);  // into get(): if not yet, the item is never taken anyway
  child.kill();
  ASSERT_TRUE(child.join(30s));
  EXPECT_EQ(child.exitcode(), -SIGKILL);
  q.put(9);
  EXPECT_EQ(q.get(30s), 9);
}

TEST(MpManager, ShutdownEndsProxiesAndWaiters) {
  mp::manager m;
  const int pid = m.pid();
  auto q = m.queue<int>();
  EXPECT_EQ(m.address().rfind("@concur-manager-", 0), 0u);
  std::thread waiter([q]() mutable { EXPECT_THROW(q.get(), mp::error); });
  std::this_thread::sleep_for(20ms);
  m.shutdown();
  waiter.join();
  EXPECT_THROW(q.put(1), mp::error);  // not running any more
  EXPECT_THROW((m.dict<int, int>()), concur::invalid_state_error);
  m.shutdown();  // idempotent
  EXPECT_TRUE(mp::testing::process_gone(pid, 10s));
}

TEST(MpManager, EmptyProxyIsAnInvalidStateError) {
  mp::list_proxy<int> l;
  EXPECT_FALSE(static_cast<bool>(l));
  EXPECT_THROW(l.append(1), concur::invalid_state_error);
}

TEST(MpManager, AConnectionWithoutTheKeyIsRefused) {
  mp::manager m;
  auto d = m.dict<int, int>();
  d.set(1, 1);
  // A proxy made with the right address but a wrong key (another user on this machine).
  std::string bytes = mp::dumps(d);
  mp::dict_proxy<int, int> forged;
  {
    auto copy = mp::loads<mp::dict_proxy<int, int>>(bytes);
    std::string address;
    std::string key;
    std::uint64_t id = 0;
    std::tie(address, key, id) =
        mp::loads<std::tuple<std::string, std::string, std::uint64_t>>(bytes);
    key.assign(key.size(), '0');
    forged = mp::loads<mp::dict_proxy<int, int>>(mp::dumps(std::tuple{address, key, id}));
    EXPECT_EQ(copy.at(1), 1);  // the genuine copy works
  }
  EXPECT_THROW(forged.at(1), mp::error);
}

TEST(MpManager, CtrlCLeavesTheServerRunning) {  // bpo-36368
  mp::manager m;
  auto d = m.dict<int, int>();
  d.set(1, 1);
  ASSERT_EQ(::kill(m.pid(), SIGINT), 0);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(d.at(1), 1);
  m.shutdown();
}
