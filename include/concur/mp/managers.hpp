#pragma once
// multiprocessing.managers: a server process that holds dicts, lists, queues and namespaces, and
// proxies through which any process changes them. A proxy is a plain value (the server's
// address, a key and an object id): pass it to mp::process, to a pool task, put it in a queue or
// in another managed object. Each call on a proxy is one request to the server and waits for
// its reply, so every operation is atomic, as in Python.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "concur/core/clock.hpp"
#include "concur/core/error.hpp"
#include "concur/mp/codec.hpp"
#include "concur/mp/detail/call.hpp"
#include "concur/mp/detail/manager_wire.hpp"
#include "concur/mp/errors.hpp"
#include "concur/mp/process.hpp"

namespace concur::mp {

namespace detail {

template <class T>
std::string encode_value(const T& value) {
  std::string out;
  fd_table none;
  encode_into(out, none, value);
  return out;
}

template <class T>
T decode_value(std::string_view bytes) {
  T value{};
  fd_table none;
  decode_from(bytes, none, value);
  return value;
}

template <class T>
void put_values(wire_writer& w, const std::vector<T>& values) {
  w.u64(values.size());
  for (const auto& v : values) w.bytes(encode_value(v));
}

template <class T>
std::vector<T> decode_values(std::string_view reply) {
  wire_reader r(reply);
  std::vector<T> out;
  for (const auto& b : r.byte_list()) out.push_back(decode_value<T>(b));
  return out;
}

// A blocking timeout on the wire: -1 for "forever", otherwise nanoseconds rounded up.
template <class Rep, class Period>
std::int64_t wire_timeout(std::chrono::duration<Rep, Period> timeout) {
  if (timeout < timeout.zero())
    throw value_error("concur::mp: a queue timeout must be a non-negative duration");
  const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(saturating_ceil(timeout));
  return d.count();
}

// What every proxy is: the manager's address and key, and which object it means.
class proxy_base {
 public:
  proxy_base() = default;
  proxy_base(std::shared_ptr<manager_client> client, std::uint64_t id) noexcept
      : client_(std::move(client)), id_(id) {}

  // The object's id in its manager (Python's BaseProxy._id).
  std::uint64_t id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return client_ != nullptr; }

  template <class Archive>
  void save(Archive& ar) const {
    std::string address;
    std::string key;
    if (client_) {
      address = client_->address();
      key = client_->authkey();
    }
    ar(address, key, id_);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::string address;
    std::string key;
    ar(address, key, id_);
    client_ = address.empty()
                  ? nullptr
                  : std::make_shared<manager_client>(std::move(address), std::move(key));
  }

 protected:
  wire_writer request(manager_op op) const {
    wire_writer w;
    w.u8(static_cast<std::uint8_t>(op)).u64(id_);
    return w;
  }
  std::string call(wire_writer& w) const {
    if (!client_)
      throw invalid_state_error("concur::mp: this proxy is empty (default-constructed or moved)");
    return client_->call(w.str());
  }
  std::string call(manager_op op) const {
    auto w = request(op);
    return call(w);
  }
  std::uint64_t call_u64(manager_op op) const { return wire_reader(call(op)).u64(); }
  // A request whose reply is one value.
  template <class T>
  T call_value(wire_writer& w) const {
    const std::string reply = call(w);
    return decode_value<T>(wire_reader(reply).bytes());
  }

 private:
  std::shared_ptr<manager_client> client_;
  std::uint64_t id_ = 0;
};

}  // namespace detail

// A proxy of a dict in the manager (Python's DictProxy): keys keep their insertion order. Keys
// are compared by their encoded bytes, which is equality for the standard types except
// floating-point keys (-0.0 and 0.0 differ, NaN equals itself) and unordered containers.
template <sendable K, sendable V>
class dict_proxy : public detail::proxy_base {
 public:
  using proxy_base::proxy_base;

