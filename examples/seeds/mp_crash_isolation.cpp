// Why processes in C++: isolation. Ten documents go through a parser that segfaults on one,
// aborts on another and loops forever on a third. With threads the first fault would kill the
// program; in an mp::pool each fault fails only its own task (the worker is replaced) and the
// hang is cut off by the pool's task_timeout. Everything else completes.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

// A parser with bugs, standing in for third-party code you cannot fix.
std::size_t parse_words(const std::string& doc) {
  if (doc.find("<crash>") != std::string::npos) {
    // Sanitizer runtimes install a SIGSEGV handler that reports and then wedges in a worker
    // whose stderr is gone; the default action is the plain crash a release build gets.
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
  }
  if (doc.find("<abort>") != std::string::npos) std::abort();
  if (doc.find("<hang>") != std::string::npos)
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  std::size_t words = 0;
  bool in_word = false;
  for (char c : doc) {
    const bool letter = c != ' ';
    if (letter && !in_word) ++words;
    in_word = letter;
  }
  return words;
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  const auto opts = example::parse(argc, argv);
  std::vector<std::string> docs;
  for (int i = 0; i < 10; ++i) docs.push_back("document " + std::to_string(i) + " has five words");
  docs[3] = "a <crash> document";
  docs[6] = "an <abort> document";
  docs[8] = "a <hang> document";

  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
      example::scaled(50, opts.scale));  // a tutorial minute, scaled
  concur::mp::pool pool(3, concur::mp::pool_options{.task_timeout = limit});
  std::vector<concur::mp::async_result<std::size_t>> results;
  for (const auto& d : docs) results.push_back(pool.apply_async(parse_words, d));

  int ok = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    try {
      std::printf("doc %zu: %zu words\n", i, results[i].get());
      ++ok;
    } catch (const concur::mp::process_crashed_error& e) {
      std::printf("doc %zu: the parser crashed (%s)\n", i,
                  concur::mp::describe_exitcode(e.exitcode()).c_str());
    } catch (const concur::timeout_error&) {
      std::printf("doc %zu: the parser hung and was stopped\n", i);
    }
  }
  std::printf("parsed %d of %zu documents; this program is still running\n", ok, docs.size());
  return ok == 7 ? 0 : 1;
}
