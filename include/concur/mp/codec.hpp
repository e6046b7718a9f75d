#pragma once
// How values cross the process boundary: cereal binary archives. Standard types work as they
// are; a user type becomes sendable through cereal's usual serialize()/save()/load() member or
// free function. mp::dumps/mp::loads are the counterpart of pickle.dumps/pickle.loads.
#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <iterator>
#include <ostream>
#include <span>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "concur/mp/errors.hpp"

namespace concur::mp {

// True for the types mp can send to another process and back.
template <class T>
inline constexpr bool is_sendable_v =
    !std::is_pointer_v<T> && !std::is_reference_v<T> && !std::is_member_pointer_v<T> &&
    std::is_default_constructible_v<T> &&
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

template <class T>
concept sendable = is_sendable_v<T>;

namespace detail {

// Lets mp::connection and mp::queue travel as arguments of mp::process / pool initializers:
// their descriptors ride beside the bytes (SCM_RIGHTS) and the bytes hold an index.
struct fd_table {
  bool allow_fds = false;   // false for pool tasks: their workers already run
  std::vector<int> out;     // descriptors to pass, filled while saving
  std::span<const int> in;  // descriptors received, used while loading
  std::vector<bool> taken;  // which of `in` a loaded object now owns

  std::size_t put(int fd);
  int take(std::size_t index);
  void close_untaken() noexcept;
};

// cereal archives that carry the descriptor table. cereal calls serialization functions with
// the base archive type, so mp::connection and mp::queue find the table with dynamic_cast.
class output_archive : public cereal::BinaryOutputArchive {
 public:
  output_archive(std::ostream& os, fd_table& t) : cereal::BinaryOutputArchive(os), fds(t) {}
  fd_table& fds;
};

class input_archive : public cereal::BinaryInputArchive {
 public:
  input_archive(std::istream& is, fd_table& t) : cereal::BinaryInputArchive(is), fds(t) {}
  fd_table& fds;
};

// Appends to a std::string without the copy that std::ostringstream::str() makes.
class string_sink final : public std::streambuf {
 public:
  explicit string_sink(std::string& s) : s_(s) {}

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      s_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* p, std::streamsize n) override {
    s_.append(p, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::string& s_;
};

// Reads a string_view in place.
class view_source final : public std::streambuf {
 public:
  explicit view_source(std::string_view v) {
    char* b = const_cast<char*>(v.data());  // get area only: never written through
    setg(b, b, b + v.size());
  }
};

// A readable message for the static_assert, with the offending type in the instantiation.
template <class T>
constexpr void check_sendable() {
  static_assert(!std::is_pointer_v<T>,
                "concur::mp: a raw pointer cannot be sent to another process (the address means "
                "nothing there); send the value, a std::string, or a std::vector instead");
  static_assert(is_sendable_v<T> || std::is_pointer_v<T>,
                "concur::mp: this argument or result type cannot be sent to another process: give "
                "it a cereal serialize(Archive&) member or free function (or save/load) and make "
                "it default-constructible");
}

template <class... T>
void encode_into(std::string& out, fd_table& fds, const T&... values) {
  string_sink sink(out);
  std::ostream os(&sink);
  output_archive ar(os, fds);
  ar(values...);
}

template <class... T>
void decode_from(std::string_view in, fd_table& fds, T&... values) {
  view_source src(in);
  std::istream is(&src);
  input_archive ar(is, fds);
  try {
    ar(values...);
  } catch (const cereal::Exception& e) {
    throw error(std::string("concur::mp: cannot decode a value (truncated or corrupt bytes): ") +
                e.what());
  } catch (const std::length_error&) {
    throw error("concur::mp: cannot decode a value (corrupt length)");
  }
}

// A map's chunk of items or results. Chunks of arithmetic values (bools as one byte each) travel
// as a 64-bit count and then the raw elements, the layout cereal gives them too, but written and
// read directly: cereal builds a std::ostream per message and moves a std::vector<bool> one
// element at a time, which cost mp_primes more than its parallel speed-up could spare.
template <class T>
inline constexpr bool raw_chunk_v = std::is_arithmetic_v<T>;

// Appends a raw chunk of exactly `n` elements, pushed one by one, to `out`.
template <class T>
class raw_chunk_writer {
  static_assert(raw_chunk_v<T>);

 public:
  raw_chunk_writer(std::string& out, std::size_t n) : out_(out) {
    const std::uint64_t count = n;
    out_.reserve(out_.size() + sizeof count + n * element_size);
    out_.append(reinterpret_cast<const char*>(&count), sizeof count);
  }
  void push(T v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_.push_back(v ? '\1' : '\0');
    } else {
      out_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  void append(std::span<const T> values) requires(!std::is_same_v<T, bool>) {
    out_.append(reinterpret_cast<const char*>(values.data()), values.size_bytes());
  }

  static constexpr std::size_t element_size = std::is_same_v<T, bool> ? 1 : sizeof(T);

 private:
  std::string& out_;
};

// The elements of a raw chunk, checked to be exactly as long as its count says.
template <class T>
std::string_view raw_chunk_elements(std::string_view in, std::size_t& n) {
  constexpr std::size_t size = raw_chunk_writer<T>::element_size;
  std::uint64_t count = 0;
  if (in.size() < sizeof count) throw error("concur::mp: cannot decode a chunk (truncated bytes)");
  std::memcpy(&count, in.data(), sizeof count);
  in.remove_prefix(sizeof count);
  if (count > in.size() / size || count * size != in.size())
    throw error("concur::mp: cannot decode a chunk (its length does not match its count)");
  n = static_cast<std::size_t>(count);
  return in;
}

template <class T>
void encode_chunk(std::string& out, fd_table& fds, const std::vector<T>& values) {
  if constexpr (std::is_same_v<T, bool>) {
    raw_chunk_writer<bool> w(out, values.size());
    for (const bool v : values) w.push(v);
  } else if constexpr (raw_chunk_v<T>) {
    raw_chunk_writer<T>(out, values.size()).append(values);
  } else {
    encode_into(out, fds, values);
  }
}

// Decodes a chunk written by encode_chunk (or raw_chunk_writer) and appends it to `into`.
template <class T>
void decode_chunk_append(std::string_view in, fd_table& fds, std::vector<T>& into) {
  if constexpr (raw_chunk_v<T>) {
    std::size_t n = 0;
    const std::string_view bytes = raw_chunk_elements<T>(in, n);
    if constexpr (std::is_same_v<T, bool>) {
      into.reserve(into.size() + n);
      for (const char b : bytes) into.push_back(b != '\0');
    } else {
      const std::size_t old = into.size();
      into.resize(old + n);
      std::memcpy(into.data() + old, bytes.data(), bytes.size());
    }
  } else if (into.empty()) {
    decode_from(in, fds, into);
  } else {
    std::vector<T> part;
    decode_from(in, fds, part);
    into.insert(into.end(), std::make_move_iterator(part.begin()),
                std::make_move_iterator(part.end()));
  }
}

}  // namespace detail

// pickle.dumps: the bytes mp sends for a value.
template <class T>
std::string dumps(const T& value) {
  detail::check_sendable<T>();
  std::string out;
  detail::fd_table fds;
  detail::encode_into(out, fds, value);
  return out;
}

// pickle.loads: throws mp::error when the bytes are short or corrupt.
template <class T>
T loads(std::string_view bytes) {
  detail::check_sendable<T>();
  T value{};
  detail::fd_table fds;
  detail::decode_from(bytes, fds, value);
  return value;
}

}  // namespace concur::mp