  // d[k] = v
  void set(const K& key, const V& value) {
    auto w = request(detail::manager_op::dict_set);
    w.bytes(detail::encode_value(key)).bytes(detail::encode_value(value));
    call(w);
  }
  // d[k]: std::out_of_range when k is missing (Python: KeyError).
  V at(const K& key) const {
    auto found = get(key);
    if (!found) throw std::out_of_range("concur::mp: dict has no such key");
    return std::move(*found);
  }
  // d.get(k): nullopt when k is missing.
  std::optional<V> get(const K& key) const {
    auto w = request(detail::manager_op::dict_get);
    w.bytes(detail::encode_value(key));
    const std::string reply = call(w);
    detail::wire_reader r(reply);
    if (r.u8() == 0) return std::nullopt;
    return detail::decode_value<V>(r.bytes());
  }
  // d.get(k, default)
  V get(const K& key, const V& fallback) const {
    auto found = get(key);
    return found ? std::move(*found) : fallback;
  }
  // k in d
  bool contains(const K& key) const {
    auto w = request(detail::manager_op::dict_contains);
    w.bytes(detail::encode_value(key));
    return detail::wire_reader(call(w)).u8() != 0;
  }
  // del d[k] without the KeyError: false when k was missing.
  bool erase(const K& key) {
    auto w = request(detail::manager_op::dict_erase);
    w.bytes(detail::encode_value(key));
    return detail::wire_reader(call(w)).u8() != 0;
  }
  // d.pop(k): std::out_of_range when k is missing (KeyError).
  V pop(const K& key) {
    auto w = request(detail::manager_op::dict_pop);
    w.bytes(detail::encode_value(key));
    return call_value<V>(w);
  }
  // d.pop(k, default)
  V pop(const K& key, const V& fallback) {
    try {
      return pop(key);
    } catch (const std::out_of_range&) {
      return fallback;
    }
  }
  // d.popitem(): the last inserted pair; std::out_of_range when empty (KeyError).
  std::pair<K, V> popitem() {
    const std::string reply = call(detail::manager_op::dict_popitem);
    detail::wire_reader r(reply);
    K key = detail::decode_value<K>(r.bytes());
    return {std::move(key), detail::decode_value<V>(r.bytes())};
  }
  // d.setdefault(k, v): the value under k, inserting v first when k is missing.
  V setdefault(const K& key, const V& value) {
    auto w = request(detail::manager_op::dict_setdefault);
    w.bytes(detail::encode_value(key)).bytes(detail::encode_value(value));
    return call_value<V>(w);
  }
  // d.update(pairs), in one request.
  void update(const std::vector<std::pair<K, V>>& items) {
    auto w = request(detail::manager_op::dict_update);
    w.u64(items.size());
    for (const auto& [k, v] : items)
      w.bytes(detail::encode_value(k)).bytes(detail::encode_value(v));
    call(w);
  }
  // len(d)
  std::size_t size() const { return call_u64(detail::manager_op::dict_size); }
  bool empty() const { return size() == 0; }
  // list(d.keys()), list(d.values()), list(d.items()), in insertion order. items() is also
  // d.copy(): one consistent snapshot.
  std::vector<K> keys() const {
    return detail::decode_values<K>(call(detail::manager_op::dict_keys));
  }
  std::vector<V> values() const {
    return detail::decode_values<V>(call(detail::manager_op::dict_values));
  }
  std::vector<std::pair<K, V>> items() const {
    const std::string reply = call(detail::manager_op::dict_items);
    detail::wire_reader r(reply);
    const auto flat = r.byte_list();
    std::vector<std::pair<K, V>> out;
    out.reserve(flat.size() / 2);
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2)
      out.emplace_back(detail::decode_value<K>(flat[i]), detail::decode_value<V>(flat[i + 1]));
    return out;
  }
  void clear() { call(detail::manager_op::dict_clear); }
};

// A proxy of a list in the manager (Python's ListProxy). Indexes may be negative, counted from
// the end, as in Python; values are compared (index, count, remove, contains) by their encoded
// bytes, as dict_proxy compares keys.
template <sendable T>
class list_proxy : public detail::proxy_base {
 public:
  using proxy_base::proxy_base;

