#include "concur/net/datagram.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "concur/core/error.hpp"
#include "concur/net/errors.hpp"

namespace concur::net {

namespace {

// Datagrams up to the largest UDP payload are received whole.
constexpr std::size_t max_datagram = 65536;

std::exception_ptr os_error_ptr(int err, const char* what) {
  return std::make_exception_ptr(
      connection_error(std::string(what) + ": " + errno_message(err), err));
}

void set_flag(int fd, int option, const endpoint& where, const char* what) {
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, option, &one, sizeof one) != 0)
    throw_connection_error(errno, what, where.str());
}

}  // namespace

// The socket's registration: its edges read and flush.
class datagram_transport::watch final : public aio::fd_watch {
 public:
  explicit watch(datagram_transport& t) : fd_watch(*t.loop_, t.fd_.get()), t_(t) {}

 private:
  void on_ready(bool readable, bool writable) noexcept override {
    if (readable) t_.on_readable();
    if (writable) t_.on_writable();
  }
  datagram_transport& t_;
};

datagram_transport::datagram_transport(aio::event_loop& loop, unique_fd fd,
                                       std::shared_ptr<datagram_protocol> p)
    : loop_(&loop), fd_(std::move(fd)), protocol_(std::move(p)) {
  if (!protocol_) throw value_error("create_datagram_endpoint needs a protocol");
  connected_ = peername().has_value();
}

datagram_transport::~datagram_transport() { watch_.reset(); }

void datagram_transport::start() {
  watch_ = std::make_unique<watch>(*this);
  protocol_->connection_made(*this);
  on_readable();  // edge-triggered: what arrived before the registration gives no edge
}

std::optional<endpoint> datagram_transport::peername() const {
  endpoint e = endpoint::peer_of(fd_.get());
  if (e.length == 0) return std::nullopt;
  return e;
}

void datagram_transport::report(int err, const char* what) noexcept {
  try {
    protocol_->error_received(os_error_ptr(err, what));
  } catch (...) {
    loop_->call_exception_handler(
        {"Exception in error_received of a datagram protocol", std::current_exception(), {}});
  }
}

namespace {
constexpr std::size_t max_slots = 16;
}  // namespace

void datagram_transport::deliver(std::string_view data, const endpoint& from) noexcept {
  try {
    protocol_->datagram_received(data, from);
  } catch (...) {
    loop_->call_exception_handler(
        {"Exception in datagram_received of a datagram protocol", std::current_exception(), {}});
  }
}

int datagram_transport::receive_batch() noexcept {
  if (slot_count_ == 0) {
    slots_.resize(max_datagram);
    slot_count_ = 1;
  }
  mmsghdr msgs[max_slots];
  iovec iov[max_slots];
  endpoint from[max_slots];
  for (std::size_t i = 0; i < slot_count_; ++i) {
    iov[i] = {slots_.data() + i * max_datagram, max_datagram};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i].storage;
    msgs[i].msg_hdr.msg_namelen = sizeof from[i].storage;
  }
  const std::size_t asked = slot_count_;
  int n = -1;
  do {
    n = ::recvmmsg(fd_.get(), msgs, static_cast<unsigned>(asked), MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (would_block(errno)) return -1;
    report(errno, "recvfrom");
    return 0;
  }
  in_batch_ = true;
  for (int i = 0; i < n && !closing_; ++i) {
    from[i].length = msgs[i].msg_hdr.msg_namelen;
    deliver(std::string_view(slots_.data() + static_cast<std::size_t>(i) * max_datagram,
                             msgs[i].msg_len),
            from[i]);
  }
  in_batch_ = false;
  flush_replies();
  if (static_cast<std::size_t>(n) == asked && asked < max_slots) {
    slot_count_ = std::min(max_slots, asked * 4);
    slots_.resize(slot_count_ * max_datagram);
  }
  // Fewer than asked: the socket was empty at that instant; the next datagram brings an edge.
  return static_cast<std::size_t>(n) < asked ? -1 : n;
}

void datagram_transport::on_readable() noexcept {
  // A bounded number of batches per edge, so one busy endpoint cannot hold the loop; the rest
  // waits for the next turn.
  for (int round = 0; round < 16 && !closing_; ++round) {
    if (receive_batch() < 0) {
      if (watch_) watch_->read_blocked();
      return;
    }
  }
  if (!closing_) {
    try {
      loop_->call_soon([self = weak_from_this()] {
        if (auto t = self.lock()) t->on_readable();
      });
    } catch (...) {
    }
  }
}

