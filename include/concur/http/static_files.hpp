#pragma once
// Files served from disk: aiohttp.web.FileResponse and app.router.add_static.
//
//   app.get("/report", [](http::web_request&) -> aio::task<http::web_response> {
//     co_return http::file_response("/var/reports/latest.pdf");
//   });
//   http::add_static(app, "/static", "/srv/www");   // GET /static/css/site.css
//
// The server sends the file with sendfile (the bytes never pass through user space) and
// answers conditional and range requests the way aiohttp's FileResponse does: ETag
// ("<mtime_ns hex>-<size hex>") and Last-Modified on every answer; If-Match and
// If-Unmodified-Since (412), If-None-Match and If-Modified-Since (304), one byte range (206,
// with 416 for a range that cannot be satisfied), If-Range, HEAD.
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

#include "concur/http/headers.hpp"
#include "concur/http/server.hpp"
#include "concur/http/web.hpp"

namespace concur::http {

// web.FileResponse(path): opens the file now. web_exception(404) when it does not exist,
// 403 when it is not a regular file or cannot be read. `content_type` empty: guessed from
// the name (guess_content_type).
web_response file_response(const std::filesystem::path& path, std::string content_type = {});

// mimetypes.guess_type for the names a web server meets: "text/html; charset=utf-8" for
// "index.html", "application/octet-stream" for what it does not know.
std::string_view guess_content_type(std::string_view file_name) noexcept;

struct static_options {
  // A directory answers with an HTML listing of its entries (else 403).
  bool show_index = false;
  // Symbolic links may lead out of the root. Off: any path that leaves the root, by ".." or
  // through a link, is 404, checked by the kernel while opening (openat2 RESOLVE_BENEATH), so
  // a link swapped in between a check and the open cannot slip past.
  bool follow_symlinks = false;
};

// app.router.add_static(prefix, path): GET and HEAD of prefix + "/<path below root>".
// route_error when `root` is not a directory.
void add_static(application& app, std::string_view prefix, const std::filesystem::path& root,
                static_options options = {});

// What a file response becomes for a request (pure; the server applies it). Exposed for tests.
struct file_answer {
  int status = 200;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // of the body to send (0 for 304, 412, 416)
  http::headers fields;      // ETag, Last-Modified, Accept-Ranges, Content-Range
};
file_answer plan_file_answer(const http::headers& request, std::uint64_t size,
                             std::int64_t mtime_ns);

// RFC 9110 5.6.7 HTTP-date: formats IMF-fixdate; parses IMF-fixdate and the two obsolete
// forms (RFC 850, asctime) as recipients must. Returns false for anything else.
std::string format_http_date(std::time_t t);
bool parse_http_date(std::string_view text, std::time_t& out) noexcept;

}  // namespace concur::http
