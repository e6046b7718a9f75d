#include "concur/http/mock_api.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "concur/aio/sleep.hpp"
#include "concur/http/compression.hpp"
#include "concur/http/parser.hpp"
#include "concur/http/router.hpp"
#include "concur/http/stream_response.hpp"
#include "concur/http/websocket.hpp"

namespace concur::http {

namespace {

using ojson = nlohmann::ordered_json;
using std::chrono::nanoseconds;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small deterministic generator for the data (std::mt19937's output is fixed by the
// standard, but distributions are not, and the data must be the same on every library).
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept { return splitmix64(state_++); }
  std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }
  std::size_t between(std::size_t lo, std::size_t hi) noexcept { return lo + below(hi - lo + 1); }
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <std::size_t N>
  const char* pick(const std::array<const char*, N>& a) noexcept {
    return a[below(N)];
  }

 private:
  std::uint64_t state_;
};

constexpr std::array<const char*, 96> words = {
    "lorem",       "ipsum",      "dolor",       "sit",           "amet",        "consectetur",
    "adipisci",    "velit",      "sed",         "quia",          "non",         "numquam",
    "eius",        "modi",       "tempora",     "incidunt",      "ut",          "labore",
    "et",          "dolore",     "magnam",      "aliquam",       "quaerat",     "voluptatem",
    "enim",        "ad",         "minima",      "veniam",        "quis",        "nostrum",
    "exercitatio", "ullam",      "corporis",    "suscipit",      "laboriosam",  "nisi",
    "aliquid",     "ex",         "ea",          "commodi",       "consequatur", "autem",
    "vel",         "eum",        "iure",        "reprehenderit", "qui",         "in",
    "voluptate",   "esse",       "quam",        "nihil",         "molestiae",   "illum",
    "fugiat",      "quo",        "voluptas",    "nulla",         "pariatur",    "at",
    "vero",        "eos",        "accusamus",   "iusto",         "odio",        "dignissimos",
    "ducimus",     "blanditiis", "praesentium", "deleniti",      "atque",       "corrupti",
    "quos",        "dolores",    "quas",        "molestias",     "excepturi",   "sint",
    "occaecati",   "cupiditate", "provident",   "similique",     "sunt",        "culpa",
    "officia",     "deserunt",   "mollitia",    "animi",         "id",          "est",
    "laborum",     "dolorum",    "fuga",        "harum",         "quidem",      "rerum"};

constexpr std::array<const char*, 20> first_names = {
    "Leanne",   "Ervin",  "Clementine", "Patricia", "Chelsey", "Dennis", "Kurtis",
    "Nicholas", "Glenna", "Clementina", "Ada",      "Hugo",    "Mara",   "Tobias",
    "Irene",    "Jonas",  "Selma",      "Victor",   "Wanda",   "Otto"};
constexpr std::array<const char*, 20> last_names = {
    "Graham",        "Howell",   "Bauch",        "Lebsack", "Dietrich",  "Schulist", "Weissnat",
    "Runolfsdottir", "Reichert", "DuBuque",      "Keeling", "Marquardt", "Okuneva",  "Hettinger",
    "Kautzer",       "Lindgren", "Pfannerstill", "Zulauf",  "Ziemann",   "Hammes"};
constexpr std::array<const char*, 10> street_kinds = {
    "Light", "Street", "Avenue", "Crossing", "Extension", "Mall", "Plains", "Walk", "Way", "Park"};
constexpr std::array<const char*, 10> cities = {
    "Gwenborough",   "Wisokyburgh", "McKenziehaven", "South Elvis",    "Roscoeview",
    "South Christy", "Howemouth",   "Aliyaview",     "Bartholomebury", "Lebsackbury"};
constexpr std::array<const char*, 10> tlds = {"biz", "org", "net",  "info", "com",
                                              "io",  "tv",  "name", "ca",   "me"};
constexpr std::array<const char*, 12> catch_words = {
    "Multi-layered", "Proactive",   "Face to face", "Centralized", "User-centric", "Synchronised",
    "Configurable",  "Implemented", "Switchable",   "Extended",    "Reactive",     "Streamlined"};
constexpr std::array<const char*, 12> bs_words = {
    "harness",   "synergize", "e-enable",   "transition",    "revolutionize", "target",
    "real-time", "scalable",  "end-to-end", "supply-chains", "e-markets",     "web services"};

std::string sentence(rng& r, std::size_t lo, std::size_t hi) {
  std::string s;
  auto n = r.between(lo, hi);
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += r.pick(words);
  }
  return s;
}