void datagram_transport::flush_replies() noexcept {
  std::size_t sent = 0;
  while (sent < replies_.size() && queue_.empty()) {
    mmsghdr msgs[max_slots * 4];
    iovec iov[max_slots * 4];
    const std::size_t count = std::min(replies_.size() - sent, std::size(msgs));
    for (std::size_t i = 0; i < count; ++i) {
      auto& r = replies_[sent + i];
      iov[i] = {r.data.data(), r.data.size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (r.addr) {
        msgs[i].msg_hdr.msg_name = &r.addr->storage;
        msgs[i].msg_hdr.msg_namelen = r.addr->length;
      }
    }
    const int n = ::sendmmsg(fd_.get(), msgs, static_cast<unsigned>(count), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && would_block(errno)) {
      break;
    } else {
      report(n < 0 ? errno : EIO, "sendto");
      ++sent;  // that datagram is dropped, as UDP drops
    }
  }
  for (std::size_t i = sent; i < replies_.size(); ++i) {
    queued_bytes_ += replies_[i].data.size();
    queue_.push_back(std::move(replies_[i]));
  }
  replies_.clear();
}

bool datagram_transport::send_now(std::string_view data, const endpoint* addr) noexcept {
  for (;;) {
    const ssize_t n = addr ? ::sendto(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL,
                                      addr->addr(), addr->length)
                           : ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return true;
    if (errno == EINTR) continue;
    if (would_block(errno)) return false;
    report(errno, "sendto");
    return true;  // reported; the datagram is dropped, as UDP drops
  }
}

void datagram_transport::sendto(std::string_view data, const endpoint& addr) {
  if (closing_) throw invalid_state_error("datagram transport is closing");
  if (connected_) {
    const auto peer = peername();
    if (!peer || peer->length != addr.length ||
        std::memcmp(&peer->storage, &addr.storage, addr.length) != 0)
      throw value_error("Invalid address: must be None or " +
                        (peer ? peer->str() : std::string("the remote address")));
  }
  enqueue(data, connected_ ? nullptr : &addr);
}

void datagram_transport::enqueue(std::string_view data, const endpoint* addr) {
  if (in_batch_) {
    replies_.push_back({std::string(data), addr ? std::optional(*addr) : std::nullopt});
    return;
  }
  if (queue_.empty() && send_now(data, addr)) return;
  queue_.push_back({std::string(data), addr ? std::optional(*addr) : std::nullopt});
  queued_bytes_ += data.size();
}

void datagram_transport::sendto(std::string_view data) {
  if (!connected_)
    throw value_error("sendto without an address needs a connected endpoint (remote_addr)");
  if (closing_) throw invalid_state_error("datagram transport is closing");
  enqueue(data, nullptr);
}

void datagram_transport::on_writable() noexcept {
  while (!queue_.empty()) {
    auto& q = queue_.front();
    if (!send_now(q.data, q.addr ? &*q.addr : nullptr)) {
      if (watch_) watch_->write_blocked();
      return;
    }
    queued_bytes_ -= q.data.size();
    queue_.pop_front();
  }
  if (closing_) finish();
}

void datagram_transport::close() {
  if (closing_) return;
  closing_ = true;
  if (queue_.empty()) finish();  // otherwise once the queue has gone out
}

void datagram_transport::abort() noexcept {
  closing_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  finish();
}

void datagram_transport::finish() noexcept {
  if (finished_) return;
  finished_ = true;
  // asyncio calls connection_lost on the next iteration, after the current callback.
  try {
    loop_->call_soon([self = shared_from_this()] {
      self->watch_.reset();
      try {
        self->protocol_->connection_lost(nullptr);
      } catch (...) {
        self->loop_->call_exception_handler(
            {"Exception in connection_lost of a datagram protocol", std::current_exception(), {}});
      }
    });
  } catch (...) {
    watch_.reset();
  }
}

unique_fd open_datagram_socket(const datagram_options& options) {
  const endpoint* any = options.local_addr    ? &*options.local_addr
                        : options.remote_addr ? &*options.remote_addr
                                              : nullptr;
  if (any == nullptr) throw value_error("a datagram endpoint needs local_addr or remote_addr");
  unique_fd fd(::socket(any->family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_connection_error(errno, "cannot create a UDP socket for", any->str());
  if (options.reuse_port) set_flag(fd.get(), SO_REUSEPORT, *any, "cannot set SO_REUSEPORT on");
  if (options.allow_broadcast) set_flag(fd.get(), SO_BROADCAST, *any, "cannot set SO_BROADCAST on");
  if (options.local_addr &&
      ::bind(fd.get(), options.local_addr->addr(), options.local_addr->length) != 0)
    throw_connection_error(errno, "cannot bind", options.local_addr->str());
  if (options.remote_addr &&
      ::connect(fd.get(), options.remote_addr->addr(), options.remote_addr->length) != 0)
    throw_connection_error(errno, "cannot connect to", options.remote_addr->str());
  return fd;
}

aio::task<std::shared_ptr<datagram_transport>> create_datagram_endpoint(
    std::shared_ptr<datagram_protocol> protocol, datagram_options options) {
  auto t = std::make_shared<datagram_transport>(aio::get_running_loop(),
                                                open_datagram_socket(options), std::move(protocol));
  t->start();
  co_return t;
}

}  // namespace concur::net
