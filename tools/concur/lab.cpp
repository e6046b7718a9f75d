// concur lab: the tutorials' experiment, run for real. The same I/O-bound job (GET the six
// JSONPlaceholder resources, several rounds) and the same CPU-bound job (count primes) are
// done sequentially, with a thread pool, with a process pool and with coroutines; each run is
// measured (wall, CPU, peak memory of the whole process tree) and checked for the same answer.
#include <unistd.h>

#include <concur/aio.hpp>
#include <concur/config.hpp>
#include <concur/futures.hpp>
#include <concur/http.hpp>
#include <concur/mp.hpp>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "child_server.hpp"
#include "jobs.hpp"
#include "options.hpp"
#include "report.hpp"
#include "url_file.hpp"
#include "usage_sampler.hpp"

#if CONCUR_HAS_MPI
#include <concur/mpi.hpp>
#endif

namespace concur_cli {

#if CONCUR_HAS_MPI
using cluster_pool = concur::mpi_pool_executor;
std::string cluster_label(const cluster_pool& ranks) {
  return "cluster (" + std::to_string(ranks.max_workers()) + " MPI ranks)";
}
#else
struct cluster_pool {};  // built without MPI: no cluster row
#endif

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }
bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

namespace {

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

using fetch_result = std::pair<int, std::uint64_t>;

// One line on stderr that says what runs now, rewritten in place; only on a terminal, so
// pipes and files get clean output.
class progress_line {
 public:
  explicit progress_line(bool enabled) : enabled_(enabled && stderr_is_terminal()) {}
  ~progress_line() { clear(); }
  void show(const std::string& text) {
    if (!enabled_) return;
    std::cerr << "\r\033[K" << text << std::flush;
    shown_ = true;
  }
  void clear() {
    if (enabled_ && shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

struct outcome {
  std::size_t ok = 0, failed = 0;
  std::string check;
};

model_result measure(model_kind kind, std::string label, pid_t server_pid,
                     const std::function<outcome()>& run) {
  usage_sampler sampler(server_pid);
  outcome o = run();
  const usage u = sampler.stop();
  return model_result{kind, std::move(label), u.wall_s, u.cpu_s, u.peak_rss_kib,
                      o.ok, o.failed,         o.check};
}

outcome summarize_fetches(const std::vector<fetch_result>& results) {
  outcome o;
  std::uint64_t bytes = 0;
  for (const auto& [status, size] : results) {
    if (status >= 200 && status < 300)
      ++o.ok;
    else
      ++o.failed;
    bytes += size;
  }
  o.check = "bytes=" + format_bytes(bytes);
  return o;
}

concur::aio::task<fetch_result> fetch_async(concur::http::client_session& session, std::string url,
                                            concur::aio::semaphore* limit) {
  if (limit) co_await limit->acquire();
  fetch_result result{0, 0};
  try {
    auto r = co_await session.get(std::move(url));
    const std::string body = co_await r.read();
    result = {r.status(), body.size()};
  } catch (const std::exception&) {
    result = {0, 0};  // counted as failed, like the other models
  }
  if (limit) limit->release();
  co_return result;
}

concur::aio::task<std::vector<fetch_result>> fetch_all(std::vector<std::string> urls,
                                                       unsigned concurrency) {
  concur::http::client_session session;
  std::optional<concur::aio::semaphore> limit;
  if (concurrency > 0) limit.emplace(concurrency);
  std::vector<concur::aio::task<fetch_result>> tasks;
  tasks.reserve(urls.size());
  for (auto& u : urls)
    tasks.push_back(fetch_async(session, std::move(u), limit ? &*limit : nullptr));
  auto results = co_await concur::aio::gather(std::move(tasks));
  co_await session.close();
  co_return results;
}

job_result io_job(const lab_options& opt, const std::vector<std::string>& urls, pid_t server_pid,
                  const std::string& what, progress_line& progress, cluster_pool* ranks) {
  job_result job;
  job.id = "io";
  job.title = "I/O-bound: " + what + " = " + std::to_string(urls.size()) + " GET requests";
  const std::string workers = std::to_string(opt.workers);

  progress.show("lab: I/O job, sequential...");
  job.models.push_back(
      measure(model_kind::sequential, "sequential (blocking client)", server_pid, [&] {
        std::vector<fetch_result> r;
        for (const auto& u : urls) r.push_back(fetch_blocking(u));
        return summarize_fetches(r);
      }));

  progress.show("lab: I/O job, threads...");
  job.models.push_back(
      measure(model_kind::threads, "threads (" + workers + " workers)", server_pid, [&] {
        concur::thread_pool_executor pool(opt.workers);
        std::vector<concur::future<fetch_result>> futures;
        for (const auto& u : urls) futures.push_back(pool.submit(fetch_blocking, u));
        std::vector<fetch_result> r;
        for (auto& f : futures) r.push_back(f.result());
        return summarize_fetches(r);
      }));

  progress.show("lab: I/O job, processes...");
  job.models.push_back(
      measure(model_kind::processes, "processes (" + workers + " workers)", server_pid, [&] {
        concur::mp::pool pool(opt.workers);
        auto r = pool.map(fetch_blocking, urls, 1);
        return summarize_fetches(r);
      }));

#if CONCUR_HAS_MPI
  if (ranks != nullptr) {
    progress.show("lab: I/O job, MPI ranks...");
    job.models.push_back(measure(model_kind::cluster, cluster_label(*ranks), server_pid, [&] {
      std::vector<fetch_result> r;
      for (const fetch_result& f : ranks->map({.chunksize = 1}, fetch_blocking, urls))
        r.push_back(f);
      return summarize_fetches(r);
    }));
  }
#else
  (void)ranks;
#endif

  progress.show("lab: I/O job, coroutines...");
  const std::string limit =
      opt.concurrency ? "semaphore " + std::to_string(opt.concurrency) : "one session";
  job.models.push_back(measure(
      model_kind::coroutines, "coroutines (" + limit + ")", server_pid,
      [&] { return summarize_fetches(concur::aio::run(fetch_all(urls, opt.concurrency))); }));
  return job;
}

concur::aio::task<std::uint64_t> count_primes_async(std::pair<std::uint64_t, std::uint64_t> range) {
  // Yields between slices, so the loop interleaves the coroutines: the total stays the same.
  std::uint64_t count = 0;
  for (auto lo = range.first; lo < range.second;) {
    const auto hi = std::min(range.second, lo + 20'000);
    count += count_primes({lo, hi});
    lo = hi;
    co_await concur::aio::sleep(std::chrono::seconds(0));
  }
  co_return count;
}

concur::aio::task<std::uint64_t> count_primes_gathered(
    std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks) {
  std::vector<concur::aio::task<std::uint64_t>> tasks;
  for (auto c : chunks) tasks.push_back(count_primes_async(c));
  std::uint64_t total = 0;
  for (auto n : co_await concur::aio::gather(std::move(tasks))) total += n;
  co_return total;
}

job_result cpu_job(const lab_options& opt, unsigned cores, progress_line& progress,
                   cluster_pool* ranks) {
  job_result job;
  job.id = "cpu";
  job.title = "CPU-bound: count the primes in [" + std::to_string(opt.primes_lo) + ", " +
              std::to_string(opt.primes_hi) + ")";
  // More chunks than workers, so a worker that finishes early takes another.
  const auto chunks = split_range(opt.primes_lo, opt.primes_hi, 8 * std::size_t(cores));
  std::uint64_t expected = 0;
  auto checked = [&](std::uint64_t found) {
    outcome o;
    (found == expected ? o.ok : o.failed) = chunks.size();
    o.check = "primes=" + std::to_string(found) + (found == expected ? "" : " (WRONG)");
    return o;
  };
  const std::string n = std::to_string(cores);

  progress.show("lab: CPU job, sequential...");
  job.models.push_back(measure(model_kind::sequential, "sequential", -1, [&] {
    expected = count_primes({opt.primes_lo, opt.primes_hi});
    return checked(expected);
  }));

  progress.show("lab: CPU job, threads...");
  job.models.push_back(measure(model_kind::threads, "threads (" + n + " workers)", -1, [&] {
    concur::thread_pool_executor pool(cores);
    std::vector<concur::future<std::uint64_t>> futures;
    for (auto c : chunks) futures.push_back(pool.submit(count_primes, c));
    std::uint64_t total = 0;
    for (auto& f : futures) total += f.result();
    return checked(total);
  }));

  progress.show("lab: CPU job, processes...");
  job.models.push_back(measure(model_kind::processes, "processes (" + n + " workers)", -1, [&] {
    concur::mp::pool pool(cores);
    std::uint64_t total = 0;
    for (auto v : pool.map(count_primes, chunks, 1)) total += v;
    return checked(total);
  }));

#if CONCUR_HAS_MPI
  if (ranks != nullptr) {
    progress.show("lab: CPU job, MPI ranks...");
    job.models.push_back(measure(model_kind::cluster, cluster_label(*ranks), -1, [&] {
      std::uint64_t total = 0;
      for (const std::uint64_t v : ranks->map({.chunksize = 1}, count_primes, chunks)) total += v;
      return checked(total);
    }));
  }
#else
  (void)ranks;
#endif

  progress.show("lab: CPU job, coroutines...");
  job.models.push_back(measure(model_kind::coroutines, "coroutines (one loop)", -1, [&] {
    return checked(concur::aio::run(count_primes_gathered(chunks)));
  }));
  return job;
}

std::vector<std::string> read_urls(const std::string& file) {
  auto urls = read_url_file(file, "lab");
  if (urls.empty()) throw concur::error("lab: URL file '" + file + "' holds no URLs");
  return urls;
}

}  // namespace

int run_lab(const lab_options& opt) {
  // The process pool's fork server starts before any thread of ours exists.
  concur::mp::init();
  lab_result lab;
  lab.cores = unsigned(concur::mp::cpu_count());
  lab.date = today_utc();
  progress_line progress(opt.progress);
  // Made once for both jobs: spawning ranks takes about half a second, not part of a row.
  std::optional<cluster_pool> ranks;
#if CONCUR_HAS_MPI
  if (opt.mpi_ranks > 0 || opt.mpi_world) {
    progress.show("lab: starting the MPI ranks...");
    ranks.emplace(opt.mpi_ranks);
  }
#endif

  if (opt.only.empty() || opt.only == "io") {
    std::vector<std::string> urls;
    std::unique_ptr<child_server> server;
    std::string what;
    if (!opt.urls_file.empty()) {
      const auto list = read_urls(opt.urls_file);
      for (unsigned r = 0; r < opt.rounds; ++r) urls.insert(urls.end(), list.begin(), list.end());
      what = std::to_string(list.size()) + " URLs from " + opt.urls_file + " x " +
             std::to_string(opt.rounds) + " rounds";
    } else {
      progress.show("lab: starting the mock API...");
      server = std::make_unique<child_server>(opt.latency_ms);
      static constexpr const char* endpoints[] = {"posts",  "comments", "albums",
                                                  "photos", "todos",    "users"};
      for (unsigned r = 0; r < opt.rounds; ++r)
        for (const char* e : endpoints) urls.push_back(server->base_url() + "/" + e);
      char latency[32];
      std::snprintf(latency, sizeof latency, "%g ms", opt.latency_ms);
      what = "6 endpoints x " + std::to_string(opt.rounds) + " rounds on the mock API (" + latency +
             " latency)";
    }
    lab.jobs.push_back(
        io_job(opt, urls, server ? server->pid() : -1, what, progress, ranks ? &*ranks : nullptr));
  }
  if (opt.only.empty() || opt.only == "cpu")
    lab.jobs.push_back(cpu_job(opt, lab.cores, progress, ranks ? &*ranks : nullptr));
  progress.clear();
  lab.advice = advise(lab);

  if (!opt.svg_file.empty()) {
    std::ofstream svg(opt.svg_file);
    if (!(svg << to_svg(lab))) throw concur::error("lab: cannot write '" + opt.svg_file + "'");
  }
  if (opt.json) {
    std::cout << to_json(lab).dump(2) << "\n";
  } else {
    const bool tty = stdout_is_terminal();
    const char* lang = std::getenv("LANG");
    const bool unicode = lang && std::string(lang).find("UTF-8") != std::string::npos;
    std::cout << "concur lab on " << lab.cores << " cores\n\n";
    for (const auto& job : lab.jobs) {
      print_table(std::cout, job, unicode, tty && !std::getenv("NO_COLOR"));
      std::cout << "\n";
    }
    print_advice(std::cout, lab.advice);
    if (!opt.svg_file.empty()) std::cout << "\nchart written to " << opt.svg_file << "\n";
  }
  for (const auto& job : lab.jobs)
    for (const auto& m : job.models)
      if (m.failed) return 1;
  return 0;
}

}  // namespace concur_cli
