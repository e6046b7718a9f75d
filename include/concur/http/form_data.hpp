#pragma once
// http::form_data: aiohttp.FormData. Fields for a request body, sent as
// application/x-www-form-urlencoded when every field is a plain name=value, and as
// multipart/form-data (RFC 7578) when a field has a file, a file name or a content type (or
// when multipart is asked for). Files are read when the request is sent, never held whole.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace concur::http {

class form_data {
 public:
  struct field {
    std::string name;
    // The part's bytes; unused when `file` is set.
    std::string value;
    // A file whose bytes are the part, read when the request is sent.
    std::optional<std::filesystem::path> file;
    // The part's Content-Type; "" sends none.
    std::string content_type;
    std::optional<std::string> filename;
  };

  form_data() = default;
  // FormData(default_to_multipart=True): multipart even with plain fields only.
  explicit form_data(bool default_to_multipart) : multipart_(default_to_multipart) {}

  // FormData.add_field(name, value, content_type=, filename=). A content type with a line
  // break is a value_error.
  form_data& add_field(std::string name, std::string value, std::string content_type = {},
                       std::optional<std::string> filename = {});
  // add_field(name, open(path, "rb"), ...): the file's bytes; the file name defaults to the
  // path's last part, as aiohttp takes it from the file object.
  form_data& add_file(std::string name, std::filesystem::path path,
                      std::string content_type = "application/octet-stream",
                      std::optional<std::string> filename = {});

  bool is_multipart() const noexcept;
  const std::vector<field>& fields() const noexcept { return fields_; }

 private:
  std::vector<field> fields_;
  bool multipart_ = false;
};

}  // namespace concur::http
