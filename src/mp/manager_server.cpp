// The manager's server process: one aio loop serves every proxy's connection. Objects are kept
// as the encoded bytes of their values; a blocking queue operation parks that connection's
// task (never the loop), and is cancelled if the proxy's process goes away meanwhile, so a
// killed consumer cannot take an item with it.
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "concur/aio.hpp"
#include "concur/mp/detail/manager_wire.hpp"
#include "concur/net/streams.hpp"

namespace concur::mp::detail {

namespace {

// An error the proxy raises as its Python counterpart (see manager_status).
struct manager_fault {
  manager_status status;
  std::string message;
};

// A dict: bytes to bytes in insertion order; setting a present key keeps its place.
class ordered_dict {
 public:
  using item = std::pair<std::string, std::string>;

  const std::string* find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }
  void set(std::string_view key, std::string_view value) {
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second.assign(value);
      return;
    }
    items_.emplace_back(std::string(key), std::string(value));
    index_.emplace(items_.back().first, std::prev(items_.end()));
  }
  std::optional<std::string> take(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    auto node = it->second;
    index_.erase(it);
    std::string value = std::move(node->second);
    items_.erase(node);
    return value;
  }
  std::optional<item> take_last() {
    if (items_.empty()) return std::nullopt;
    index_.erase(items_.back().first);
    item last = std::move(items_.back());
    items_.pop_back();
    return last;
  }
  void clear() noexcept {
    index_.clear();
    items_.clear();
  }
  std::size_t size() const noexcept { return items_.size(); }
  const std::list<item>& items() const noexcept { return items_; }

 private:
  std::list<item> items_;
  // Views of the keys in items_ (list nodes never move).
  std::unordered_map<std::string_view, std::list<item>::iterator> index_;
};

struct list_object {
  std::vector<std::string> items;
};

struct queue_object {
  explicit queue_object(std::size_t maxsize) : q(maxsize) {}
  aio::queue<std::string> q;
};

// name -> (type name, value)
struct namespace_object {
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> attributes;
};

// A queue sits behind a pointer: a parked get or put refers to it while other objects are added.
using managed_object =
    std::variant<ordered_dict, list_object, std::unique_ptr<queue_object>, namespace_object>;

wire_writer ok_reply() {
  wire_writer w;
  w.u8(static_cast<std::uint8_t>(manager_status::ok));
  return w;
}

std::string fault_reply(const manager_fault& f) {
  wire_writer w;
  w.u8(static_cast<std::uint8_t>(f.status));
  w.str() += f.message;
  return std::move(w.str());
}

template <class Range>
void put_list(wire_writer& w, const Range& values) {
  w.u64(values.size());
  for (const auto& v : values) w.bytes(v);
}

// ------------------------------------------------------------------ dict

std::string dict_call(ordered_dict& d, manager_op op, wire_reader& in) {
  auto out = ok_reply();
  switch (op) {
    case manager_op::dict_get:
    case manager_op::dict_contains: {
      const std::string* v = d.find(in.bytes());
      out.u8(v != nullptr ? 1 : 0);
      if (v != nullptr && op == manager_op::dict_get) out.bytes(*v);
      break;
    }
    case manager_op::dict_set: {
      const auto key = in.bytes();
      d.set(key, in.bytes());
      break;
    }
    case manager_op::dict_pop: {
      auto v = d.take(in.bytes());
      if (!v) throw manager_fault{manager_status::key_error, "dict has no such key"};
      out.bytes(*v);
      break;
    }
    case manager_op::dict_erase:
      out.u8(d.take(in.bytes()) ? 1 : 0);
      break;
    case manager_op::dict_size:
      out.u64(d.size());
      break;
    case manager_op::dict_keys:
    case manager_op::dict_values:
      out.u64(d.size());
      for (const auto& [k, v] : d.items()) out.bytes(op == manager_op::dict_keys ? k : v);
      break;
    case manager_op::dict_items:
      out.u64(2 * d.size());
      for (const auto& [k, v] : d.items()) out.bytes(k).bytes(v);
      break;
    case manager_op::dict_clear:
      d.clear();
      break;
    case manager_op::dict_setdefault: {
      const auto key = in.bytes();
      const auto value = in.bytes();
      if (const std::string* v = d.find(key)) {
        out.bytes(*v);
      } else {
        d.set(key, value);
        out.bytes(value);
      }
      break;
    }
    case manager_op::dict_update: {
      const std::uint64_t n = in.u64();
      for (std::uint64_t i = 0; i < n; ++i) {
        const auto key = in.bytes();
        d.set(key, in.bytes());
      }
      break;
    }
    case manager_op::dict_popitem: {
      auto last = d.take_last();
      if (!last) throw manager_fault{manager_status::key_error, "popitem(): dictionary is empty"};
      out.bytes(last->first).bytes(last->second);
      break;
    }
    default:
      throw manager_fault{manager_status::failed, "not an operation of a dict"};
  }
  return std::move(out.str());
}

