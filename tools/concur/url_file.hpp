#pragma once
// URL lists for `concur lab --urls FILE` and `concur fetch -i FILE`: one URL a line, blank
// lines and lines starting with '#' skipped, surrounding blanks trimmed.
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace concur_cli {

// Throws concur::error naming `command` and the file when it cannot be read.
std::vector<std::string> read_url_file(const std::string& file, std::string_view command);
// The same rules for an open stream (fetch -i - reads stdin).
std::vector<std::string> read_url_stream(std::istream& in);

}  // namespace concur_cli
