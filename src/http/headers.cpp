#include "concur/http/headers.hpp"

#include <algorithm>

namespace concur::http {

namespace {

// ASCII lower case of every byte: a lookup instead of a branch per character, since field
// names are compared on every request.
struct lower_table {
  unsigned char of[256];
};

constexpr lower_table make_lower_table() {
  lower_table t{};
  for (unsigned c = 0; c < 256; ++c)
    t.of[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return t;
}

constexpr lower_table lower = make_lower_table();

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned>(lower.of[static_cast<unsigned char>(a[i])] ^
                                  lower.of[static_cast<unsigned char>(b[i])]);
  return diff == 0;
}

headers::headers(std::initializer_list<value_type> init) : fields_(init) {}

std::optional<std::string_view> headers::get(std::string_view name) const noexcept {
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view headers::get(std::string_view name, std::string_view fallback) const noexcept {
  auto v = get(name);
  return v ? *v : fallback;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) out.emplace_back(v);
  }
  return out;
}

bool headers::contains(std::string_view name) const noexcept { return get(name).has_value(); }

void headers::set(std::string_view name, std::string_view value) {
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const value_type& f) { return iequals(f.first, name); });
  if (first == fields_.end()) {
    fields_.emplace_back(std::string(name), std::string(value));
    return;
  }
  first->second.assign(value);
  auto rest = std::remove_if(std::next(first), fields_.end(),
                             [&](const value_type& f) { return iequals(f.first, name); });
  fields_.erase(rest, fields_.end());
}

void headers::add(std::string_view name, std::string_view value) {
  fields_.emplace_back(std::string(name), std::string(value));
}

void headers::set_default(std::string_view name, std::string_view value) {
  if (!contains(name)) add(name, value);
}

std::size_t headers::erase(std::string_view name) {
  auto rest = std::remove_if(fields_.begin(), fields_.end(),
                             [&](const value_type& f) { return iequals(f.first, name); });
  auto n = static_cast<std::size_t>(std::distance(rest, fields_.end()));
  fields_.erase(rest, fields_.end());
  return n;
}

void headers::update(const headers& other) {
  for (const auto& [k, v] : other) set(k, v);
}

bool operator==(const headers& a, const headers& b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!iequals(a.fields_[i].first, b.fields_[i].first) ||
        a.fields_[i].second != b.fields_[i].second)
      return false;
  }
  return true;
}

}  // namespace concur::http
