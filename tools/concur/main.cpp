// concur: the classic "sequential vs threads vs processes vs coroutines" experiment, run for
// real (lab), the mock API it runs against (serve), and a concurrent downloader (fetch).
#include <CLI/CLI.hpp>
#include <concur/config.hpp>
#include <concur/version.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "options.hpp"

#if CONCUR_HAS_MPI
#include <concur/mpi.hpp>
#endif

namespace {

// Started by mpiexec, or spawned by an MPI job (the lab's --mpi ranks): OpenMPI and PMIx name
// the rank in the environment. Only then is MPI initialized, so that a plain `concur` never
// pays for it.
bool started_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
}

const char* const commands[] = {"lab", "serve", "fetch"};

template <class T>
std::string text_of(T v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// A number option: "--jobs N=8" in --help with its range in the description, and no parser
// type names ("UINT:INT in [1 - 10000]").
template <class T>
CLI::Option* number(CLI::App& cmd, const std::string& flags, T& value, const std::string& help,
                    T lo, T hi, const std::string& type = "N") {
  auto* o = cmd.add_option(flags, value, help + " (" + text_of(lo) + " to " + text_of(hi) + ")");
  o->check(CLI::Range(lo, hi).description(""));
  o->type_name(type);
  o->capture_default_str();
  return o;
}

// A text option, its default shown when it has one.
CLI::Option* text(CLI::App& cmd, const std::string& flags, std::string& value,
                  const std::string& help, const std::string& type) {
  auto* o = cmd.add_option(flags, value, help);
  o->type_name(type);
  if (!value.empty()) o->capture_default_str();
  return o;
}

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
         "numbers to test for primality in the CPU-bound job")
      ->type_name("LO:HI")
      ->default_str(std::to_string(lab.primes_lo) + ":" + std::to_string(lab.primes_hi));
}

std::string version_text() {
  return std::string("concur ") + std::string(concur::version()) + "\n" +
         concur::dependency_versions() + ", CLI11 " CLI11_VERSION ", nlohmann_json " +
         std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_PATCH);
}

// `concur nosuch`: CLI11 would only say that a subcommand is required.
bool is_unknown_command(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  for (const char* c : commands) {
    if (std::string_view(argv[1]) == c) return false;
  }
  return true;
}