std::string paragraph(rng& r) {
  std::string s;
  for (int line = 0; line < 4; ++line) {
    if (line) s += '\n';
    s += sentence(r, 7, 11);
  }
  return s;
}

std::string capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string hex_color(rng& r) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(6, '0');
  auto v = r.next();
  for (auto& c : s) {
    c = digits[v & 15];
    v >>= 4;
  }
  return s;
}

std::string fixed(double v, int decimals) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  return ec == std::errc{} ? std::string(buf, end) : std::string("0");
}

struct resource {
  std::string name;
  std::vector<ojson> items;
  std::vector<std::string> texts;  // each item pretty-printed like the real service
  std::string list_text;
};

void finish(resource& res) {
  res.texts.reserve(res.items.size());
  for (const auto& it : res.items) res.texts.push_back(it.dump(2));
  res.list_text = ojson(res.items).dump(2);
}

// The text form a filter compares with: numbers and booleans as JSON, strings bare.
std::string field_text(const ojson& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::optional<std::size_t> parse_index(std::string_view s) {
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Keeps the field order of the real service (json_response takes the unordered json).
web_response ojson_response(const ojson& data, int status = 200) {
  return web_response(status, data.dump(-1, ' ', false, ojson::error_handler_t::replace),
                      "application/json");
}

web_response json_error(int status, std::string message) {
  return ojson_response(ojson{{"error", std::move(message)}}, status);
}

ojson headers_json(const web_request& req) {
  ojson h = ojson::object();
  for (const auto& [k, v] : req.headers()) {
    if (h.contains(k)) {
      h[k] = h[k].get<std::string>() + "," + v;
    } else {
      h[k] = v;
    }
  }
  return h;
}

ojson args_json(const query_params& q) {
  ojson a = ojson::object();
  for (const auto& [k, v] : q) {
    if (!a.contains(k)) {
      a[k] = v;
    } else if (a[k].is_array()) {
      a[k].push_back(v);
    } else {
      a[k] = ojson::array({a[k], v});
    }
  }
  return a;
}

std::string html_page(std::uint64_t seed, std::size_t n) {
  rng r(seed * 7919 + n);
  auto title = capitalized(sentence(r, 3, 6));
  auto description = capitalized(sentence(r, 10, 16)) + ".";
  std::string keywords;
  for (int i = 0; i < 5; ++i) {
    if (i) keywords += ", ";
    keywords += r.pick(words);
  }
  auto author = std::string(r.pick(first_names)) + " " + r.pick(last_names);
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>" + title + "</title>\n";
  html += "<meta name=\"description\" content=\"" + description + "\">\n";
  html += "<meta name=\"keywords\" content=\"" + keywords + "\">\n";
  html += "<meta name=\"author\" content=\"" + author + "\">\n";
  html += "<meta property=\"og:title\" content=\"" + title + "\">\n";
  html += "<meta property=\"og:type\" content=\"article\">\n";
  html += "<meta property=\"og:url\" content=\"/page/" + std::to_string(n) + "\">\n";
  html += "</head>\n<body>\n<h1>" + title + "</h1>\n";
  for (int p = 0; p < 6; ++p) html += "<p>" + capitalized(paragraph(r)) + ".</p>\n";
  if (n > 1) html += "<a href=\"/page/" + std::to_string(n - 1) + "\">previous</a>\n";
  html += "<a href=\"/page/" + std::to_string(n + 1) + "\">next</a>\n</body>\n</html>\n";
  return html;
}

}  // namespace

struct mock_api::impl {
  using handler = std::function<web_response(const impl&, const web_request&,
                                             const match_info_type&, nanoseconds&)>;

  mock_options options;
  std::vector<resource> resources;
  router routes;
  std::vector<handler> handlers;
  mutable std::atomic<std::uint64_t> draws{0};
  mutable std::atomic<std::uint64_t> served{0};

  const resource* find(std::string_view name) const noexcept {
    for (const auto& r : resources) {
      if (r.name == name) return &r;
    }
    return nullptr;
  }

  void generate();
  void add_routes();
  void on(std::string_view method, std::string_view pattern, handler h) {
    routes.add(method, pattern);
    handlers.push_back(std::move(h));
  }
  web_response list(const resource& res, const web_request& req, std::string_view parent_field,
                    std::string_view parent_id) const;
  web_response echo(const web_request& req, bool with_body) const;
  // httpbin's echo object (args, data, form, json, headers, method, origin, url); nullopt when
  // the body is a form with a malformed escape.
  std::optional<ojson> echo_json(const web_request& req, bool with_body) const;
};

void mock_api::impl::generate() {
  rng r(options.seed);
  auto make = [&](const char* name) -> resource& {
    resources.push_back(resource{name, {}, {}, {}});
    return resources.back();
  };
  resources.reserve(6);

  auto& users = make("users");
  for (int id = 1; id <= 10; ++id) {
    std::string first = r.pick(first_names);
    std::string last = r.pick(last_names);
    std::string username = first + "." + last.substr(0, 3);
    std::string domain = std::string(r.pick(words)) + "." + r.pick(tlds);
    double lat = r.unit() * 180.0 - 90.0;
    double lng = r.unit() * 360.0 - 180.0;
    users.items.push_back(
        ojson{{"id", id},
              {"name", first + " " + last},
              {"username", username},
              {"email", first + "_" + last + "@" + domain},
              {"address", ojson{{"street", capitalized(r.pick(words)) + " " + r.pick(street_kinds)},
                                {"suite", "Apt. " + std::to_string(r.between(100, 999))},
                                {"city", r.pick(cities)},
                                {"zipcode", std::to_string(r.between(10000, 99999)) + "-" +
                                                std::to_string(r.between(1000, 9999))},
                                {"geo", ojson{{"lat", fixed(lat, 4)}, {"lng", fixed(lng, 4)}}}}},
              {"phone", "1-" + std::to_string(r.between(200, 999)) + "-" +
                            std::to_string(r.between(200, 999)) + "-" +
                            std::to_string(r.between(1000, 9999)) + " x" +
                            std::to_string(r.between(10000, 99999))},
              {"website", std::string(r.pick(words)) + "." + r.pick(tlds)},
              {"company", ojson{{"name", last + " " + capitalized(r.pick(words))},
                                {"catchPhrase", std::string(r.pick(catch_words)) + " " +
                                                    r.pick(words) + " " + r.pick(words)},
                                {"bs", std::string(r.pick(bs_words)) + " " + r.pick(bs_words) +
                                           " " + r.pick(bs_words)}}}});
  }

  auto& posts = make("posts");
  for (int id = 1; id <= 100; ++id) {
    posts.items.push_back(ojson{{"userId", (id - 1) / 10 + 1},
                                {"id", id},
                                {"title", sentence(r, 4, 9)},
                                {"body", paragraph(r)}});
  }

  auto& comments = make("comments");
  for (int id = 1; id <= 500; ++id) {
    std::string email = std::string(r.pick(first_names)) + "_" + r.pick(last_names) + "@" +
                        r.pick(words) + "." + r.pick(tlds);
    comments.items.push_back(ojson{{"postId", (id - 1) / 5 + 1},
                                   {"id", id},
                                   {"name", sentence(r, 3, 7)},
                                   {"email", email},
                                   {"body", paragraph(r)}});
  }

  auto& albums = make("albums");
  for (int id = 1; id <= 100; ++id) {
    albums.items.push_back(
        ojson{{"userId", (id - 1) / 10 + 1}, {"id", id}, {"title", sentence(r, 3, 7)}});
  }

  auto& photos = make("photos");
  for (int id = 1; id <= 5000; ++id) {
    auto color = hex_color(r);
    photos.items.push_back(ojson{{"albumId", (id - 1) / 50 + 1},
                                 {"id", id},
                                 {"title", sentence(r, 4, 9)},
                                 {"url", "https://via.placeholder.com/600/" + color},
                                 {"thumbnailUrl", "https://via.placeholder.com/150/" + color}});
  }

  auto& todos = make("todos");
  for (int id = 1; id <= 200; ++id) {
    todos.items.push_back(ojson{{"userId", (id - 1) / 20 + 1},
                                {"id", id},
                                {"title", sentence(r, 3, 7)},
                                {"completed", r.below(2) == 1}});
  }
  for (auto& res : resources) finish(res);
}

web_response mock_api::impl::list(const resource& res, const web_request& req,
                                  std::string_view parent_field, std::string_view parent_id) const {
  const auto& q = req.query();
  if (q.empty() && parent_field.empty()) return json_text_response(res.list_text);
  std::size_t start = 0;
  std::size_t limit = res.items.size();
  for (const auto& [k, v] : q) {
    if (k == "_start" || k == "_limit") {
      auto n = parse_index(v);
      if (!n) return json_error(400, k + " must be a non-negative integer, got '" + v + "'");
      (k == "_start" ? start : limit) = *n;
    }
  }
  ojson out = ojson::array();
  std::size_t skipped = 0;
  for (const auto& item : res.items) {
    if (out.size() >= limit) break;
    bool keep = true;
    if (!parent_field.empty()) {
      auto it = item.find(parent_field);
      keep = it != item.end() && field_text(*it) == parent_id;
    }
    for (const auto& [k, v] : q) {
      if (!keep) break;
      if (!k.empty() && k.front() == '_') continue;
      auto it = item.find(k);
      keep = it != item.end() && field_text(*it) == v;
    }
    if (!keep) continue;
    if (skipped < start) {
      ++skipped;
      continue;
    }
    out.push_back(item);
  }
  return json_text_response(out.dump(2));
}

web_response mock_api::impl::echo(const web_request& req, bool with_body) const {
  auto out = echo_json(req, with_body);
  if (!out) return json_error(400, "form body has a malformed escape");
  return ojson_response(*out);
}

std::optional<ojson> mock_api::impl::echo_json(const web_request& req, bool with_body) const {
  ojson out;
  out["args"] = args_json(req.query());
  if (with_body) {
    out["data"] = req.body();
    ojson form = ojson::object();
    auto type = req.headers().get("Content-Type", "");
    if (type.starts_with("application/x-www-form-urlencoded")) {
      try {
        form = args_json(parse_query(req.body()));
      } catch (const invalid_url_error&) {
        return std::nullopt;
      }
    }
    out["form"] = std::move(form);
    ojson js = nullptr;
    if (!req.body().empty()) {
      auto parsed = ojson::parse(req.body(), nullptr, false);
      if (!parsed.is_discarded()) js = std::move(parsed);
    }
    out["json"] = std::move(js);
  }
  out["headers"] = headers_json(req);
  out["method"] = std::string(req.method());
  out["origin"] = std::string(req.remote());
  auto host = req.host();
  out["url"] = "http://" + std::string(host.empty() ? "localhost" : host) + req.raw_path();
  return out;
}

void mock_api::impl::add_routes() {
  for (const auto& res : resources) {
    const std::string base = "/" + res.name;
    const resource* rp = &res;
    on("GET", base,
       [rp](const impl& self, const web_request& req, const match_info_type&, nanoseconds&) {
         return self.list(*rp, req, {}, {});
       });
    on("GET", base + "/{id}",
       [rp](const impl&, const web_request&, const match_info_type& m, nanoseconds&) {
         auto id = parse_index(m[0].second);
         if (!id || *id == 0 || *id > rp->texts.size()) return json_text_response("{}", 404);
         return json_text_response(rp->texts[*id - 1]);
       });
  }
  auto nested = [this](const char* parent, const char* child, const char* field) {
    const resource* cp = find(child);
    on("GET", std::string("/") + parent + "/{id}/" + child,
       [cp, field](const impl& self, const web_request& req, const match_info_type& m,
                   nanoseconds&) { return self.list(*cp, req, field, m[0].second); });
  };
  nested("posts", "comments", "postId");
  nested("albums", "photos", "albumId");
  nested("users", "posts", "userId");
  nested("users", "albums", "userId");
  nested("users", "todos", "userId");

  on("GET", "/", [](const impl& self, const web_request&, const match_info_type&, nanoseconds&) {
    ojson idx;
    for (const auto& r : self.resources) idx[r.name] = r.items.size();
    return ojson_response(
        ojson{{"resources", idx},
              {"httpbin",
               {"/get", "/post", "/anything", "/headers", "/ip", "/user-agent", "/status/{code}",
                "/delay/{seconds}", "/bytes/{n}", "/redirect/{n}", "/gzip", "/deflate", "/json",
                "/html", "/page/{n}", "/stream/{n}", "/ws"}}});
  });

  auto echo_get = [](const impl& self, const web_request& req, const match_info_type&,
                     nanoseconds&) { return self.echo(req, false); };
  auto echo_body = [](const impl& self, const web_request& req, const match_info_type&,
                      nanoseconds&) { return self.echo(req, true); };
  on("GET", "/get", echo_get);
  on("POST", "/post", echo_body);
  on("PUT", "/put", echo_body);
  on("PATCH", "/patch", echo_body);
  on("DELETE", "/delete", echo_body);
  on("*", "/anything", echo_body);
  on("*", "/anything/{rest:.*}", echo_body);
  on("GET", "/headers",
     [](const impl&, const web_request& req, const match_info_type&, nanoseconds&) {
       return ojson_response(ojson{{"headers", headers_json(req)}});
     });
  on("GET", "/ip", [](const impl&, const web_request& req, const match_info_type&, nanoseconds&) {
    return ojson_response(ojson{{"origin", std::string(req.remote())}});
  });
  on("GET", "/user-agent",
     [](const impl&, const web_request& req, const match_info_type&, nanoseconds&) {
       return ojson_response(
           ojson{{"user-agent", std::string(req.headers().get("User-Agent", ""))}});
     });

  on("*", "/status/{code}",
     [](const impl&, const web_request&, const match_info_type& m, nanoseconds&) {
       auto code = parse_index(m[0].second);
       if (!code || *code < 200 || *code > 599)
         return json_error(400, "status code must be 200-599, got '" + m[0].second + "'");
       web_response resp(static_cast<int>(*code), "", "");
       if (*code >= 300 && *code < 400 && *code != 304) resp.headers.add("Location", "/redirect/1");
       return resp;
     });

  on("*", "/delay/{seconds}",
     [](const impl& self, const web_request& req, const match_info_type& m, nanoseconds& delay) {
       const std::string& text = m[0].second;
       double secs = 0;
       auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
       if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(secs) ||
           secs < 0)
         return json_error(400,
                           "delay must be a non-negative number of seconds, got '" + text + "'");
       auto wanted = std::chrono::duration<double>(secs);
       auto cap = std::chrono::duration<double>(self.options.max_delay);
       delay += std::chrono::duration_cast<nanoseconds>(wanted < cap ? wanted : cap);
       return self.echo(req, true);
     });

  on("GET", "/bytes/{n}",
     [](const impl& self, const web_request& req, const match_info_type& m, nanoseconds&) {
       auto n = parse_index(m[0].second);
       if (!n) return json_error(400, "byte count must be a non-negative integer");
       std::size_t count = std::min(*n, self.options.max_bytes);
       std::uint64_t seed = self.options.seed;
       if (auto s = req.query("seed")) {
         auto v = parse_index(*s);
         if (!v) return json_error(400, "seed must be a non-negative integer");
         seed = *v;
       }
       rng r(seed);
       std::string body(count, '\0');
       for (auto& c : body) c = static_cast<char>(r.next() & 0xff);
       return bytes_response(std::move(body));
     });

  // httpbin's /stream/{n}: n JSON lines (at most 100), each the /get echo with its "id".
  // make_mock_application sends them one chunk a line, each flushed as it is written.
  on("GET", "/stream/{n}",
     [](const impl& self, const web_request& req, const match_info_type& m, nanoseconds&) {
       auto n = parse_index(m[0].second);
       if (!n) return json_error(400, "line count must be a non-negative integer");
       ojson line = *self.echo_json(req, false);
       std::string body;
       for (std::size_t i = 0; i < std::min<std::size_t>(*n, 100); ++i) {
         line["id"] = i;
         body += line.dump(-1, ' ', false, ojson::error_handler_t::replace);
         body += '\n';
       }
       return web_response(200, std::move(body), "application/json");
     });

  on("GET", "/redirect/{n}",
     [](const impl&, const web_request&, const match_info_type& m, nanoseconds&) {
       auto n = parse_index(m[0].second);
       if (!n || *n == 0 || *n > 100) return json_error(400, "redirect count must be 1-100");
       web_response resp(302, "", "");
       resp.headers.add("Location", *n == 1 ? "/get" : "/redirect/" + std::to_string(*n - 1));
       return resp;
     });
  on("GET", "/absolute-redirect/{n}",
     [](const impl&, const web_request& req, const match_info_type& m, nanoseconds&) {
       auto n = parse_index(m[0].second);
       if (!n || *n == 0 || *n > 100) return json_error(400, "redirect count must be 1-100");
       auto host = std::string(req.host().empty() ? "localhost" : req.host());
       web_response resp(302, "", "");
       resp.headers.add("Location", "http://" + host +
                                        (*n == 1 ? std::string("/get")
                                                 : "/absolute-redirect/" + std::to_string(*n - 1)));
       return resp;
     });
  on("*", "/redirect-to",
     [](const impl&, const web_request& req, const match_info_type&, nanoseconds&) {
       auto target = req.query("url");
       if (!target || target->empty()) return json_error(400, "redirect-to needs ?url=");
       int status = 302;
       if (auto s = req.query("status_code")) {
         auto v = parse_index(*s);
         if (!v || *v < 300 || *v > 399) return json_error(400, "status_code must be 3xx");
         status = static_cast<int>(*v);
       }
       web_response resp(status, "", "");
       resp.headers.add("Location", *target);
       return resp;
     });

  auto coded = [](content_coding coding, const char* name) {
    return [coding, name](const impl& self, const web_request& req, const match_info_type&,
                          nanoseconds&) {
      auto plain = self.echo(req, false);
      ojson out = ojson::parse(plain.body);
      out[name] = true;
      web_response resp(200,
                        compress(out.dump(2, ' ', false, ojson::error_handler_t::replace), coding),
                        "application/json");
      resp.headers.add("Content-Encoding", name);
      return resp;
    };
  };
  on("GET", "/gzip", coded(content_coding::gzip, "gzip"));
  on("GET", "/deflate", coded(content_coding::deflate, "deflate"));

  on("GET", "/json", [](const impl&, const web_request&, const match_info_type&, nanoseconds&) {
    return ojson_response(ojson{
        {"slideshow",
         {{"author", "Yours Truly"},
          {"date", "date of publication"},
          {"slides",
           ojson::array({ojson{{"title", "Wake up to WonderWidgets!"}, {"type", "all"}},
                         ojson{{"items", {"Why WonderWidgets are great", "Who buys WonderWidgets"}},
                               {"title", "Overview"},
                               {"type", "all"}}})},
          {"title", "Sample Slide Show"}}}});
  });
  on("GET", "/html",
     [](const impl& self, const web_request&, const match_info_type&, nanoseconds&) {
       return text_response(html_page(self.options.seed, 0), 200, "text/html; charset=utf-8");
     });
  on("GET", "/page/{n}",
     [](const impl& self, const web_request&, const match_info_type& m, nanoseconds&) {
       auto n = parse_index(m[0].second);
       if (!n || *n == 0 || *n > 1000)
         return text_response("<!DOCTYPE html><title>404</title><p>no such page</p>", 404,
                              "text/html; charset=utf-8");
       return text_response(html_page(self.options.seed, *n), 200, "text/html; charset=utf-8");
     });
}

