// bench_ws_echo --port P --pid PID --name NAME [--host 127.0.0.1] [--path /ws] [--conns 100]
//               [--seconds 5] [--warmup 1] [--size 32]
// The load client of bench/ws_echo_vs.sh: C WebSocket connections to one echo server, each
// sending a masked text message of SIZE bytes and waiting for its echo before sending the
// next. After a warm-up it counts the echoes of the measured window and reads the server's
// CPU time (utime + stime of /proc/PID/stat) at both ends of it. Prints one line:
//   ws_echo server=NAME conns=C size=S msgs=N seconds=T msgs_per_s=R server_cpu_s=U
//           msgs_per_server_cpu_s=E client_cpu_s=K mismatches=M
// Exits 1 if any echo differs from what was sent, or on any connection or protocol failure.
//
// One thread and one level-triggered epoll set over raw sockets, not concur's event loop: the
// client has to be the same for every server, concur's included, so it favours none of them.
// It uses concur only for the frame codec and the handshake's accept key.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "concur/core/fd.hpp"
#include "concur/http/websocket_frame.hpp"

namespace ws = concur::http;
using steady = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  unsigned port = 0;
  long pid = 0;
  std::string name;
  std::string path = "/ws";
  unsigned conns = 100;
  double seconds = 5;
  double warmup = 1;
  std::size_t size = 32;
};

// What stops the run: the message names the server, so a failure in ws_echo_vs.sh's output
// says which peer it was.
struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_ws_echo: %s\n"
               "usage: bench_ws_echo --port P --pid PID --name NAME [--host 127.0.0.1] "
               "[--path /ws] [--conns 100] [--seconds 5] [--warmup 1] [--size 32]\n",
               why);
  std::exit(2);
}

template <class T>
T parse_number(std::string_view flag, std::string_view text, T lo, T hi) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi) {
    const std::string why = std::string(flag) + " takes a number from " + std::to_string(lo) +
                            " to " + std::to_string(hi) + ", not '" + std::string(text) + "'";
    usage(why.c_str());
  }
  return v;
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + std::string(flag)).c_str());
    const std::string_view value = argv[++i];
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      o.port = parse_number<unsigned>(flag, value, 1, 65535);
    } else if (flag == "--pid") {
      o.pid = parse_number<long>(flag, value, 1, std::numeric_limits<int>::max());
    } else if (flag == "--name") {
      o.name = value;
    } else if (flag == "--path") {
      o.path = value;
    } else if (flag == "--conns") {
      o.conns = parse_number<unsigned>(flag, value, 1, 10000);
    } else if (flag == "--seconds") {
      o.seconds = parse_number<double>(flag, value, 0.1, 3600);
    } else if (flag == "--warmup") {
      o.warmup = parse_number<double>(flag, value, 0, 3600);
    } else if (flag == "--size") {
      // The echo comes back through concur's reader, whose default limit is 4 MiB a message.
      o.size = parse_number<std::size_t>(flag, value, 1, 1 << 20);
    } else {
      usage(("unknown option " + std::string(flag)).c_str());
    }
  }
  if (o.port == 0 || o.pid == 0 || o.name.empty()) usage("--port, --pid and --name are required");
  if (!o.path.starts_with('/')) usage("--path must begin with '/'");
  return o;
}

std::string errno_text(int err) { return std::system_category().message(err); }

