#include "url_file.hpp"

#include <concur/futures/errors.hpp>
#include <fstream>

namespace concur_cli {

std::vector<std::string> read_url_file(const std::string& file, std::string_view command) {
  std::ifstream in(file);
  if (!in) throw concur::error(std::string(command) + ": cannot read URL file '" + file + "'");
  return read_url_stream(in);
}

std::vector<std::string> read_url_stream(std::istream& in) {
  std::vector<std::string> urls;
  for (std::string line; std::getline(in, line);) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    urls.push_back(line.substr(b, line.find_last_not_of(" \t\r") - b + 1));
  }
  return urls;
}

}  // namespace concur_cli
