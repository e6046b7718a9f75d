#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "concur/core/clock.hpp"
#include "concur/mp/connection.hpp"
#include "concur/mp/queue.hpp"

namespace concur::mp::detail {

fd_table& fds_of(cereal::BinaryOutputArchive& ar) {
  auto* a = dynamic_cast<output_archive*>(&ar);
  if (a == nullptr)
    throw error("concur::mp: pipes and queues can only be sent as arguments of mp calls");
  return a->fds;
}

fd_table& fds_of(cereal::BinaryInputArchive& ar) {
  auto* a = dynamic_cast<input_archive*>(&ar);
  if (a == nullptr)
    throw error("concur::mp: pipes and queues can only be received as arguments of mp calls");
  return a->fds;
}

namespace {

enum : char { inline_message = 0, memfd_message = 1 };
// Well under the default socket buffer (wmem_default, 208 KiB), which one message must fit.
constexpr std::size_t inline_limit = 32 * 1024;

// Remaining milliseconds for poll(), -1 for forever.
int poll_ms(std::chrono::milliseconds timeout, clock::time_point deadline) {
  if (timeout.count() < 0) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1 << 30));
}

bool wait_for(int fd, short events, std::chrono::milliseconds timeout, clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, poll_ms(timeout, deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) throw_last_os_error("concur::mp: poll");
  }
}

unique_fd memfd_with(std::string_view bytes) {
  unique_fd m(::memfd_create("concur-mp-queue", MFD_CLOEXEC));
  if (!m) throw_last_os_error("concur::mp: memfd_create");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(m.get(), bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_last_os_error("concur::mp: write to memfd");
    }
    done += static_cast<std::size_t>(w);
  }
  return m;
}

std::string read_memfd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_last_os_error("concur::mp: fstat");
  std::string s(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t r = ::pread(fd, s.data() + done, s.size() - done, static_cast<off_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_last_os_error("concur::mp: read from memfd");
    }
    if (r == 0) throw error("concur::mp: queue message shorter than announced");
    done += static_cast<std::size_t>(r);
  }
  return s;
}

}  // namespace

queue_channel::queue_channel() {
  auto [a, b] = socket_pair(SOCK_SEQPACKET);
  put_ = std::move(a);
  get_ = std::move(b);
}

bool queue_channel::put(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = concur::deadline_after(timeout);
  unique_fd big;
  char tag = inline_message;
  iovec iov[2];
  std::span<const iovec> data(iov, 2);
  int attached = -1;
  std::span<const int> fds;
  iov[0] = {&tag, 1};
  if (bytes.size() <= inline_limit) {
    iov[1] = {const_cast<char*>(bytes.data()), bytes.size()};
  } else {
    // A large item travels in a memfd, passed along with its tag.
    big = memfd_with(bytes);
    tag = memfd_message;
    data = data.first(1);
    attached = big.get();
    fds = std::span<const int>(&attached, 1);
  }
  for (;;) {
    const int flags = timeout.count() < 0 ? 0 : MSG_DONTWAIT;
    if (send_with_fds(put_.get(), data, fds, flags) >= 0) return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_last_os_error("concur::mp: queue put");
    if (!wait_for(put_.get(), POLLOUT, timeout, deadline)) return false;
  }
}

std::optional<std::string> queue_channel::get(std::chrono::milliseconds timeout) {
  const auto deadline = concur::deadline_after(timeout);
  std::string buf(inline_limit + 1, '\0');
  for (;;) {
    if (!wait_for(get_.get(), POLLIN, timeout, deadline)) return std::nullopt;
    iovec iov{buf.data(), buf.size()};
    std::vector<unique_fd> attached;
    // Several processes may wait on the same queue; the one that loses the race polls again.
    const ssize_t n =
        recv_with_fds(get_.get(), std::span<const iovec>(&iov, 1), attached, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
      throw_last_os_error("concur::mp: queue get");
    }
    if (n == 0) throw error("concur::mp: queue closed");
    if (buf[0] == memfd_message) {
      if (attached.size() != 1) throw error("concur::mp: queue message lost its data");
      return read_memfd(attached.front().get());
    }
    return buf.substr(1, static_cast<std::size_t>(n) - 1);
  }
}

bool queue_channel::empty() const {
  pollfd p{get_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) <= 0;
}

}  // namespace concur::mp::detail