mock_api::mock_api(mock_options options) : impl_(std::make_shared<impl>()) {
  if (options.latency.count() < 0 || options.jitter.count() < 0 || options.max_delay.count() < 0)
    throw error("mock_api: latency, jitter and max_delay must not be negative");
  if (!(options.error_rate >= 0.0 && options.error_rate <= 1.0))
    throw error("mock_api: error_rate must be in [0, 1], got " +
                std::to_string(options.error_rate));
  impl_->options = options;
  impl_->generate();
  impl_->add_routes();
}

mock_reply mock_api::handle(const web_request& request) const {
  const auto& self = *impl_;
  self.served.fetch_add(1, std::memory_order_relaxed);
  mock_reply reply;
  const auto& opt = self.options;
  if (opt.latency.count() > 0 || opt.jitter.count() > 0 || opt.error_rate > 0) {
    auto n = self.draws.fetch_add(1, std::memory_order_relaxed);
    rng r(splitmix64(opt.seed) ^ (n * 0x9e3779b97f4a7c15ULL));
    reply.delay = opt.latency;
    if (opt.jitter.count() > 0)
      reply.delay += nanoseconds(static_cast<std::int64_t>(r.unit() * double(opt.jitter.count())));
    if (opt.error_rate > 0 && r.unit() < opt.error_rate) {
      reply.response =
          json_error(500, "injected failure (error_rate " + std::to_string(opt.error_rate) + ")");
      return reply;
    }
  }
  match_info_type params;
  auto m = self.routes.resolve(request.method(), request.path(), params);
  try {
    switch (m.result) {
      case router::outcome::found:
        reply.response = self.handlers[m.route](self, request, params, reply.delay);
        break;
      case router::outcome::method_not_allowed:
        reply.response = json_error(
            405, "method " + std::string(request.method()) + " not allowed on " + request.path());
        reply.response.headers.set("Allow", m.allow);
        break;
      case router::outcome::not_found:
        reply.response = json_error(404, "no such path: " + request.path());
        break;
    }
  } catch (const web_exception& e) {
    reply.response = json_error(e.status(), e.text());
  } catch (const std::exception& e) {
    reply.response = json_error(500, std::string("mock_api: ") + e.what());
  }
  return reply;
}