// ------------------------------------------------------------------ list

// Python's index rules: negative counts from the end; out of range is an IndexError.
std::size_t element_at(const list_object& l, std::int64_t i, const char* message) {
  const auto n = static_cast<std::int64_t>(l.items.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n) throw manager_fault{manager_status::index_error, message};
  return static_cast<std::size_t>(i);
}

// list.insert's rule: clamped to [0, size].
std::size_t insert_position(const list_object& l, std::int64_t i) {
  const auto n = static_cast<std::int64_t>(l.items.size());
  if (i < 0) i = std::max<std::int64_t>(0, i + n);
  return static_cast<std::size_t>(std::min(i, n));
}

std::string list_pop(list_object& l, std::int64_t i) {
  if (l.items.empty()) throw manager_fault{manager_status::index_error, "pop from empty list"};
  const std::size_t at = element_at(l, i, "pop index out of range");
  std::string v = std::move(l.items[at]);
  l.items.erase(l.items.begin() + static_cast<std::ptrdiff_t>(at));
  return v;
}

std::optional<std::size_t> find_value(const list_object& l, std::string_view v) {
  auto it = std::find(l.items.begin(), l.items.end(), v);
  if (it == l.items.end()) return std::nullopt;
  return static_cast<std::size_t>(it - l.items.begin());
}

void append_values(list_object& l, wire_reader& in) {
  for (auto& v : in.byte_list()) l.items.push_back(std::move(v));
}

std::string list_call(list_object& l, manager_op op, wire_reader& in) {
  auto out = ok_reply();
  switch (op) {
    case manager_op::list_size:
      out.u64(l.items.size());
      break;
    case manager_op::list_get:
      out.bytes(l.items[element_at(l, in.i64(), "list index out of range")]);
      break;
    case manager_op::list_set: {
      const std::size_t at = element_at(l, in.i64(), "list assignment index out of range");
      l.items[at].assign(in.bytes());
      break;
    }
    case manager_op::list_erase: {
      const std::size_t at = element_at(l, in.i64(), "list assignment index out of range");
      l.items.erase(l.items.begin() + static_cast<std::ptrdiff_t>(at));
      break;
    }
    case manager_op::list_append:
      l.items.emplace_back(in.bytes());
      break;
    case manager_op::list_extend:
      append_values(l, in);
      break;
    case manager_op::list_insert: {
      const std::size_t at = insert_position(l, in.i64());
      l.items.emplace(l.items.begin() + static_cast<std::ptrdiff_t>(at), in.bytes());
      break;
    }
    case manager_op::list_pop:
      out.bytes(list_pop(l, in.i64()));
      break;
    case manager_op::list_index: {
      auto at = find_value(l, in.bytes());
      if (!at) throw manager_fault{manager_status::value_error, "list.index(x): x not in list"};
      out.u64(*at);
      break;
    }
    case manager_op::list_count: {
      const auto v = in.bytes();
      out.u64(static_cast<std::uint64_t>(std::count(l.items.begin(), l.items.end(), v)));
      break;
    }
    case manager_op::list_contains:
      out.u64(find_value(l, in.bytes()) ? 1 : 0);
      break;
    case manager_op::list_remove: {
      auto at = find_value(l, in.bytes());
      if (!at) throw manager_fault{manager_status::value_error, "list.remove(x): x not in list"};
      l.items.erase(l.items.begin() + static_cast<std::ptrdiff_t>(*at));
      break;
    }
    case manager_op::list_reverse:
      std::reverse(l.items.begin(), l.items.end());
      break;
    case manager_op::list_clear:
      l.items.clear();
      break;
    case manager_op::list_copy:
      put_list(out, l.items);
      break;
    case manager_op::list_assign:
      l.items.clear();
      append_values(l, in);
      break;
    default:
      throw manager_fault{manager_status::failed, "not an operation of a list"};
  }
  return std::move(out.str());
}