  std::size_t size() const { return call_u64(detail::manager_op::list_size); }
  bool empty() const { return size() == 0; }
  // l[i]: std::out_of_range when out of range (IndexError).
  T at(std::int64_t index) const {
    auto w = request(detail::manager_op::list_get);
    w.i64(index);
    return call_value<T>(w);
  }
  // l[i] = v
  void set(std::int64_t index, const T& value) {
    auto w = request(detail::manager_op::list_set);
    w.i64(index).bytes(detail::encode_value(value));
    call(w);
  }
  // del l[i]
  void erase(std::int64_t index) {
    auto w = request(detail::manager_op::list_erase);
    w.i64(index);
    call(w);
  }
  void append(const T& value) {
    auto w = request(detail::manager_op::list_append);
    w.bytes(detail::encode_value(value));
    call(w);
  }
  // l.extend(values), in one request.
  void extend(const std::vector<T>& values) {
    auto w = request(detail::manager_op::list_extend);
    detail::put_values(w, values);
    call(w);
  }
  // l.insert(i, v): i is clamped to the list, as in Python.
  void insert(std::int64_t index, const T& value) {
    auto w = request(detail::manager_op::list_insert);
    w.i64(index).bytes(detail::encode_value(value));
    call(w);
  }
  // l.pop(i=-1): std::out_of_range when empty or out of range (IndexError).
  T pop(std::int64_t index = -1) {
    auto w = request(detail::manager_op::list_pop);
    w.i64(index);
    return call_value<T>(w);
  }
  // l.index(v): concur::value_error when absent (ValueError).
  std::size_t index(const T& value) const {
    return call_with_value_u64(detail::manager_op::list_index, value);
  }
  std::size_t count(const T& value) const {
    return call_with_value_u64(detail::manager_op::list_count, value);
  }
  // v in l
  bool contains(const T& value) const {
    return call_with_value_u64(detail::manager_op::list_contains, value) != 0;
  }
  // l.remove(v): the first equal value; concur::value_error when absent.
  void remove(const T& value) { call_with_value_u64(detail::manager_op::list_remove, value); }
  void reverse() { call(detail::manager_op::list_reverse); }
  void clear() { call(detail::manager_op::list_clear); }
  // l[:] -- one consistent snapshot (iterate over it; sort it and assign() it back).
  std::vector<T> copy() const {
    return detail::decode_values<T>(call(detail::manager_op::list_copy));
  }
  // l[:] = values
  void assign(const std::vector<T>& values) {
    auto w = request(detail::manager_op::list_assign);
    detail::put_values(w, values);
    call(w);
  }

 private:
  std::uint64_t call_with_value_u64(detail::manager_op op, const T& value) const {
    auto w = request(op);
    w.bytes(detail::encode_value(value));
    const std::string reply = call(w);
    detail::wire_reader r(reply);
    return r.at_end() ? 0 : r.u64();
  }
};

// A proxy of a queue.Queue in the manager (Manager().Queue(maxsize)): put blocks while it is
// full, get while it is empty, and task_done()/join() count finished items as Python's do.
// The wait happens in the server; a process killed while it waits takes nothing with it.
template <sendable T>
class queue_proxy : public detail::proxy_base {
 public:
  using proxy_base::proxy_base;

  void put(const T& value) { put_ns(value, -1); }
  // mp::queue_full once `timeout` has passed.
  template <class Rep, class Period>
  void put(const T& value, std::chrono::duration<Rep, Period> timeout) {
    put_ns(value, detail::wire_timeout(timeout));
  }
  void put_nowait(const T& value) { put_ns(value, 0); }

  T get() { return get_ns(-1); }
  // mp::queue_empty once `timeout` has passed.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    return get_ns(detail::wire_timeout(timeout));
  }
  T get_nowait() { return get_ns(0); }

  std::size_t qsize() const { return call_u64(detail::manager_op::queue_qsize); }
  bool empty() const { return call_u64(detail::manager_op::queue_empty) != 0; }
  bool full() const { return call_u64(detail::manager_op::queue_full) != 0; }
  // concur::value_error when called more often than items were put.
  void task_done() { call(detail::manager_op::queue_task_done); }
  // Waits until every item put has been marked done.
  void join() { call(detail::manager_op::queue_join); }

 private:
  void put_ns(const T& value, std::int64_t ns) {
    auto w = request(detail::manager_op::queue_put);
    w.i64(ns).bytes(detail::encode_value(value));
    call(w);
  }
  T get_ns(std::int64_t ns) {
    auto w = request(detail::manager_op::queue_get);
    w.i64(ns);
    return call_value<T>(w);
  }
};

