// unique_fd and fd passing over a Unix socket, on real descriptors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <concur/core.hpp>
#include <string>
#include <vector>

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

struct pipe_pair {
  concur::unique_fd read_end, write_end;
};
pipe_pair make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) concur::throw_last_os_error("pipe2");
  return {concur::unique_fd(p[0]), concur::unique_fd(p[1])};
}

struct socket_pair {
  concur::unique_fd a, b;
};
socket_pair make_socketpair() {
  int s[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0)
    concur::throw_last_os_error("socketpair");
  return {concur::unique_fd(s[0]), concur::unique_fd(s[1])};
}

TEST(UniqueFd, ClosesOnDestructionAndReset) {
  auto [r, w] = make_pipe();
  const int raw = r.get();
  { concur::unique_fd owner(r.release()); }
  EXPECT_FALSE(is_open(raw));
  EXPECT_FALSE(r);
  const int wraw = w.get();
  w.reset();
  EXPECT_FALSE(is_open(wraw));
  EXPECT_EQ(w.get(), -1);
}

TEST(UniqueFd, MoveTransfersOwnershipOnce) {
  auto [r, w] = make_pipe();
  const int raw = r.get();
  concur::unique_fd moved(std::move(r));
  EXPECT_EQ(moved.get(), raw);
  EXPECT_EQ(r.get(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  concur::unique_fd target;
  target = std::move(moved);
  EXPECT_EQ(target.get(), raw);
  EXPECT_TRUE(is_open(raw));
  concur::unique_fd& same = target;
  target = std::move(same);  // self-move keeps the descriptor
  EXPECT_TRUE(is_open(raw));
}

TEST(UniqueFd, DupIsADistinctCloseOnExecDescriptorOfTheSameFile) {
  auto [r, w] = make_pipe();
  concur::unique_fd w2 = w.dup();
  ASSERT_TRUE(w2);
  EXPECT_NE(w2.get(), w.get());
  EXPECT_TRUE(::fcntl(w2.get(), F_GETFD) & FD_CLOEXEC);
  w.reset();
  ASSERT_EQ(::write(w2.get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST(UniqueFd, DupOfNoDescriptorIsAnOsError) {
  const concur::unique_fd none;
  try {
    (void)none.dup();
    FAIL() << "dup() of an empty unique_fd did not throw";
  } catch (const concur::os_error& e) {
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
  }
}

TEST(FdPassing, DescriptorsArriveOwnedCloseOnExecAndWorking) {
  auto [a, b] = make_socketpair();
  auto p1 = make_pipe();
  auto p2 = make_pipe();
  const int to_send[] = {p1.write_end.get(), p2.write_end.get()};
  char payload[] = "two";
  const iovec out{payload, 3};
  ASSERT_EQ(concur::send_with_fds(a.get(), {&out, 1}, to_send), 3);
  p1.write_end.reset();  // the receiver's copies keep the pipes open
  p2.write_end.reset();

  char buf[8] = {};
  const iovec in{buf, sizeof buf};
  std::vector<concur::unique_fd> got;
  ASSERT_EQ(concur::recv_with_fds(b.get(), {&in, 1}, got), 3);
  EXPECT_EQ(std::string(buf, 3), "two");
  ASSERT_EQ(got.size(), 2u);
  for (const auto& fd : got) EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(::write(got[1].get(), "B", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(p2.read_end.get(), &c, 1), 1);
  EXPECT_EQ(c, 'B');
}

TEST(FdPassing, PlainBytesBringNoDescriptors) {
  auto [a, b] = make_socketpair();
  char payload[] = "x";
  const iovec out{payload, 1};
  ASSERT_EQ(concur::send_with_fds(a.get(), {&out, 1}, {}), 1);
  char buf[4];
  const iovec in{buf, sizeof buf};
  std::vector<concur::unique_fd> got;
  ASSERT_EQ(concur::recv_with_fds(b.get(), {&in, 1}, got), 1);
  EXPECT_TRUE(got.empty());
}

TEST(FdPassing, MoreThanTheLimitIsRefusedBeforeSending) {
  auto [a, b] = make_socketpair();
  auto p = make_pipe();
  const std::vector<int> many(concur::max_passed_fds + 1, p.read_end.get());
  char payload[] = "x";
  const iovec out{payload, 1};
  errno = 0;
  EXPECT_EQ(concur::send_with_fds(a.get(), {&out, 1}, many), -1);
  EXPECT_EQ(errno, EINVAL);
  char buf[4];
  EXPECT_EQ(::recv(b.get(), buf, sizeof buf, MSG_DONTWAIT), -1);  // nothing went out
}

TEST(FdPassing, ClosedPeerIsAnErrorNotASignal) {
  auto [a, b] = make_socketpair();
  b.reset();
  char payload[] = "x";
  const iovec out{payload, 1};
  errno = 0;
  EXPECT_EQ(concur::send_with_fds(a.get(), {&out, 1}, {}), -1);  // MSG_NOSIGNAL: no SIGPIPE
  EXPECT_EQ(errno, EPIPE);
}

}  // namespace
