#include <charconv>

#include "concur/http/parser.hpp"
#include "concur/http/web.hpp"

namespace concur::http {

namespace {

std::string default_text(int status) {
  return std::to_string(status) + ": " + std::string(status_reason(status));
}

}  // namespace

web_exception::web_exception(int status, std::string text)
    : error(text.empty() ? default_text(status) : std::to_string(status) + ": " + text),
      status_(status),
      text_(text.empty() ? default_text(status) : std::move(text)) {}

std::string_view web_request::query_string() const noexcept {
  if (query_pos_ == std::string::npos) return {};
  return std::string_view(target_).substr(query_pos_ + 1);
}

const query_params& web_request::query() const {
  if (!query_) {
    try {
      query_ = parse_query(query_string());
    } catch (const invalid_url_error& e) {
      throw web_exception(400, std::string("bad query string: ") + e.what());
    }
  }
  return *query_;
}

std::optional<std::string_view> web_request::query(std::string_view name) const {
  for (const auto& [k, v] : query()) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view web_request::match_info(std::string_view name) const {
  for (const auto& [k, v] : match_info_) {
    if (k == name) return v;
  }
  throw web_exception(500, "route has no path parameter '" + std::string(name) + "'");
}

nlohmann::json web_request::json() const {
  try {
    return nlohmann::json::parse(body_);
  } catch (const nlohmann::json::exception& e) {
    throw web_exception(400, std::string("request body is not valid JSON: ") + e.what());
  }
}

std::string_view web_request::remote() const noexcept {
  std::string_view p = peer_;
  if (!p.empty() && p.front() == '[') {
    auto close = p.find(']');
    return close == std::string_view::npos ? p : p.substr(1, close - 1);
  }
  auto colon = p.rfind(':');
  return colon == std::string_view::npos ? p : p.substr(0, colon);
}

const std::any* web_request::find(const std::string& key) const {
  auto it = storage_.find(key);
  return it == storage_.end() ? nullptr : &it->second;
}

void web_request::set_target(std::string_view method, std::string_view target) {
  method_.assign(method);
  target_.assign(target);
  query_.reset();
  if (target.empty() || target.front() != '/') {
    // Absolute-form ("http://host/path") is legal toward proxies; an origin server accepts it
    // by using its path (RFC 9112 3.2.2). Anything else is not a path at all.
    auto scheme = target.find("://");
    if (scheme == std::string_view::npos || target.substr(0, scheme).find('/') != target.npos)
      throw web_exception(
          400, "request target '" + std::string(target.substr(0, 100)) + "' is not a path");
    auto slash = target.find('/', scheme + 3);
    target_.assign(slash == std::string_view::npos ? std::string_view("/") : target.substr(slash));
  }
  auto frag = target_.find('#');
  if (frag != std::string::npos) target_.resize(frag);
  query_pos_ = target_.find('?');
  std::string_view raw_path = std::string_view(target_).substr(0, query_pos_);
  if (raw_path.find('%') == std::string_view::npos) {
    path_.assign(raw_path);
  } else {
    try {
      path_ = percent_decode(raw_path);
    } catch (const invalid_url_error& e) {
      throw web_exception(400, std::string("bad escape in path: ") + e.what());
    }
  }
}

void web_request::assign(std::string_view method, std::string_view target, http::headers headers,
                         std::string body) {
  clear();
  set_target(method, target);
  headers_ = std::move(headers);
  body_ = std::move(body);
}

void web_request::clear() noexcept {
  method_.clear();
  target_.clear();
  path_.clear();
  query_pos_ = std::string::npos;
  query_.reset();
  headers_.clear();
  match_info_.clear();
  body_.clear();
  major_ = 1;
  minor_ = 1;
  keep_alive_ = true;
  if (!storage_.empty()) storage_.clear();
}

web_response json_response(const nlohmann::json& data, int status) {
  return web_response(status, data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "application/json");
}

web_response json_text_response(std::string json_text, int status) {
  return web_response(status, std::move(json_text), "application/json");
}

web_response text_response(std::string text, int status, std::string content_type) {
  return web_response(status, std::move(text), std::move(content_type));
}

web_response bytes_response(std::string body, int status, std::string content_type) {
  return web_response(status, std::move(body), std::move(content_type));
}

web_response status_response(int status, std::string_view text) {
  std::string body = text.empty() ? default_text(status) : std::string(text);
  return web_response(status, std::move(body));
}

}  // namespace concur::http
