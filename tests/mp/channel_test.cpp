#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "concur/mp.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

void echo_doubled(mp::connection<int> c) {
  for (;;) {
    int v = 0;
    try {
      v = c.recv();
    } catch (const mp::eof_error&) {
      return;
    }
    c.send(v * 2);
  }
}

void produce(mp::queue<std::string> q, int id, int count) {
  for (int i = 0; i < count; ++i) q.put(std::to_string(id) + ":" + std::to_string(i));
}

void send_big(mp::queue<std::vector<int>> q, int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  q.put(v);
}

void write_pid(mp::connection<int> w) { w.send(::getpid()); }

}  // namespace

TEST(MpPipe, DuplexRoundTripWithChild) {
  auto [parent, child] = mp::pipe<int>();
  mp::process p(echo_doubled, std::move(child));
  p.start();
  child.close();  // moved-from, but make the intent explicit: the child owns its end now
  for (int i = 0; i < 100; ++i) {
    parent.send(i);
    ASSERT_TRUE(parent.poll(10s));
    EXPECT_EQ(parent.recv(), 2 * i);
  }
  parent.close();  // the child reads EOF and returns
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(MpPipe, EofAfterOtherEndCloses) {
  auto [a, b] = mp::pipe<std::string>();
  b.send("last");
  b.close();
  EXPECT_EQ(a.recv(), "last");
  EXPECT_THROW(a.recv(), mp::eof_error);
  EXPECT_THROW(b.send("x"), concur::invalid_state_error);
}

TEST(MpPipe, OneWayPipeEnforcesDirection) {
  auto [reader, writer] = mp::pipe<int>(false);
  EXPECT_FALSE(reader.poll());
  writer.send(5);
  EXPECT_EQ(reader.recv(), 5);
  EXPECT_THROW(reader.send(1), concur::invalid_state_error);
  EXPECT_THROW(writer.recv(), concur::invalid_state_error);
}

TEST(MpPipe, ChildWritesItsPid) {
  auto [r, w] = mp::pipe<int>(false);
  mp::process p(write_pid, std::move(w));
  p.start();
  ASSERT_TRUE(r.poll(10s));
  EXPECT_EQ(r.recv(), p.pid());
  p.join();
}

TEST(MpPipe, CannotPassPipeToPoolTask) {
  mp::pool pool(1);
  auto [a, b] = mp::pipe<int>();
  EXPECT_THROW(pool.apply(write_pid, std::move(b)), mp::error);
}

TEST(MpQueue, ManyProducersOneConsumer) {
  mp::queue<std::string> q;
  std::vector<mp::process> ps;
  for (int id = 0; id < 3; ++id) {
    ps.emplace_back(produce, q, id, 50);
    ps.back().start();
  }
  std::vector<std::string> got;
  for (int i = 0; i < 150; ++i) got.push_back(q.get(10s));
  for (auto& p : ps) p.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(std::unique(got.begin(), got.end()), got.end());  // nothing delivered twice
  EXPECT_EQ(got.size(), 150u);
  EXPECT_TRUE(q.empty());
}

TEST(MpQueue, LargeValueTravelsWhole) {
  mp::queue<std::vector<int>> q;
  mp::process p(send_big, q, 1 << 20);
  p.start();
  const auto v = q.get(20s);
  p.join();
  ASSERT_EQ(v.size(), 1u << 20);
  for (std::size_t i = 0; i < v.size(); i += 4099) EXPECT_EQ(v[i], static_cast<int>(i));
}

TEST(MpQueue, TimeoutsAndNowait) {
  mp::queue<int> q;
  EXPECT_THROW(q.get_nowait(), mp::queue_empty);
  EXPECT_THROW(q.get(20ms), mp::queue_empty);
  q.put(1);
  q.put_nowait(2);
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  // The socket buffer bounds the queue: put_nowait eventually reports it full.
  bool full = false;
  for (int i = 0; i < 1'000'000 && !full; ++i) {
    try {
      q.put_nowait(i);
    } catch (const mp::queue_full&) {
      full = true;
    }
  }
  EXPECT_TRUE(full);
}

namespace {
mp::queue<int>* init_queue_slot = nullptr;
void init_with_queue(mp::queue<int> q) {
  static mp::queue<int> kept;  // per worker process: lives as long as the worker
  kept = q;
  init_queue_slot = &kept;
}
int report_to_queue(int x) {
  init_queue_slot->put(x * 10);
  return x;
}
}  // namespace

TEST(MpQueue, PassedToPoolThroughInitializer) {
  mp::queue<int> q;
  mp::pool p(2, mp::initializer(init_with_queue, q));
  EXPECT_EQ(p.map(report_to_queue, std::vector<int>{1, 2, 3}, 1), (std::vector<int>{1, 2, 3}));
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) got.push_back(q.get(10s));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30}));
}