// The one error format: "concur fetch: error: what", then how to get the usage.
int usage_error(const std::string& where, const std::string& what) {
  std::cerr << where << ": error: " << what << "\n"
            << "usage: " << where << (where == "concur" ? " {lab,serve,fetch}" : "")
            << " [OPTIONS]  (see '" << where << " --help')\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
#if CONCUR_HAS_MPI
  // Ranks other than 0 (and spawned ranks) serve the lab's cluster rows from here, and exit.
  std::optional<concur::mpi::session> mpi_session;
  if (started_by_mpi()) {
    try {
      mpi_session.emplace(concur::mpi::init(argc, argv));
    } catch (const std::exception& e) {
      std::cerr << "concur: error: " << e.what() << "\n";
      return 1;
    }
  }
#endif
  CLI::App app{
      "concur: Python's concurrency toolkit in C++, and the experiment that compares it.\n"
      "Run 'concur lab' to time sequential, threads, processes and coroutines here."};
  app.name("concur");
  app.set_version_flag("--version", version_text(), "print the version and its libraries'");
  app.set_help_flag("-h,--help", "print this help and exit");
  app.require_subcommand(1);
  if (is_unknown_command(argc, argv)) {
    return usage_error("concur", "'" + std::string(argv[1]) +
                                     "' is not a concur command (the commands are lab, serve "
                                     "and fetch)");
  }

  concur_cli::lab_options lab;
  auto* lab_cmd = app.add_subcommand(
      "lab",
      "run the I/O-bound and CPU-bound jobs sequentially, with threads, processes and "
      "coroutines, and compare them");
  lab_cmd->set_help_flag("-h,--help", "print this help and exit");
  text(*lab_cmd, "--only", lab.only, "run only one job: io or cpu", "JOB")
      ->check(CLI::IsMember({"io", "cpu"}).description(""));
  text(*lab_cmd, "--urls", lab.urls_file,
       "file of URLs (one a line) to fetch instead of the mock API", "FILE")
      ->check(CLI::ExistingFile.description(""));
  number(*lab_cmd, "--latency", lab.latency_ms, "mock API latency per request, in ms", 0.0, 10000.0,
         "MS");
  number(*lab_cmd, "--rounds", lab.rounds, "rounds of the six endpoints", 1u, 1000u);
  number(*lab_cmd, "--workers", lab.workers, "thread and process pool size for the I/O job", 1u,
         256u);
  number(*lab_cmd, "--concurrency", lab.concurrency,
         "requests in flight at once with coroutines, 0 for no limit", 0u, 100000u);
  add_range_option(*lab_cmd, lab);
  lab_cmd->add_flag("--json", lab.json, "print the results as JSON on stdout");
  text(*lab_cmd, "--svg", lab.svg_file, "also write a chart of the results to this SVG file",
       "FILE");
  bool lab_no_progress = false;
  lab_cmd->add_flag("--no-progress", lab_no_progress, "never show progress");
#if CONCUR_HAS_MPI
  number(*lab_cmd, "--mpi", lab.mpi_ranks,
         "add a cluster row: both jobs on N spawned MPI ranks (under mpiexec -n N+1 the row "
         "uses the job's ranks without it)",
         0u, 1024u);
  lab.mpi_world = mpi_session && mpi_session->mode() == concur::mpi::launch_mode::static_ranks;
#endif

  concur_cli::serve_options serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "serve the mock API (JSONPlaceholder- and httpbin-like); SIGUSR1 prints its tasks");
  serve_cmd->set_help_flag("-h,--help", "print this help and exit");
  text(*serve_cmd, "--host", serve.host, "address to listen on", "ADDRESS");
  number(*serve_cmd, "--port", serve.port, "port to listen on, 0 picks a free one", 0u, 65535u);
  number(*serve_cmd, "--latency", serve.latency_ms, "added to every response, in ms", 0.0, 600000.0,
         "MS");
  number(*serve_cmd, "--jitter", serve.jitter_ms, "random extra latency up to this, in ms", 0.0,
         600000.0, "MS");
  number(*serve_cmd, "--error-rate", serve.error_rate, "fraction of requests answered with 500",
         0.0, 1.0, "P");
  number(*serve_cmd, "--threads", serve.threads, "event loops (one per core with reuse-port)", 1u,
         256u);
  serve_cmd->add_flag("-q,--quiet", serve.quiet, "don't log each request");
  text(*serve_cmd, "--log-format", serve.log_format, "log line format on stderr: common or json",
       "FORMAT")
      ->check(CLI::IsMember({"common", "json"}).description(""));
  text(*serve_cmd, "--static", serve.static_dir, "also serve this folder's files below /static/",
       "DIR")
      ->check(CLI::ExistingDirectory.description(""));
  serve_cmd->add_flag("--exit-with-parent", serve.exit_with_parent)->group("");

  concur_cli::fetch_options fetch;
  auto* fetch_cmd = app.add_subcommand("fetch", "download URLs concurrently");
  fetch_cmd->set_help_flag("-h,--help", "print this help and exit");
  fetch_cmd->add_option("urls", fetch.urls, "URLs to fetch")->type_name("URL");
  text(*fetch_cmd, "-i,--input", fetch.input_file, "file of URLs, one a line; - reads stdin",
       "FILE");
  number(*fetch_cmd, "-j,--jobs", fetch.jobs, "downloads in flight at once", 1u, 10000u);
  number(*fetch_cmd, "--per-host", fetch.per_host, "downloads at once from one host; 0: only -j",
         0u, 10000u);
  number(*fetch_cmd, "--retries", fetch.retries, "retries after a failure, with backoff", 0u, 20u);
  number(*fetch_cmd, "--timeout", fetch.timeout_s,
         "seconds for one URL, all tries and waits; 0: none", 0.0, 86400.0, "S");
  number(*fetch_cmd, "--attempt-timeout", fetch.attempt_timeout_s, "seconds for one try; 0: none",
         0.0, 86400.0, "S");
  text(*fetch_cmd, "-o,--output", fetch.output_dir, "save bodies into this directory", "DIR");
  fetch_cmd->add_flag("-c,--continue", fetch.resume,
                      "continue the partial files of an earlier run (with -o)");
  fetch_cmd->add_flag("-q,--quiet", fetch.quiet, "print only errors");
  fetch_cmd->add_flag("--json", fetch.json, "a JSON object per URL on stdout (summary on stderr)");
  bool fetch_no_progress = false;
  fetch_cmd->add_flag("--no-progress", fetch_no_progress, "never show the progress bar");

  std::string where = "concur";
  try {
    app.parse(argc, argv);
    for (auto* sub : {lab_cmd, serve_cmd, fetch_cmd})
      if (sub->parsed()) where += " " + sub->get_name();
    if (fetch_cmd->parsed() && fetch.urls.empty() && fetch.input_file.empty())
      throw CLI::ValidationError("give URLs as arguments or a file with -i");
    if (fetch.resume && fetch.output_dir.empty())
      throw CLI::ValidationError("-c/--continue needs -o/--output (the files to continue)");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    for (auto* sub : {lab_cmd, serve_cmd, fetch_cmd})
      if (sub->parsed() && where == "concur") where += " " + sub->get_name();
    return usage_error(where, e.what());
  }
  lab.progress = !lab_no_progress;
  fetch.progress = !fetch_no_progress;

  try {
    if (lab_cmd->parsed()) return concur_cli::run_lab(lab);
    if (serve_cmd->parsed()) return concur_cli::run_serve(serve);
    return concur_cli::run_fetch(fetch);
  } catch (const std::exception& e) {
    std::cerr << where << ": error: " << e.what() << "\n";
    return 1;
  }
}
