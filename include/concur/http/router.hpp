#pragma once
// http::router: aiohttp.web's UrlDispatcher without the handlers. It maps a method and a
// decoded path to a route number and the path parameters, or tells 404 from 405 (with the
// methods to list in Allow). Pure: no event loop, so the application and the mock API share it.
//
// Patterns: literal segments, whole-segment parameters "/posts/{id}", and a last segment
// "{name:.*}" that takes the rest of the path, slashes included. Method "*" matches any method.
// A GET route also answers HEAD unless a HEAD route exists for the same pattern (aiohttp's
// allow_head=True).
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "concur/http/web.hpp"

namespace concur::http {

class router {
 public:
  enum class outcome { found, not_found, method_not_allowed };
  struct match {
    outcome result = outcome::not_found;
    std::size_t route = 0;  // the id add() returned, when found
    std::string allow;      // "GET, HEAD, POST" when method_not_allowed
  };

  // Registers `method pattern`; returns its id (0, 1, 2, ... in order). Throws route_error on a
  // malformed pattern or when the same method and pattern were already added.
  std::size_t add(std::string_view method, std::string_view pattern);

  // Finds the route for `method` and the decoded `path`; fills `params` (cleared first) with the
  // path parameters of the match.
  match resolve(std::string_view method, std::string_view path, match_info_type& params) const;

  std::size_t size() const noexcept { return routes_.size(); }
  // The pattern and method route `id` was added with.
  const std::string& pattern(std::size_t id) const { return routes_.at(id).pattern; }
  const std::string& method(std::size_t id) const { return routes_.at(id).method; }

 private:
  struct segment {
    enum class kind { literal, param, tail } type;
    std::string text;  // literal text or parameter name
  };
  struct route {
    std::string method;
    std::string pattern;
    std::vector<segment> segments;
    bool is_static = false;
  };
  bool matches(const route& r, std::string_view path, match_info_type* params) const;
  static bool method_matches(std::string_view route_method, std::string_view method) noexcept;

  std::vector<route> routes_;
  // Static patterns (no parameters) to the ids of their routes, for the common exact case.
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, std::vector<std::size_t>, string_hash, std::equal_to<>> static_;
  std::vector<std::size_t> dynamic_;
};

}  // namespace concur::http
