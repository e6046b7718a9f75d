// The manager's side in the program and the proxies' client: starting and stopping the server
// process, and one blocking request/reply per proxy call.
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "concur/core/random.hpp"
#include "concur/mp/detail/fd.hpp"
#include "concur/mp/managers.hpp"

namespace concur::mp {

namespace detail {

namespace {

constexpr std::size_t authkey_bytes = 32;

sockaddr_un abstract_address(const std::string& name, socklen_t& length) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof a.sun_path)
    throw value_error("concur::mp: manager address too long: @" + name);
  std::memcpy(a.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

unique_fd stream_socket() {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_last_os_error("concur::mp: socket");
  return unique_fd(fd);
}

// A listening socket on a fresh abstract name that other users cannot guess either (the key
// is what keeps them out; the random name keeps two managers from colliding).
std::pair<unique_fd, std::string> listen_on_fresh_name() {
  std::string name = "concur-manager-" + random_hex(12);
  unique_fd fd = stream_socket();
  socklen_t length = 0;
  const sockaddr_un a = abstract_address(name, length);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), length) != 0)
    throw_last_os_error("concur::mp: bind @" + name);
  if (::listen(fd.get(), 128) != 0) throw_last_os_error("concur::mp: listen @" + name);
  return {std::move(fd), std::move(name)};
}

[[noreturn]] void throw_status(manager_status status, const std::string& message) {
  switch (status) {
    case manager_status::key_error:
    case manager_status::index_error:
    case manager_status::attribute_error:
      throw std::out_of_range(message);
    case manager_status::value_error:
      throw value_error(message);
    case manager_status::empty:
      throw queue_empty();
    case manager_status::full:
      throw queue_full();
    default:
      throw error("concur::mp: the manager failed: " + message);
  }
}

std::string payload_of(std::string reply) {
  if (reply.empty()) throw error("concur::mp: malformed reply from the manager (empty)");
  const auto status = static_cast<manager_status>(reply[0]);
  reply.erase(0, 1);
  if (status != manager_status::ok) throw_status(status, reply);
  return reply;
}

}  // namespace

unique_fd manager_client::connect_and_greet() const {
  unique_fd fd = stream_socket();
  socklen_t length = 0;
  const sockaddr_un a = abstract_address(address_, length);
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), length) != 0) {
    if (errno == EINTR) continue;
    if (errno == ECONNREFUSED || errno == ENOENT)
      throw error("concur::mp: the manager at @" + address_ +
                  " is not running (it was shut down, or its process died)");
    throw_last_os_error("concur::mp: connect to the manager at @" + address_);
  }
  send_frame(fd.get(), authkey_);
  auto reply = recv_frame(fd.get());
  if (!reply) throw error("concur::mp: the manager at @" + address_ + " refused the key");
  payload_of(std::move(*reply));
  return fd;
}

unique_fd manager_client::take_connection() {
  {
    checked_lock lock(mutex_);
    if (!idle_.empty()) {
      unique_fd fd = std::move(idle_.back());
      idle_.pop_back();
      return fd;
    }
  }
  return connect_and_greet();
}

std::string manager_client::call(std::string_view request) {
  unique_fd fd = take_connection();
  std::optional<std::string> reply;
  try {
    send_frame(fd.get(), request);
    reply = recv_frame(fd.get());
  } catch (const concur::error& e) {
    throw error("concur::mp: lost the connection to the manager at @" + address_ + ": " + e.what());
  }
  if (!reply)
    throw error("concur::mp: the manager at @" + address_ +
                " closed the connection (it was shut down, or its process died)");
  {
    checked_lock lock(mutex_);
    idle_.push_back(std::move(fd));
  }
  return payload_of(std::move(*reply));
}

}  // namespace detail

bool namespace_proxy::contains(std::string_view name) const {
  auto w = request(detail::manager_op::ns_get);
  w.bytes(name);
  try {
    call(w);
    return true;
  } catch (const std::out_of_range&) {
    return false;
  }
}

void namespace_proxy::erase(std::string_view name) {
  auto w = request(detail::manager_op::ns_erase);
  w.bytes(name);
  call(w);
}

std::vector<std::string> namespace_proxy::names() const {
  const std::string reply = call(detail::manager_op::ns_names);
  return detail::wire_reader(reply).byte_list();
}

manager::manager() {
  auto [listener, name] = detail::listen_on_fresh_name();
  std::string key = random_hex(detail::authkey_bytes);
  server_ = process(&detail::manager_serve, detail::manager_listener{std::move(listener)}, key);
  server_.start();
  client_ = std::make_shared<detail::manager_client>(std::move(name), std::move(key));
}

manager& manager::operator=(manager&& o) noexcept {
  if (this != &o) {
    shutdown();
    server_ = std::move(o.server_);
    client_ = std::move(o.client_);
  }
  return *this;
}

manager::~manager() { shutdown(); }

std::uint64_t manager::create(detail::manager_kind kind, std::uint64_t argument) {
  if (!client_) throw invalid_state_error("concur::mp: the manager has been shut down");
  detail::wire_writer w;
  w.u8(static_cast<std::uint8_t>(detail::manager_op::create)).u64(0);
  w.u8(static_cast<std::uint8_t>(kind)).u64(argument);
  return detail::wire_reader(client_->call(w.str())).u64();
}

void manager::shutdown() noexcept {
  if (!client_) return;
  auto client = std::move(client_);
  try {
    detail::wire_writer w;
    w.u8(static_cast<std::uint8_t>(detail::manager_op::shutdown)).u64(0);
    client->call(w.str());
  } catch (...) {
    // Already gone (or no memory for the request): the process is stopped below either way.
  }
  try {
    using namespace std::chrono_literals;
    if (server_.join(1s)) return;
    server_.terminate();
    if (server_.join(100ms)) return;
    server_.kill();
    server_.join();
  } catch (...) {
    // Reaping failed (the fork server is gone): nothing more can be done here.
  }
}

std::string manager::address() const { return client_ ? "@" + client_->address() : std::string(); }

}  // namespace concur::mp
