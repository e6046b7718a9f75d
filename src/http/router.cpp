#include "concur/http/router.hpp"

#include <algorithm>

namespace concur::http {

namespace {

bool valid_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool valid_method(std::string_view m) noexcept {
  if (m == "*") return true;
  if (m.empty()) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Next segment of `path` starting after position `pos` (which is at a '/').
std::string_view next_segment(std::string_view path, std::size_t& pos) noexcept {
  std::size_t start = pos + 1;
  std::size_t end = path.find('/', start);
  if (end == std::string_view::npos) end = path.size();
  pos = end;
  return path.substr(start, end - start);
}

}  // namespace

std::size_t router::add(std::string_view method, std::string_view pattern) {
  if (!valid_method(method))
    throw route_error("route method '" + std::string(method) +
                      "' is not an upper-case token or '*'");
  if (pattern.empty() || pattern.front() != '/')
    throw route_error("route pattern '" + std::string(pattern) + "' must start with '/'");
  route r;
  r.method = std::string(method);
  r.pattern = std::string(pattern);
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    auto seg = next_segment(pattern, pos);
    if (!r.segments.empty() && r.segments.back().type == segment::kind::tail)
      throw route_error("route pattern '" + r.pattern + "': '{name:.*}' must be the last segment");
    bool has_brace = seg.find_first_of("{}") != std::string_view::npos;
    if (!has_brace) {
      r.segments.push_back({segment::kind::literal, std::string(seg)});
      continue;
    }
    if (seg.size() < 3 || seg.front() != '{' || seg.back() != '}' ||
        seg.find_first_of("{}", 1) != seg.size() - 1)
      throw route_error("route pattern '" + r.pattern + "': segment '" + std::string(seg) +
                        "' must be a whole '{name}' (or '{name:.*}' last)");
    auto inner = seg.substr(1, seg.size() - 2);
    auto kind = segment::kind::param;
    if (auto colon = inner.find(':'); colon != std::string_view::npos) {
      if (inner.substr(colon + 1) != ".*")
        throw route_error("route pattern '" + r.pattern +
                          "': only the '.*' expression is supported in '" + std::string(seg) + "'");
      inner = inner.substr(0, colon);
      kind = segment::kind::tail;
    }
    if (!valid_name(inner))
      throw route_error("route pattern '" + r.pattern + "': bad parameter name '" +
                        std::string(inner) + "'");
    for (const auto& s : r.segments) {
      if (s.type != segment::kind::literal && s.text == inner)
        throw route_error("route pattern '" + r.pattern + "': parameter '" + std::string(inner) +
                          "' appears twice");
    }
    r.segments.push_back({kind, std::string(inner)});
  }
  r.is_static = std::all_of(r.segments.begin(), r.segments.end(),
                            [](const segment& s) { return s.type == segment::kind::literal; });
  for (const auto& other : routes_) {
    if (other.method == r.method && other.pattern == r.pattern)
      throw route_error("route " + r.method + " " + r.pattern + " is already registered");
  }
  std::size_t id = routes_.size();
  if (r.is_static) {
    static_[r.pattern].push_back(id);
  } else {
    dynamic_.push_back(id);
  }
  routes_.push_back(std::move(r));
  return id;
}

bool router::matches(const route& r, std::string_view path, match_info_type* params) const {
  if (path.empty() || path.front() != '/') return false;
  std::size_t pos = 0;
  std::size_t captured = params ? params->size() : 0;
  auto fail = [&] {
    if (params) params->resize(captured);
    return false;
  };
  for (const auto& seg : r.segments) {
    if (pos >= path.size()) return fail();
    if (seg.type == segment::kind::tail) {
      if (params) params->emplace_back(seg.text, std::string(path.substr(pos + 1)));
      return true;
    }
    auto piece = next_segment(path, pos);
    if (seg.type == segment::kind::literal) {
      if (piece != seg.text) return fail();
    } else {
      if (piece.empty()) return fail();
      if (params) params->emplace_back(seg.text, std::string(piece));
    }
  }
  if (pos != path.size()) return fail();
  return true;
}

bool router::method_matches(std::string_view route_method, std::string_view method) noexcept {
  return route_method == "*" || route_method == method;
}

router::match router::resolve(std::string_view method, std::string_view path,
                              match_info_type& params) const {
  params.clear();
  match out;
  const std::vector<std::size_t>* statics = nullptr;
  if (!static_.empty()) {
    auto it = static_.find(path);
    if (it != static_.end()) statics = &it->second;
  }
  auto try_method = [&](std::string_view m) -> bool {
    if (statics) {
      for (auto id : *statics) {
        if (method_matches(routes_[id].method, m)) {
          out.result = outcome::found;
          out.route = id;
          return true;
        }
      }
    }
    for (auto id : dynamic_) {
      const auto& r = routes_[id];
      if (!method_matches(r.method, m)) continue;
      if (matches(r, path, &params)) {
        out.result = outcome::found;
        out.route = id;
        return true;
      }
    }
    return false;
  };
  if (try_method(method)) return out;
  if (method == "HEAD" && try_method("GET")) return out;

  // The path exists under other methods: 405 with the methods that would work.
  std::vector<std::string_view> allowed;
  auto note = [&](const route& r) {
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end())
      allowed.push_back(r.method);
    if (r.method == "GET" && std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end())
      allowed.push_back("HEAD");
  };
  if (statics) {
    for (auto id : *statics) note(routes_[id]);
  }
  for (auto id : dynamic_) {
    if (matches(routes_[id], path, nullptr)) note(routes_[id]);
  }
  if (allowed.empty()) return out;
  std::sort(allowed.begin(), allowed.end());
  out.result = outcome::method_not_allowed;
  for (auto m : allowed) {
    if (!out.allow.empty()) out.allow += ", ";
    out.allow += m;
  }
  return out;
}

}  // namespace concur::http