// ------------------------------------------------------------------ namespace

std::string namespace_call(namespace_object& ns, manager_op op, wire_reader& in) {
  auto out = ok_reply();
  auto& attrs = ns.attributes;
  auto missing = [](std::string_view name) {
    return manager_fault{manager_status::attribute_error,
                         "'Namespace' object has no attribute '" + std::string(name) + "'"};
  };
  switch (op) {
    case manager_op::ns_get: {
      const auto name = in.bytes();
      auto it = attrs.find(name);
      if (it == attrs.end()) throw missing(name);
      out.bytes(it->second.first).bytes(it->second.second);
      break;
    }
    case manager_op::ns_set: {
      std::string name(in.bytes());
      std::string type(in.bytes());
      attrs.insert_or_assign(std::move(name), std::pair{std::move(type), std::string(in.bytes())});
      break;
    }
    case manager_op::ns_erase: {
      const auto name = in.bytes();
      auto it = attrs.find(name);
      if (it == attrs.end()) throw missing(name);
      attrs.erase(it);
      break;
    }
    case manager_op::ns_names:
      out.u64(attrs.size());
      for (const auto& [name, value] : attrs) out.bytes(name);
      break;
    default:
      throw manager_fault{manager_status::failed, "not an operation of a namespace"};
  }
  return std::move(out.str());
}

// ------------------------------------------------------------------ queue

bool is_blocking(manager_op op) noexcept {
  return op == manager_op::queue_put || op == manager_op::queue_get || op == manager_op::queue_join;
}

std::string queue_call(queue_object& qo, manager_op op) {
  auto out = ok_reply();
  auto& q = qo.q;
  switch (op) {
    case manager_op::queue_qsize:
      out.u64(q.qsize());
      break;
    case manager_op::queue_empty:
      out.u64(q.empty() ? 1 : 0);
      break;
    case manager_op::queue_full:
      out.u64(q.full() ? 1 : 0);
      break;
    case manager_op::queue_task_done:
      try {
        q.task_done();
      } catch (const concur::value_error& e) {
        throw manager_fault{manager_status::value_error, e.what()};
      }
      break;
    default:
      throw manager_fault{manager_status::failed, "not an operation of a queue"};
  }
  return std::move(out.str());
}

aio::task<std::string> queue_put(queue_object& qo, std::int64_t ns, std::string value) {
  try {
    if (ns == 0) {
      qo.q.put_nowait(std::move(value));
    } else if (ns < 0) {
      co_await qo.q.put(std::move(value));
    } else {
      co_await aio::wait_for(qo.q.put(std::move(value)), std::chrono::nanoseconds(ns));
    }
  } catch (const aio::queue_full&) {
    throw manager_fault{manager_status::full, "queue is full"};
  } catch (const concur::timeout_error&) {
    throw manager_fault{manager_status::full, "queue is full"};
  }
  co_return std::move(ok_reply().str());
}

aio::task<std::string> queue_get(queue_object& qo, std::int64_t ns) {
  std::string item;
  try {
    if (ns == 0) {
      item = qo.q.get_nowait();
    } else if (ns < 0) {
      item = co_await qo.q.get();
    } else {
      item = co_await aio::wait_for(qo.q.get(), std::chrono::nanoseconds(ns));
    }
  } catch (const aio::queue_empty&) {
    throw manager_fault{manager_status::empty, "queue is empty"};
  } catch (const concur::timeout_error&) {
    throw manager_fault{manager_status::empty, "queue is empty"};
  }
  co_return std::move(ok_reply().bytes(item).str());
}

aio::task<std::string> queue_join(queue_object& qo) {
  co_await qo.q.join();
  co_return std::move(ok_reply().str());
}