// A proxy of a Namespace in the manager: named attributes of any sendable type. Python's
// `ns.x = 1` / `ns.x` / `del ns.x` / `hasattr(ns, "x")` are set / get / erase / contains.
// Each attribute remembers its type; get<T> with another T is a concur::value_error.
class namespace_proxy : public detail::proxy_base {
 public:
  using proxy_base::proxy_base;

  template <sendable T>
  void set(std::string_view name, const T& value) {
    auto w = request(detail::manager_op::ns_set);
    w.bytes(name).bytes(detail::demangle(typeid(T).name())).bytes(detail::encode_value(value));
    call(w);
  }
  // std::out_of_range when there is no such attribute (AttributeError).
  template <sendable T>
  T get(std::string_view name) const {
    auto w = request(detail::manager_op::ns_get);
    w.bytes(name);
    const std::string reply = call(w);
    detail::wire_reader r(reply);
    const std::string_view stored = r.bytes();
    const std::string asked = detail::demangle(typeid(T).name());
    if (stored != asked)
      throw value_error("concur::mp: namespace attribute '" + std::string(name) + "' holds a " +
                        std::string(stored) + ", not a " + asked);
    return detail::decode_value<T>(r.bytes());
  }
  bool contains(std::string_view name) const;
  // std::out_of_range when there is no such attribute.
  void erase(std::string_view name);
  // The attribute names, sorted (what Namespace's repr lists).
  std::vector<std::string> names() const;
};

// multiprocessing.Manager() (a started SyncManager): starts the server process now; shutdown()
// or the destructor stops it. The objects live as long as the manager (Python frees each one
// when its last proxy is gone; here they are freed with the server). The server listens on an
// abstract Unix socket; a connection must first present the manager's random 32-byte key,
// which only the manager and its proxies carry (Python's authkey).
class manager {
 public:
  manager();
  manager(manager&&) noexcept = default;
  manager& operator=(manager&&) noexcept;
  ~manager();

  template <sendable K, sendable V>
  dict_proxy<K, V> dict() {
    return {client_, create(detail::manager_kind::dict, 0)};
  }
  template <sendable K, sendable V>
  dict_proxy<K, V> dict(const std::vector<std::pair<K, V>>& items) {
    auto d = dict<K, V>();
    if (!items.empty()) d.update(items);
    return d;
  }
  template <sendable T>
  list_proxy<T> list() {
    return {client_, create(detail::manager_kind::list, 0)};
  }
  template <sendable T>
  list_proxy<T> list(const std::vector<T>& values) {
    auto l = list<T>();
    if (!values.empty()) l.extend(values);
    return l;
  }
  // Manager().Queue(maxsize): 0 means unbounded.
  template <sendable T>
  queue_proxy<T> queue(std::size_t maxsize = 0) {
    return {client_, create(detail::manager_kind::queue, maxsize)};
  }
  // Manager().Namespace() ("namespace" is a C++ keyword).
  namespace_proxy namespace_() { return {client_, create(detail::manager_kind::namespace_, 0)}; }

  // Stops the server: proxies fail with mp::error from then on, and a process blocked in a
  // queue's get() gets that error. Waits for the server to exit (killing it if it does not
  // within a second). Idempotent; never throws.
  void shutdown() noexcept;
  // "@name": the abstract socket the server listens on.
  std::string address() const;
  int pid() const noexcept { return server_.pid(); }

 private:
  std::uint64_t create(detail::manager_kind kind, std::uint64_t argument);

  process server_;
  std::shared_ptr<detail::manager_client> client_;
};

}  // namespace concur::mp
