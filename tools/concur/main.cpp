// concur: the classic "sequential vs threads vs processes vs coroutines" experiment, run for
// real (lab), the mock API it runs against (serve), and a concurrent downloader (fetch).
#include <CLI/CLI.hpp>
#include <concur/version.hpp>
#include <iostream>
#include <string>

#include "options.hpp"

namespace {

void add_range_option(CLI::App& cmd, concur_cli::lab_options& lab) {
  cmd.add_option_function<std::string>(
         "--primes-range",
         [&lab](const std::string& text) {
           const auto colon = text.find(':');
           if (colon == std::string::npos)
             throw CLI::ValidationError("--primes-range", "expected LO:HI, got '" + text + "'");
           try {
             std::size_t used = 0;
             lab.primes_lo = std::stoull(text.substr(0, colon), &used);
             if (used != colon) throw std::invalid_argument(text);
             const auto hi_text = text.substr(colon + 1);
             lab.primes_hi = std::stoull(hi_text, &used);
             if (used != hi_text.size()) throw std::invalid_argument(text);
           } catch (const std::logic_error&) {
             throw CLI::ValidationError("--primes-range",
                                        "expected LO:HI with whole numbers, got '" + text + "'");
           }
           if (lab.primes_hi <= lab.primes_lo)
             throw CLI::ValidationError("--primes-range",
                                        "HI must be greater than LO in '" + text + "'");
           if (lab.primes_hi - lab.primes_lo > 1'000'000'000ULL)
             throw CLI::ValidationError("--primes-range", "a range of at most 1e9 numbers");
         },
         "numbers to test for primality in the CPU-bound job, as LO:HI")
      ->type_name("LO:HI");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "concur: Python's concurrency toolkit in C++, and the experiment that compares it.\n"
      "Run 'concur lab' to time sequential, threads, processes and coroutines here."};
  app.set_version_flag("--version", std::string("concur ") + std::string(concur::version()));
  app.require_subcommand(1);

  concur_cli::lab_options lab;
  auto* lab_cmd = app.add_subcommand(
      "lab",
      "run the I/O-bound and CPU-bound jobs sequentially, with threads, processes and "
      "coroutines, and compare them");
  lab_cmd->add_option("--only", lab.only, "run only one job")->check(CLI::IsMember({"io", "cpu"}));
  lab_cmd
      ->add_option("--urls", lab.urls_file,
                   "file of URLs (one a line) to fetch instead of the mock API")
      ->check(CLI::ExistingFile);
  lab_cmd->add_option("--latency", lab.latency_ms, "mock API latency per request, in ms")
      ->check(CLI::Range(0.0, 10000.0));
  lab_cmd->add_option("--rounds", lab.rounds, "rounds of the six endpoints")
      ->check(CLI::Range(1, 1000));
  lab_cmd->add_option("--workers", lab.workers, "thread and process pool size for the I/O job")
      ->check(CLI::Range(1, 256));
  lab_cmd
      ->add_option("--concurrency", lab.concurrency,
                   "at most this many requests in flight with coroutines (0 = no limit)")
      ->check(CLI::Range(0, 100000));
  add_range_option(*lab_cmd, lab);
  lab_cmd->add_flag("--json", lab.json, "print the results as JSON on stdout");
  lab_cmd->add_option("--svg", lab.svg_file, "also write a chart of the results to this SVG file");
  lab_cmd->add_flag("!--no-progress", lab.progress, "never show progress");

  concur_cli::serve_options serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "serve the mock API (JSONPlaceholder- and httpbin-like); SIGUSR1 prints its tasks");
  serve_cmd->add_option("--host", serve.host, "address to listen on");
  serve_cmd->add_option("--port", serve.port, "port to listen on (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--latency", serve.latency_ms, "added to every response, in ms")
      ->check(CLI::Range(0.0, 600000.0));
  serve_cmd->add_option("--jitter", serve.jitter_ms, "random extra latency up to this, in ms")
      ->check(CLI::Range(0.0, 600000.0));
  serve_cmd->add_option("--error-rate", serve.error_rate, "fraction of requests answered with 500")
      ->check(CLI::Range(0.0, 1.0));
  serve_cmd->add_option("--threads", serve.threads, "event loops (one per core with reuse-port)")
      ->check(CLI::Range(1, 256));
  serve_cmd->add_flag("-q,--quiet", serve.quiet, "don't log each request");
  serve_cmd
      ->add_option("--static", serve.static_dir,
                   "also serve the files of this folder below /static/ (sendfile, ranges)")
      ->check(CLI::ExistingDirectory);
  serve_cmd->add_flag("--exit-with-parent", serve.exit_with_parent)->group("");

  concur_cli::fetch_options fetch;
  auto* fetch_cmd = app.add_subcommand("fetch", "download URLs concurrently");
  fetch_cmd->add_option("urls", fetch.urls, "URLs to fetch");
  fetch_cmd->add_option("-i,--input", fetch.input_file, "file of URLs, one a line")
      ->check(CLI::ExistingFile);
  fetch_cmd->add_option("-j,--jobs", fetch.jobs, "downloads in flight at once")
      ->check(CLI::Range(1, 10000));
  fetch_cmd
      ->add_option("--per-host", fetch.per_host,
                   "at most this many at once to one host (0 = no limit)")
      ->check(CLI::Range(0, 10000));
  fetch_cmd->add_option("--retries", fetch.retries, "retries after a failure, with backoff")
      ->check(CLI::Range(0, 20));
  fetch_cmd->add_option("--timeout", fetch.timeout_s, "total time allowed for one download, in s")
      ->check(CLI::Range(0.001, 86400.0));
  fetch_cmd->add_option("-o,--output", fetch.output_dir, "save bodies into this directory");
  fetch_cmd->add_flag("!--no-progress", fetch.progress, "never show progress");

  try {
    app.parse(argc, argv);
    if (fetch_cmd->parsed() && fetch.urls.empty() && fetch.input_file.empty())
      throw CLI::ValidationError("fetch", "give URLs as arguments or a file with -i");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line saying what is wrong, then how to ask for the usage: status 2 like other tools.
    std::string where = "concur";
    for (auto* sub : {lab_cmd, serve_cmd, fetch_cmd})
      if (sub->parsed()) where += " " + sub->get_name();
    std::cerr << where << ": error: " << e.what() << "\n"
              << "usage: " << where << (where == "concur" ? " {lab,serve,fetch}" : "")
              << " [OPTIONS]  (see '" << where << " --help')\n";
    return 2;
  }

  try {
    if (lab_cmd->parsed()) return concur_cli::run_lab(lab);
    if (serve_cmd->parsed()) return concur_cli::run_serve(serve);
    return concur_cli::run_fetch(fetch);
  } catch (const std::exception& e) {
    std::cerr << "concur: error: " << e.what() << "\n";
    return 1;
  }
}
