#include "concur/core/fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "concur/core/error.hpp"

namespace concur {

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

unique_fd unique_fd::dup() const {
  int d = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (d < 0) throw_last_os_error("fcntl(F_DUPFD_CLOEXEC)");
  return unique_fd(d);
}

ssize_t send_with_fds(int sock, std::span<const iovec> data, std::span<const int> fds,
                      int flags) noexcept {
  if (fds.size() > max_passed_fds) {
    errno = EINVAL;
    return -1;
  }
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(data.data());
  msg.msg_iovlen = data.size();
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_passed_fds)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t r;
  do {
    r = ::sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
  } while (r < 0 && errno == EINTR);
  return r;
}

ssize_t recv_with_fds(int sock, std::span<const iovec> data, std::vector<unique_fd>& fds,
                      int flags) {
  // Room first: once received, a descriptor must find its owner without an allocation failing.
  fds.reserve(fds.size() + max_passed_fds);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(data.data());
  msg.msg_iovlen = data.size();
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_passed_fds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t r;
  do {
    r = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  return r;
}

}  // namespace concur