// The server's CPU time so far, utime + stime in seconds (all its threads: the kernel sums
// them in the process's line).
double server_cpu_seconds(const options& o) {
  const std::string file = "/proc/" + std::to_string(o.pid) + "/stat";
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line)) {
    throw bench_failure("cannot read " + file + ": is " + o.name + " (pid " +
                        std::to_string(o.pid) + ") still running?");
  }
  // Field 2 is the command in parentheses and may hold spaces: count from the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) throw bench_failure("unexpected format of " + file);
  std::istringstream fields(line.substr(close + 1));
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime)) throw bench_failure("unexpected format of " + file);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Connects and does the opening handshake (RFC 6455 4.1) over a blocking socket with a
// timeout; returns the socket, non-blocking from then on, and puts in `rest` any bytes that
// came after the response head (frames the server sent at once).
concur::unique_fd open_websocket(const options& o, std::string& rest) {
  const std::string where = o.name + " (" + o.host + ":" + std::to_string(o.port) + o.path + ")";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1)
    throw bench_failure("--host must be an IPv4 address, not '" + o.host + "'");
  concur::unique_fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw bench_failure("socket: " + errno_text(errno));
  const int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const timeval limit{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw bench_failure("cannot connect to " + where + ": " + errno_text(errno));

  const std::string key = ws::ws_make_client_key();
  const std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" +
                              std::to_string(o.port) +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: " +
                              key + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    throw bench_failure("cannot send the handshake to " + where + ": " + errno_text(errno));

  std::string head;
  std::size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    char buf[4096];
    const ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) throw bench_failure(where + " closed the connection during the handshake");
    if (n < 0) throw bench_failure("handshake with " + where + ": " + errno_text(errno));
    head.append(buf, static_cast<std::size_t>(n));
    if (head.size() > 64 * 1024) throw bench_failure(where + " sent a response head over 64 KiB");
  }
  rest = head.substr(end + 4);
  head.resize(end + 2);  // each line, the last included, ends with CRLF

  std::string_view lines = head;
  const std::string_view status = lines.substr(0, lines.find("\r\n"));
  if (!status.starts_with("HTTP/1.1 101 "))
    throw bench_failure("handshake with " + where + " failed: got '" + std::string(status) +
                        "', not 101 Switching Protocols");
  lines.remove_prefix(status.size() + 2);
  std::optional<std::string_view> accept;
  bool upgrade = false;
  while (!lines.empty()) {
    const std::string_view line = lines.substr(0, lines.find("\r\n"));
    lines.remove_prefix(line.size() + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Sec-WebSocket-Accept")) accept = value;
    if (iequals(name, "Upgrade")) upgrade = iequals(value, "websocket");
    // Offering no extension, the client must fail a connection that names one (RFC 6455 4.1).
    if (iequals(name, "Sec-WebSocket-Extensions"))
      throw bench_failure(
          where + " answered with extensions the client did not offer: " + std::string(value));
  }
  if (!upgrade) throw bench_failure(where + " answered 101 without 'Upgrade: websocket'");
  if (accept != ws::ws_accept_key(key))
    throw bench_failure(where + " sent Sec-WebSocket-Accept '" + std::string(accept.value_or("")) +
                        "', expected '" + ws::ws_accept_key(key) + "'");

  const timeval none{0, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  const int flags = fcntl(fd.get(), F_GETFL);
  fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  return fd;
}

struct connection {
  concur::unique_fd fd;
  ws::ws_frame_writer writer{ws::ws_role::client};
  ws::ws_frame_reader reader{ws::ws_role::client};
  std::string expected;  // the payload in flight, which its echo must equal
  std::string out;       // frame bytes the socket has not taken yet
  std::uint64_t seq = 0;
  bool watching_out = false;
};

class echo_client {
 public:
  explicit echo_client(const options& o) : o_(o), conns_(o.conns) {
    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw bench_failure("epoll_create1: " + errno_text(errno));
    std::vector<std::string> early(conns_.size());
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].fd = open_websocket(o_, early[i]);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conns_[i].fd.get(), &ev) != 0)
        throw bench_failure("epoll_ctl: " + errno_text(errno));
    }
    // Sending only once every connection is open, so the warm-up starts with all of them.
    // Bytes that came with the handshake are read after the first message went out: a data
    // message among them is unasked for and counts as a mismatch.
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      send_next(i);
      if (!early[i].empty()) received(i, early[i]);
    }
  }

  // Runs the warm-up and the measured window, then prints the line; returns the exit status.
  int run() {
    const auto warm_end = steady::now() + std::chrono::duration_cast<steady::duration>(
                                              std::chrono::duration<double>(o_.warmup));
    loop_until(warm_end);
    const double server0 = server_cpu_seconds(o_);
    const double client0 = own_cpu_seconds();
    const auto t0 = steady::now();
    echoes_ = 0;
    loop_until(t0 + std::chrono::duration_cast<steady::duration>(
                        std::chrono::duration<double>(o_.seconds)));
    const auto t1 = steady::now();
    const double server1 = server_cpu_seconds(o_);
    const double client1 = own_cpu_seconds();
    const std::uint64_t msgs = echoes_;
    say_goodbye();

    const double secs = std::chrono::duration<double>(t1 - t0).count();
    const double server_cpu = server1 - server0;
    std::printf(
        "ws_echo server=%s conns=%u size=%zu msgs=%llu seconds=%.3f msgs_per_s=%.0f "
        "server_cpu_s=%.2f msgs_per_server_cpu_s=%.0f client_cpu_s=%.2f mismatches=%llu\n",
        o_.name.c_str(), o_.conns, o_.size, static_cast<unsigned long long>(msgs), secs,
        static_cast<double>(msgs) / secs, server_cpu,
        server_cpu > 0 ? static_cast<double>(msgs) / server_cpu : 0.0, client1 - client0,
        static_cast<unsigned long long>(mismatches_));
    if (mismatches_ != 0) {
      std::fprintf(stderr, "bench_ws_echo: %llu echoes from %s differed from what was sent\n",
                   static_cast<unsigned long long>(mismatches_), o_.name.c_str());
      return 1;
    }
    if (msgs == 0) {
      std::fprintf(stderr, "bench_ws_echo: no echo from %s in the measured window\n",
                   o_.name.c_str());
      return 1;
    }
    return 0;
  }

 private:
  void loop_until(steady::time_point end) {
    std::vector<epoll_event> events(256);
    char buf[64 * 1024];
    while (steady::now() < end) {
      const int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 100);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw bench_failure("epoll_wait: " + errno_text(errno));
      }
      for (int k = 0; k < n; ++k) {
        const auto i = static_cast<std::size_t>(events[k].data.u64);
        connection& c = conns_[i];
        if (events[k].events & EPOLLOUT) flush(i);
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          const ssize_t got = recv(c.fd.get(), buf, sizeof buf, 0);
          if (got == 0) throw bench_failure(o_.name + " closed connection " + std::to_string(i));
          if (got < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            throw bench_failure("connection " + std::to_string(i) + " to " + o_.name + ": " +
                                errno_text(errno));
          }
          received(i, std::string_view(buf, static_cast<std::size_t>(got)));
        }
      }
    }
  }

  void received(std::size_t i, std::string_view bytes) {
    connection& c = conns_[i];
    msgs_.clear();
    try {
      c.reader.feed(bytes, msgs_);
    } catch (const ws::ws_protocol_error& e) {
      throw bench_failure(o_.name + " broke the protocol on connection " + std::to_string(i) +
                          ": " + e.what());
    }
    for (ws::ws_message& m : msgs_) {
      switch (m.type) {
        case ws::ws_msg_type::ping:
          c.writer.write_pong(c.out, m.data);
          flush(i);
          break;
        case ws::ws_msg_type::pong:
          break;
        case ws::ws_msg_type::close:
          throw bench_failure(o_.name + " closed connection " + std::to_string(i) + " with code " +
                              std::to_string(m.close_code) + " '" + m.data + "'");
        default:
          if (m.type != ws::ws_msg_type::text || m.data != c.expected) {
            if (++mismatches_ <= 3)
              std::fprintf(stderr,
                           "bench_ws_echo: %s, connection %zu: sent text '%s', got %s '%s'\n",
                           o_.name.c_str(), i, c.expected.c_str(),
                           m.type == ws::ws_msg_type::text ? "text" : "binary", m.data.c_str());
          }
          ++echoes_;
          send_next(i);
      }
    }
  }

  // A payload that differs from message to message and connection to connection, so that an
  // echo sent back on the wrong connection or out of turn is caught, not just a corrupted one.
  void make_payload(std::size_t i, connection& c) {
    std::string& p = c.expected;
    p.clear();
    p += std::to_string(i);
    p += ':';
    p += std::to_string(c.seq);
    p += ':';
    for (std::size_t k = 0; p.size() < o_.size; ++k) p += static_cast<char>('a' + (c.seq + k) % 26);
    p.resize(o_.size);
  }

  void send_next(std::size_t i) {
    connection& c = conns_[i];
    ++c.seq;
    make_payload(i, c);
    c.writer.write_message(c.out, ws::ws_msg_type::text, c.expected);
    flush(i);
  }

  void flush(std::size_t i) {
    connection& c = conns_[i];
    while (!c.out.empty()) {
      const ssize_t n = send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN)
          throw bench_failure("sending on connection " + std::to_string(i) + " to " + o_.name +
                              ": " + errno_text(errno));
        break;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    // Watching for room only while bytes wait: a 38-byte frame almost always goes at once.
    const bool want_out = !c.out.empty();
    if (want_out != c.watching_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
      ev.data.u64 = i;
      if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0)
        throw bench_failure("epoll_ctl: " + errno_text(errno));
      c.watching_out = want_out;
    }
  }

  // After the window: a Close frame on each connection, so the servers see an orderly end
  // rather than a reset (what they do then is no longer measured).
  void say_goodbye() {
    for (connection& c : conns_) {
      std::string frame;
      c.writer.write_close(frame, 1000);
      (void)send(c.fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL);
      shutdown(c.fd.get(), SHUT_WR);
    }
  }

  const options& o_;
  concur::unique_fd epoll_;
  std::vector<connection> conns_;
  std::vector<ws::ws_message> msgs_;
  std::uint64_t echoes_ = 0;
  std::uint64_t mismatches_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  try {
    echo_client client(o);
    return client.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ws_echo: %s\n", e.what());
    return 1;
  }
}
