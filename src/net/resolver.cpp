#include "resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "concur/net/errors.hpp"

namespace concur::net::detail {

namespace {

constexpr std::size_t cache_capacity = 256;
constexpr std::chrono::seconds max_ttl{300};

// c-ares wants its library initialised once per process before the first channel; the
// function-local static makes that once, thread-safely.
void init_library() {
  static const int rc = ::ares_library_init(ARES_LIB_INIT_ALL);
  if (rc != ARES_SUCCESS)
    throw dns_error(std::string("cannot start the DNS resolver: ") + ::ares_strerror(rc));
}

// What ares_getaddrinfo hands the callback: the lookup to fill, kept alive by this owner.
struct pending {
  std::shared_ptr<lookup> target;
  std::string where;  // host:port, for messages
  aio::event_loop* loop;
};

}  // namespace

resolver::resolver(aio::event_loop& loop) : loop_(loop) {
  init_library();
  ares_options opts{};
  opts.sock_state_cb = &resolver::on_socket_state;
  opts.sock_state_cb_data = this;
  opts.timeout = 2000;  // ms per try, as glibc's resolver
  opts.tries = 2;
  const int rc = ::ares_init_options(&channel_, &opts,
                                     ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS)
    throw dns_error(std::string("cannot start the DNS resolver: ") + ::ares_strerror(rc));
}

resolver::~resolver() {
  timer_.cancel();
  // Answers still owed are given ARES_EDESTRUCTION (their waiters are going away with the loop)
  // and the sockets are handed back through on_socket_state, which unregisters them.
  ::ares_destroy(channel_);
}

void resolver::on_socket_state(void* self, ares_socket_t fd, int readable, int writable) noexcept {
  auto& r = *static_cast<resolver*>(self);
  try {
    if (readable) {
      r.loop_.add_reader(fd, [&r, fd] { r.process(fd, ARES_SOCKET_BAD); });
    } else {
      r.loop_.remove_reader(fd);
    }
    if (writable) {
      r.loop_.add_writer(fd, [&r, fd] { r.process(ARES_SOCKET_BAD, fd); });
    } else {
      r.loop_.remove_writer(fd);
    }
  } catch (...) {
    // The loop is closing: nothing will be read from it any more.
  }
}

void resolver::process(ares_socket_t read_fd, ares_socket_t write_fd) noexcept {
  ::ares_process_fd(channel_, read_fd, write_fd);
  arm_timer();
}

// c-ares's retransmissions and timeouts: one loop timer at its next deadline.
void resolver::arm_timer() noexcept {
  timer_.cancel();
  timeval tv{};
  if (::ares_timeout(channel_, nullptr, &tv) == nullptr) return;  // nothing in flight
  const auto delay = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  try {
    timer_ = loop_.call_later(delay, [this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); });
  } catch (...) {
  }
}

void resolver::on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) noexcept {
  std::unique_ptr<pending> p(static_cast<pending*>(arg));
  // The answer came through a socket the loop watches, but virtual time must not jump past
  // c-ares's timers while the nameserver is still to answer.
  p->loop->end_external_wait();
  struct release {
    ares_addrinfo* ai;
    ~release() {
      if (ai != nullptr) ::ares_freeaddrinfo(ai);
    }
  } free_result{result};
  if (status == ARES_EDESTRUCTION) return;  // the loop is closing; nobody is left to tell
  lookup& l = *p->target;
  try {
    if (status == ARES_SUCCESS && result != nullptr) {
      int ttl = static_cast<int>(max_ttl.count());
      for (auto* n = result->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
        endpoint e;
        std::memcpy(&e.storage, n->ai_addr, n->ai_addrlen);
        e.length = n->ai_addrlen;
        l.result.push_back(e);
        ttl = std::min(ttl, n->ai_ttl);
      }
      l.ttl = std::chrono::seconds(std::max(ttl, 0));
    }
    if (l.result.empty()) {
      const char* why = status == ARES_SUCCESS ? "no address" : ::ares_strerror(status);
      l.error =
          std::make_exception_ptr(dns_error("cannot resolve " + p->where + ": " + why, status));
    }
  } catch (...) {
    l.error = std::current_exception();
  }
  l.done = true;
  l.slot.wake();
}

std::optional<std::vector<endpoint>> resolver::from_cache(const std::string& key) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  if (loop_.now() >= it->second.expires) {
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.addresses;
}

void resolver::remember(const std::string& key, const lookup& l) {
  if (l.ttl.count() <= 0 || l.result.empty()) return;  // /etc/hosts answers carry no TTL
  if (cache_.size() >= cache_capacity) {
    const auto now = loop_.now();
    std::erase_if(cache_, [now](const auto& kv) { return now >= kv.second.expires; });
    if (cache_.size() >= cache_capacity) cache_.erase(cache_.begin());
  }
  cache_[key] = {l.result, loop_.now() + std::min(l.ttl, max_ttl)};
}

aio::task<std::vector<endpoint>> resolver::resolve(std::string host, std::uint16_t port,
                                                   std::optional<aio::clock::time_point> deadline) {
  const std::string where = host_port(host, port);
  if (auto hit = from_cache(where)) co_return std::move(*hit);
  auto l = std::make_shared<lookup>();
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NUMERICSERV;
  const std::string service = std::to_string(port);
  auto owner = std::make_unique<pending>(pending{l, where, &loop_});
  loop_.begin_external_wait();
  ::ares_getaddrinfo(channel_, host.c_str(), service.c_str(), &hints, &resolver::on_answer,
                     owner.release());
  arm_timer();
  while (!l->done) co_await park_awaiter(l->slot, deadline, &where, "resolve");
  if (l->error) std::rethrow_exception(l->error);
  remember(where, *l);
  co_return std::move(l->result);
}

}  // namespace concur::net::detail
