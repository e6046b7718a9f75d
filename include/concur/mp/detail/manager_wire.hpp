#pragma once
// Internal: the requests and replies between manager proxies and the manager's server process.
// The server keeps every value as the bytes the codec made of it, so it never needs the value's
// type; the proxies encode and decode. Integers travel in the machine's order: both ends run
// on the same machine.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "concur/core/checked_mutex.hpp"
#include "concur/core/fd.hpp"
#include "concur/mp/connection.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp::detail {

enum class manager_kind : std::uint8_t { dict = 1, list = 2, queue = 3, namespace_ = 4 };

// The first byte of a request. The object's id follows in every request but create/shutdown.
enum class manager_op : std::uint8_t {
  create = 1,  // kind, argument (a queue's maxsize) -> id
  shutdown,
  dict_get,  // key -> found byte [+ value]
  dict_set,  // key, value
  dict_pop,  // key -> value | key_error
  dict_erase,
  dict_contains,
  dict_size,
  dict_keys,
  dict_values,
  dict_items,
  dict_clear,
  dict_setdefault,  // key, value -> the value now under key
  dict_update,      // count, (key, value)...
  dict_popitem,
  list_size,
  list_get,  // index
  list_set,
  list_erase,
  list_append,
  list_extend,  // count, values...
  list_insert,
  list_pop,
  list_index,
  list_count,
  list_remove,
  list_reverse,
  list_clear,
  list_copy,
  list_assign,  // count, values...
  list_contains,
  queue_put,  // timeout in ns (-1: forever), value
  queue_get,  // timeout in ns (-1: forever)
  queue_qsize,
  queue_empty,
  queue_full,
  queue_task_done,
  queue_join,
  ns_get,  // name -> type tag, value | attribute error
  ns_set,  // name, type tag, value
  ns_erase,
  ns_names,
};

// The first byte of a reply; every status but ok carries a message and becomes the exception
// the Python counterpart raises.
enum class manager_status : std::uint8_t {
  ok = 0,
  key_error,        // KeyError -> std::out_of_range
  index_error,      // IndexError -> std::out_of_range
  attribute_error,  // AttributeError -> std::out_of_range
  value_error,      // ValueError -> concur::value_error
  empty,            // queue.Empty -> mp::queue_empty
  full,             // queue.Full -> mp::queue_full
  failed,           // anything else -> mp::error
};

// Builds a request or a reply.
class wire_writer {
 public:
  wire_writer& u8(std::uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  wire_writer& u64(std::uint64_t v) { return raw(&v, sizeof v); }
  wire_writer& i64(std::int64_t v) { return raw(&v, sizeof v); }
  wire_writer& bytes(std::string_view b) {
    u64(b.size());
    out_.append(b);
    return *this;
  }
  std::string& str() noexcept { return out_; }

 private:
  wire_writer& raw(const void* p, std::size_t n) {
    out_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string out_;
};

// Reads one; a short or malformed message is an mp::error, never a read past the end.
class wire_reader {
 public:
  explicit wire_reader(std::string_view in) noexcept : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    std::memcpy(&v, take(sizeof v).data(), sizeof v);
    return v;
  }
  std::int64_t i64() {
    std::int64_t v = 0;
    std::memcpy(&v, take(sizeof v).data(), sizeof v);
    return v;
  }
  std::string_view bytes() { return take(u64()); }
  std::vector<std::string> byte_list() {
    const std::uint64_t n = u64();
    if (n > in_.size()) throw error("concur::mp: malformed manager message (count)");
    std::vector<std::string> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) out.emplace_back(bytes());
    return out;
  }
  bool at_end() const noexcept { return in_.empty(); }

 private:
  std::string_view take(std::uint64_t n) {
    if (n > in_.size()) throw error("concur::mp: malformed manager message (truncated)");
    auto part = in_.substr(0, n);
    in_.remove_prefix(n);
    return part;
  }
  std::string_view in_;
};

// A proxy's way to its manager: connections to the server, one per call in flight, so that a
// thread blocked in queue.get() does not hold up another thread's put through a copy of the
// same proxy (Python gives each thread its own connection for the same reason). Idle
// connections are kept for the next call. Shared by the copies of a proxy in one process.
class manager_client {
 public:
  manager_client(std::string address, std::string authkey)
      : address_(std::move(address)), authkey_(std::move(authkey)) {}

  // Sends one request; returns the reply's payload, or throws what the server reported.
  std::string call(std::string_view request);

  const std::string& address() const noexcept { return address_; }
  const std::string& authkey() const noexcept { return authkey_; }

 private:
  unique_fd take_connection();
  unique_fd connect_and_greet() const;

  std::string address_;  // abstract AF_UNIX name, without the leading NUL
  std::string authkey_;
  checked_mutex mutex_;
  std::vector<unique_fd> idle_ CONCUR_GUARDED_BY(mutex_);
};

// The manager's listening socket on its way to the server process (the descriptor rides with
// the process's arguments).
struct manager_listener {
  unique_fd fd;

  template <class Archive>
  void save(Archive& ar) const {
    const std::uint64_t index = fds_of(ar).put(fd.get());
    ar(index);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::uint64_t index = 0;
    ar(index);
    fd.reset(fds_of(ar).take(index));
  }
};

// The server process's main: serves requests on `listener` until a shutdown request.
void manager_serve(manager_listener listener, std::string authkey);

}  // namespace concur::mp::detail