// ------------------------------------------------------------------ the server

// One length-prefixed frame (as mp's send_frame writes them); nullopt at a clean end.
aio::task<std::optional<std::string>> read_frame(net::stream_reader& r, std::uint64_t max_frame) {
  for (;;) {
    const auto b = r.buffered();
    if (b.size() >= 8) {
      std::uint64_t len = 0;
      std::memcpy(&len, b.data(), 8);
      if (len > max_frame) throw error("concur::mp: message too long for the manager");
      if (b.size() - 8 >= len) {
        std::string frame(b.substr(8, static_cast<std::size_t>(len)));
        r.consume(8 + static_cast<std::size_t>(len));
        co_return frame;
      }
    }
    if (!co_await r.fill()) {
      if (r.buffered().empty()) co_return std::nullopt;
      throw error("concur::mp: connection closed in the middle of a message");
    }
  }
}

// One write for head and body: the proxy wakes once, for the whole reply.
void write_frame(net::stream_writer& w, std::string_view body) {
  const std::uint64_t len = body.size();
  std::string frame(8 + body.size(), '\0');
  std::memcpy(frame.data(), &len, 8);
  std::memcpy(frame.data() + 8, body.data(), body.size());
  w.write(frame);
}

// The proxy never writes while it waits for a reply: anything on its connection now (in
// practice its end of file: the process died or gave up) ends the wait.
aio::task<void> cancel_on_hangup(net::stream_reader r, aio::task_handle<std::string> op) {
  co_await r.fill();
  op.cancel();
}

