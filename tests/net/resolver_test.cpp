// Name resolution on the loop through c-ares (loop.getaddrinfo without a thread per lookup):
// /etc/hosts first, failures named, cancellation harmless, and no thread started however
// many lookups run at once.
#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "concur/net.hpp"

namespace aio = concur::aio;
namespace net = concur::net;
using namespace std::chrono_literals;

namespace {

std::size_t thread_count() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return 0;
  while (dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): one thread reads here
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

bool has_loopback(const std::vector<net::endpoint>& eps) {
  for (const auto& e : eps)
    if (e.host() == "127.0.0.1" || e.host() == "::1") return true;
  return false;
}

}  // namespace

TEST(Resolver, LocalhostComesFromTheHostsFile) {
  auto eps = aio::run([]() -> aio::task<std::vector<net::endpoint>> {
    co_return co_await aio::getaddrinfo("localhost", 8080);
  }());
  ASSERT_FALSE(eps.empty());
  EXPECT_TRUE(has_loopback(eps));
  for (const auto& e : eps) EXPECT_EQ(e.port(), 8080);
}

TEST(Resolver, ManyLookupsAtOnceStartNoThread) {
  const std::size_t before = thread_count();
  std::size_t most = 0;
  auto ok = aio::run([&]() -> aio::task<int> {
    std::vector<aio::task<std::vector<net::endpoint>>> all;
    for (int i = 0; i < 200; ++i) all.push_back(net::resolve("localhost", 80));
    auto watcher = aio::create_task([](std::size_t& m) -> aio::task<void> {
      for (int i = 0; i < 1000; ++i) {
        m = std::max(m, thread_count());
        co_await aio::sleep(0.0);
      }
    }(most));
    auto results = co_await aio::gather(std::move(all));
    watcher.cancel();
    int n = 0;
    for (const auto& r : results) n += has_loopback(r) ? 1 : 0;
    co_return n;
  }());
  EXPECT_EQ(ok, 200);
  EXPECT_LE(most, before);  // the old path started one thread per lookup
}

TEST(Resolver, AFailureNamesTheHostAndPort) {
  aio::run([]() -> aio::task<void> {
    try {
      co_await net::resolve("nonexistent.invalid", 443);
      ADD_FAILURE() << "resolved";
    } catch (const net::dns_error& e) {
      EXPECT_NE(std::string(e.what()).find("nonexistent.invalid:443"), std::string::npos)
          << e.what();
    }
  }());
}

TEST(Resolver, ACancelledLookupIsHarmless) {
  auto eps = aio::run([]() -> aio::task<std::vector<net::endpoint>> {
    auto t = aio::create_task(net::resolve("nonexistent.invalid", 80));
    t.cancel();
    EXPECT_THROW(co_await t, aio::cancelled_error);
    // An abandoned lookup may still be answered later; the next one works either way.
    co_await aio::sleep(0.05);
    co_return co_await net::resolve("localhost", 1);
  }());
  EXPECT_TRUE(has_loopback(eps));
}

TEST(Resolver, NumericAddressesSkipTheResolver) {
  auto eps = aio::run([]() -> aio::task<std::vector<net::endpoint>> {
    co_return co_await net::resolve("::1", 9);
  }());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].str(), "[::1]:9");
}
