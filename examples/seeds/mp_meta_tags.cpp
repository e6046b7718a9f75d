// The meta-tag scraper of tutorial 02 (Listing 3): Pool().map(get_from, urls), where each
// worker fetches a page and runs the regular expression "<meta .*?>" over it -- the CPU-bound
// part that Python moves to processes. Here the regular expression is RE2 and the pages are
// file:// URLs this program writes first, so the example runs without a network.
#include <re2/re2.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

// Runs in a worker: "fetches" the URL and returns every meta tag in it.
std::vector<std::string> get_from(const std::string& url) {
  const std::string prefix = "file://";
  if (url.rfind(prefix, 0) != 0) throw std::invalid_argument("only file:// URLs here: " + url);
  std::ifstream in(url.substr(prefix.size()), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + url);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const RE2 meta_match("(<meta .*?>)");  // built once per worker process
  std::vector<std::string> found;
  re2::StringPiece rest(data);
  std::string tag;
  while (RE2::FindAndConsume(&rest, meta_match, &tag)) found.push_back(tag);
  return found;
}

std::string page(int i, int tags) {
  std::ostringstream s;
  s << "<html><head><title>page " << i << "</title>\n";
  for (int t = 0; t < tags; ++t)
    s << "<meta name=\"key" << t << "\" content=\"page " << i << " tag " << t << "\">";
  s << "\n</head><body>" << std::string(20000, 'x') << "</body></html>\n";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  example::parse(argc, argv);
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("concur-meta-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<std::string> urls;
  for (int i = 0; i < 6; ++i) {
    const fs::path file = dir / ("page" + std::to_string(i) + ".html");
    std::ofstream(file) << page(i, i + 1);
    urls.push_back("file://" + file.string());
  }

  std::vector<std::vector<std::string>> datas;
  {
    concur::mp::pool p;
    datas = p.map(get_from, urls);
  }
  fs::remove_all(dir);
  std::size_t total = 0;
  for (std::size_t i = 0; i < datas.size(); ++i) {
    std::printf("page%zu: %zu meta tags, first: %s\n", i, datas[i].size(),
                datas[i].empty() ? "-" : datas[i].front().c_str());
    total += datas[i].size();
  }
  std::printf("meta tags found: %zu (expected 21)\n", total);
  return total == 21 ? 0 : 1;
}