const mock_options& mock_api::options() const noexcept { return impl_->options; }

std::size_t mock_api::count(std::string_view resource) const noexcept {
  const auto* r = impl_->find(resource);
  return r ? r->items.size() : 0;
}

nlohmann::json mock_api::item(std::string_view resource, std::size_t id) const {
  const auto* r = impl_->find(resource);
  if (!r || id == 0 || id > r->items.size()) return nullptr;
  return nlohmann::json::parse(r->texts[id - 1]);
}

std::uint64_t mock_api::requests_served() const noexcept {
  return impl_->served.load(std::memory_order_relaxed);
}

namespace {

// A body that goes out a line at a time, chunked, each line flushed as it is written.
aio::task<web_response> send_lines(web_request& req, web_response whole) {
  stream_response resp(whole.status);
  resp.content_type = whole.content_type;
  co_await resp.prepare(req);
  std::string_view rest = whole.body;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::size_t n = end == std::string_view::npos ? rest.size() : end + 1;
    co_await resp.write(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  co_await resp.write_eof();
  co_return resp;
}

}  // namespace

namespace {

// /ws: every text and binary message comes back as it was sent, with permessage-deflate when
// the client offers it.
aio::task<web_response> echo_websocket(web_request& req) {
  websocket_response ws;
  co_await ws.prepare(req);
  for (;;) {
    ws_message msg = co_await ws.receive();
    if (msg.type == ws_msg_type::text) {
      co_await ws.send_str(msg.data);
    } else if (msg.type == ws_msg_type::binary) {
      co_await ws.send_bytes(msg.data);
    } else {
      break;
    }
  }
  co_return ws;
}

}  // namespace

aio::task<web_response> mock_api::respond(web_request& request) const {
  if (request.path() == "/ws") {
    impl_->served.fetch_add(1, std::memory_order_relaxed);
    co_return co_await echo_websocket(request);
  }
  auto reply = handle(request);
  if (reply.delay.count() > 0) co_await aio::sleep(reply.delay);
  if (reply.response.status == 200 && request.path().starts_with("/stream/")) {
    co_return co_await send_lines(request, std::move(reply.response));
  }
  co_return std::move(reply.response);
}

application make_mock_application(mock_api api) {
  application app;
  // The lambda lives in the application for as long as the server runs, so the coroutine may
  // use its capture.
  app.any("/{path:.*}", [api = std::move(api)](web_request& req) -> aio::task<web_response> {
    co_return co_await api.respond(req);
  });
  return app;
}

server_options mock_server::default_server_options() {
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.shutdown_timeout = std::chrono::seconds(1);
  return o;
}

mock_server::mock_server(mock_api api, server_options options)
    : api_(api), server_(make_mock_application(std::move(api)), std::move(options)) {
  server_.start();
}

}  // namespace concur::http
