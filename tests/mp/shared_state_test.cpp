// Value / Array / RawValue / RawArray and shared_memory / ShareableList, translated from CPython's
// Lib/test/_test_multiprocessing.py (_TestValue, _TestArray, _TestSharedMemory).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "concur/mp.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

// _TestValue._test: the child writes the second value of each pair.
void write_values(mp::value<int> i, mp::value<double> d, mp::value<short> h, mp::value<long long> q,
                  mp::value<char> c) {
  i.value() = 24234;
  d.value() = -4.25;
  h.value() = 234;
  q.value() = 1LL << 34;
  c.value() = 'y';
}

void write_raw_values(mp::raw_value<int> i, mp::raw_value<double> d) {
  i.value() = 24234;
  d.value() = -4.25;
}

// _TestArray.f: running sums in place.
void running_sums(mp::array<int> seq) {
  for (std::size_t i = 1; i < seq.size(); ++i) seq[i] += seq[i - 1];
}
void running_sums_raw(mp::raw_array<int> seq) {
  for (std::size_t i = 1; i < seq.size(); ++i) seq[i] += seq[i - 1];
}
void running_sums_vector(std::vector<int>& seq) {
  for (std::size_t i = 1; i < seq.size(); ++i) seq[i] += seq[i - 1];
}

void run(mp::process p) {
  p.start();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

std::string unique_name(const char* what) {
  return std::string("concur_test_") + what + "_" + std::to_string(::getpid());
}

void bump_list(mp::shareable_list<double> l) {
  for (auto& x : l) x *= 2;
}
int first_byte(mp::shared_memory m) { return static_cast<int>(m.buf()[0]); }

template <class V>
concept has_get_lock = requires(V x) {
  x.get_lock();
};

struct point {
  int x;
  int y;
};

}  // namespace

TEST(MpValue, ReadAndWrittenByAChild) {
  mp::value<int> i(4343);
  mp::value<double> d(3.625);
  mp::value<short> h(-232);
  mp::value<long long> q(1LL << 33);
  mp::value<char> c('x');
  EXPECT_EQ(i.value(), 4343);
  EXPECT_EQ(d.value(), 3.625);
  EXPECT_EQ(c.value(), 'x');
  run(mp::process(write_values, i, d, h, q, c));
  EXPECT_EQ(i.value(), 24234);
  EXPECT_EQ(d.value(), -4.25);
  EXPECT_EQ(h.value(), 234);
  EXPECT_EQ(q.value(), 1LL << 34);
  EXPECT_EQ(c.value(), 'y');
}

TEST(MpValue, RawValue) {
  mp::raw_value<int> i(4343);
  mp::raw_value<double> d(3.625);
  run(mp::process(write_raw_values, i, d));
  EXPECT_EQ(i.value(), 24234);
  EXPECT_EQ(d.value(), -4.25);
}

// test_getobj_getlock: a Value has a lock, a RawValue has none.
TEST(MpValue, GetLock) {
  mp::value<int> v(5);
  auto lock = v.get_lock();
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(v.acquire());  // the same recursive lock
  v.release();
  lock.release();
  static_assert(has_get_lock<mp::value<int>>);
  static_assert(!has_get_lock<mp::raw_value<int>>);
  mp::value<point> p(point{1, 2});
  EXPECT_EQ(p.value().y, 2);
}

TEST(MpArray, RunningSumsInAChild) {
  std::vector<int> seq{680, 626, 934, 821, 150, 233, 548, 982, 714, 831};
  mp::array<int> arr(seq);
  EXPECT_EQ(arr.size(), seq.size());
  EXPECT_EQ(arr[3], seq[3]);
  EXPECT_EQ(std::vector<int>(arr.begin() + 2, arr.begin() + 7),
            std::vector<int>(seq.begin() + 2, seq.begin() + 7));
  for (std::size_t i = 4; i < 8; ++i) arr[i] = seq[i] = static_cast<int>(i - 3);
  EXPECT_EQ(arr.to_vector(), seq);
  running_sums_vector(seq);
  run(mp::process(running_sums, arr));
  EXPECT_EQ(arr.to_vector(), seq);
}

