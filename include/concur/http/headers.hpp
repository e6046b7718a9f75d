#pragma once
// http::headers: aiohttp's CIMultiDict / requests' CaseInsensitiveDict. Names compare without
// regard to ASCII case, insertion order is kept, a name may appear several times (Set-Cookie).
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace concur::http {

// ASCII case-insensitive equality (HTTP field names are ASCII tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

class headers {
 public:
  using value_type = std::pair<std::string, std::string>;
  using container = std::vector<value_type>;
  using const_iterator = container::const_iterator;
  using iterator = container::iterator;

  headers() = default;
  headers(std::initializer_list<value_type> init);

  // First value for `name`, or nothing.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  // First value for `name`, or `fallback`.
  std::string_view get(std::string_view name, std::string_view fallback) const noexcept;
  // Every value for `name`, in order (CIMultiDict.getall).
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept;

  // Replaces every field called `name` by one (keeps the position of the first).
  void set(std::string_view name, std::string_view value);
  // Appends a field, keeping any others with the same name.
  void add(std::string_view name, std::string_view value);
  // Sets `name` only when absent (dict.setdefault).
  void set_default(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  std::size_t erase(std::string_view name);
  // Adds or replaces each field of `other` (dict.update).
  void update(const headers& other);

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  void clear() noexcept { fields_.clear(); }
  void reserve(std::size_t n) { fields_.reserve(n); }
  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }
  iterator begin() noexcept { return fields_.begin(); }
  iterator end() noexcept { return fields_.end(); }

  // Same fields in the same order, names compared without case.
  friend bool operator==(const headers& a, const headers& b) noexcept;

 private:
  container fields_;
};

}  // namespace concur::http
