// checked_mutex / checked_lock: a std::mutex the thread-safety analysis can follow. That the
// analysis rejects an unguarded access is checked by the compile test in tests/CMakeLists.txt
// (tests/core/negative/unguarded_access.cpp).
#include <gtest/gtest.h>

#include <concur/core/checked_mutex.hpp>
#include <condition_variable>
#include <thread>
#include <vector>

namespace {

class counter {
 public:
  void add() {
    const concur::checked_lock lock(m_);
    ++n_;
    cv_.notify_all();
  }
  // Waits until the count reaches `target`.
  void wait_for(int target) {
    concur::checked_lock lock(m_);
    while (n_ < target) cv_.wait(lock.native());
  }
  int value() {
    const concur::checked_lock lock(m_);
    return n_;
  }
  bool try_value(int& out) {
    if (!m_.try_lock()) return false;
    out = n_;
    m_.unlock();
    return true;
  }

 private:
  concur::checked_mutex m_;
  std::condition_variable cv_;
  int n_ CONCUR_GUARDED_BY(m_) = 0;
};

TEST(CheckedMutex, ExcludesAndWakesLikeStdMutex) {
  counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.add();
    });
  c.wait_for(40000);
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.value(), 40000);
  int v = -1;
  EXPECT_TRUE(c.try_value(v));
  EXPECT_EQ(v, 40000);
}

TEST(CheckedLock, UnlockAndRelockInOneScope) {
  concur::checked_mutex m;
  concur::checked_lock lock(m);
  EXPECT_TRUE(lock.native().owns_lock());
  lock.unlock();
  EXPECT_FALSE(lock.native().owns_lock());
  { const concur::checked_lock other(m); }  // free while unlocked
  lock.lock();
  EXPECT_TRUE(lock.native().owns_lock());
}

}  // namespace