TEST(MpArray, RawArray) {
  mp::raw_array<int> arr{1, 2, 3, 4};
  run(mp::process(running_sums_raw, arr));
  EXPECT_EQ(arr.to_vector(), (std::vector<int>{1, 3, 6, 10}));
  static_assert(has_get_lock<mp::array<int>>);
  static_assert(!has_get_lock<mp::raw_array<int>>);
}

// test_array_from_size
TEST(MpArray, FromSizeIsZeroFilled) {
  for (int round = 0; round < 3; ++round) {
    mp::array<int> arr(10);
    EXPECT_EQ(arr.size(), 10u);
    EXPECT_EQ(arr.to_vector(), std::vector<int>(10, 0));
  }
  mp::array<double> empty(0);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.begin(), empty.end());
}

// _TestSharedMemory.test_shared_memory_basics
TEST(MpSharedMemory, Basics) {
  const std::string name = unique_name("tsmb");
  auto sms = mp::shared_memory::create(512, name);
  EXPECT_EQ(sms.name(), name);
  EXPECT_GE(sms.size(), 512u);
  EXPECT_GE(sms.buf().size(), sms.size());
  sms.buf()[0] = std::byte{42};
  EXPECT_EQ(sms.buf()[0], std::byte{42});
  {
    mp::shared_memory also(name);
    EXPECT_EQ(also.buf()[0], std::byte{42});
    also.close();
    EXPECT_TRUE(also.buf().empty());
  }
  mp::shared_memory same("/" + name);  // a leading slash is accepted, as Python
  EXPECT_EQ(same.buf()[0], std::byte{42});
  EXPECT_EQ(same.name(), name);
  // The same name twice (FileExistsError), a missing one (FileNotFoundError), size 0.
  try {
    (void)mp::shared_memory::create(512, name);
    ADD_FAILURE() << "expected EEXIST";
  } catch (const concur::os_error& e) {
    EXPECT_EQ(e.errno_value(), EEXIST);
  }
  try {
    mp::shared_memory missing(unique_name("missing"));
    ADD_FAILURE() << "expected ENOENT";
  } catch (const concur::os_error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
  }
  EXPECT_THROW((void)mp::shared_memory::create(0), concur::value_error);
  sms.close();
  sms.unlink();
  EXPECT_THROW(mp::shared_memory{name}, concur::os_error);
  EXPECT_THROW(sms.unlink(), concur::os_error);
}

TEST(MpSharedMemory, FreshNamesAndPassingByName) {
  auto a = mp::shared_memory::create(64);
  auto b = mp::shared_memory::create(64);
  EXPECT_NE(a.name(), b.name());
  a.buf()[0] = std::byte{7};
  // By name, so a pool task can take it too.
  mp::pool p(1);
  EXPECT_EQ(p.apply(first_byte, mp::shared_memory(a.name())), 7);
  a.unlink();
  b.unlink();
}

TEST(MpShareableList, SharedWithAChild) {
  auto l = mp::shareable_list<double>::create({1.5, 2.5, -3.0});
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l.count(2.5), 1u);
  EXPECT_EQ(l.index(-3.0), 2u);
  EXPECT_THROW(l.index(9.0), concur::value_error);
  EXPECT_THROW(l.at(3), std::out_of_range);
  run(mp::process(bump_list, mp::shareable_list<double>(l.shm().name())));
  EXPECT_EQ(std::vector<double>(l.begin(), l.end()), (std::vector<double>{3.0, 5.0, -6.0}));
  mp::shareable_list<double> attached(l.shm().name());
  EXPECT_EQ(attached[1], 5.0);
  // Read as another type: refused.
  EXPECT_THROW(mp::shareable_list<int>(l.shm().name()), concur::value_error);
  auto raw = mp::shared_memory::create(8);
  EXPECT_THROW(mp::shareable_list<double>(raw.name()), concur::value_error);
  raw.unlink();
  l.shm().unlink();
}
