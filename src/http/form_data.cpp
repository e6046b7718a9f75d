#include "concur/http/form_data.hpp"

#include <algorithm>

#include "concur/core/error.hpp"

namespace concur::http {

namespace {

// A part's Content-Type is written as a header line of the body: a line break in it would end
// the header early and let the value write headers of its own.
void check_content_type(const std::string& name, const std::string& content_type) {
  if (content_type.find_first_of("\r\n") != std::string::npos)
    throw value_error("form_data: the content type of field '" + name + "' has a line break");
}

}  // namespace

form_data& form_data::add_field(std::string name, std::string value, std::string content_type,
                                std::optional<std::string> filename) {
  check_content_type(name, content_type);
  fields_.push_back(field{std::move(name), std::move(value), std::nullopt, std::move(content_type),
                          std::move(filename)});
  return *this;
}

form_data& form_data::add_file(std::string name, std::filesystem::path path,
                               std::string content_type, std::optional<std::string> filename) {
  check_content_type(name, content_type);
  if (!filename) filename = path.filename().string();
  fields_.push_back(field{std::move(name), std::string(), std::move(path), std::move(content_type),
                          std::move(filename)});
  return *this;
}

bool form_data::is_multipart() const noexcept {
  return multipart_ || std::any_of(fields_.begin(), fields_.end(), [](const field& f) {
           return f.file.has_value() || f.filename.has_value() || !f.content_type.empty();
         });
}

}  // namespace concur::http