bool same_key(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;  // constant time: the key's bytes are not told by timing
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

class manager_server {
  static constexpr std::uint64_t max_request = std::uint64_t{1} << 40;

 public:
  explicit manager_server(std::string authkey) : authkey_(std::move(authkey)) {}

  aio::task<void> serve(unique_fd listener) {
    net::client_connected_cb handler = [this](net::stream_reader r, net::stream_writer w) {
      return on_client(std::move(r), std::move(w));
    };
    server_ = co_await net::start_server(std::move(handler), std::move(listener));
    co_await server_.serve_forever();
  }

 private:
  aio::task<void> on_client(net::stream_reader r, net::stream_writer w) {
    // Before the key, a peer may be anyone on this machine: it gets no room to fill.
    auto hello = co_await read_frame(r, 1024);
    if (!hello || !same_key(*hello, authkey_)) co_return;  // closing is the whole answer
    write_frame(w, ok_reply().str());
    while (auto request = co_await read_frame(r, max_request)) {
      std::string reply;
      try {
        reply = co_await handle(*request, r);
      } catch (const manager_fault& f) {
        reply = fault_reply(f);
      } catch (const aio::cancelled_error&) {
        throw;
      } catch (const std::exception& e) {
        reply = fault_reply({manager_status::failed, e.what()});
      }
      write_frame(w, reply);
      co_await w.drain();
      if (stopping_) stop();
    }
  }

  aio::task<std::string> handle(std::string_view request, net::stream_reader& r) {
    wire_reader in(request);
    const auto op = static_cast<manager_op>(in.u8());
    const std::uint64_t id = in.u64();
    if (op == manager_op::create) co_return create(in);
    if (op == manager_op::shutdown) {
      stopping_ = true;
      co_return std::move(ok_reply().str());
    }
    managed_object& object = find(id);
    if (auto* q = std::get_if<std::unique_ptr<queue_object>>(&object); q && is_blocking(op)) {
      co_return co_await blocking_queue_call(**q, op, in, r);
    }
    co_return call(object, op, in);
  }

  struct watched {
    std::string reply;
    bool proxy_gone;  // the reply has nobody to go to
  };

  // Runs `op` as a task of its own, cancelled when the proxy's connection ends first.
  static aio::task<watched> unless_hung_up(aio::task<std::string> op, net::stream_reader& r) {
    auto running = aio::create_task(std::move(op));
    auto watch = aio::create_task(cancel_on_hangup(r, running));
    std::exception_ptr failure;
    std::string reply;
    try {
      reply = co_await running;
    } catch (const aio::cancelled_error&) {
      // The proxy went away (or the server is stopping): this connection is over.
      watch.cancel();
      throw;
    } catch (...) {
      failure = std::current_exception();
    }
    // A hang-up that arrived in the same turn as what completed the operation reaches the
    // watcher by the next turn.
    co_await aio::sleep(0);
    const bool gone = watch.done();
    watch.cancel();
    try {
      co_await watch;  // off the read side before the next request is read
    } catch (const aio::cancelled_error&) {
    }
    if (failure) std::rethrow_exception(failure);
    co_return watched{std::move(reply), gone};
  }

  // A blocking get, put or join. An item taken for a proxy that vanished at that instant goes
  // back to the queue (at its end: the only place a bounded queue can take it back) rather
  // than into a closed connection.
  static aio::task<std::string> blocking_queue_call(queue_object& q, manager_op op, wire_reader& in,
                                                    net::stream_reader& r) {
    if (op == manager_op::queue_join) {
      auto join = queue_join(q);
      co_return (co_await unless_hung_up(std::move(join), r)).reply;
    }
    const std::int64_t ns = in.i64();
    if (ns == 0) {  // put_nowait / get_nowait: nothing to wait for, nothing to watch
      if (op == manager_op::queue_get) co_return co_await queue_get(q, 0);
      std::string value(in.bytes());
      co_return co_await queue_put(q, 0, std::move(value));
    }
    if (op == manager_op::queue_put) {
      std::string value(in.bytes());  // named: see net/streams.hpp on GCC 12 and temporaries
      auto put = queue_put(q, ns, std::move(value));
      co_return (co_await unless_hung_up(std::move(put), r)).reply;
    }
    auto get = queue_get(q, ns);
    auto got = co_await unless_hung_up(std::move(get), r);
    if (got.proxy_gone) {
      wire_reader reply(got.reply);
      reply.u8();
      co_await q.q.put(std::string(reply.bytes()));
    }
    co_return std::move(got.reply);
  }

  static std::string call(managed_object& object, manager_op op, wire_reader& in) {
    return std::visit(
        [&](auto& o) -> std::string {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, ordered_dict>) {
            return dict_call(o, op, in);
          } else if constexpr (std::is_same_v<T, list_object>) {
            return list_call(o, op, in);
          } else if constexpr (std::is_same_v<T, namespace_object>) {
            return namespace_call(o, op, in);
          } else {
            return queue_call(*o, op);
          }
        },
        object);
  }

  std::string create(wire_reader& in) {
    const auto kind = static_cast<manager_kind>(in.u8());
    const std::uint64_t argument = in.u64();
    const std::uint64_t id = next_id_++;
    switch (kind) {
      case manager_kind::dict:
        objects_.emplace(id, ordered_dict{});
        break;
      case manager_kind::list:
        objects_.emplace(id, list_object{});
        break;
      case manager_kind::queue:
        objects_.emplace(id, std::make_unique<queue_object>(static_cast<std::size_t>(argument)));
        break;
      case manager_kind::namespace_:
        objects_.emplace(id, namespace_object{});
        break;
      default:
        throw manager_fault{manager_status::failed, "unknown kind of object"};
    }
    return std::move(ok_reply().u64(id).str());
  }

  managed_object& find(std::uint64_t id) {
    auto it = objects_.find(id);
    if (it == objects_.end())
      throw manager_fault{manager_status::failed, "no object " + std::to_string(id)};
    return it->second;
  }

  // After the shutdown reply is out: stop accepting, drop every connection (a proxy parked in
  // a get sees its connection end), and let serve() return.
  void stop() {
    server_.close();
    server_.close_clients();
  }

  std::string authkey_;
  net::server server_;
  std::unordered_map<std::uint64_t, managed_object> objects_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
};

}  // namespace

void manager_serve(manager_listener listener, std::string authkey) {
  // Ctrl-C reaches the whole foreground process group; the manager must outlive it so that the
  // program can still use its objects while it cleans up, and stops at shutdown() (Python's
  // manager ignores SIGINT too, bpo-36368).
  ::signal(SIGINT, SIG_IGN);
  manager_server server(std::move(authkey));
  aio::run(server.serve(std::move(listener.fd)));
}

}  // namespace concur::mp::detail
