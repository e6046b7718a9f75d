#pragma once
// The lab's results: one table per job, the advice that follows from them, and the
// renderings (terminal table with bars, JSON, SVG chart).
#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace concur_cli {

enum class model_kind { sequential, threads, processes, coroutines, cluster };
std::string_view to_string(model_kind kind);

struct model_result {
  model_kind kind;
  std::string label;  // e.g. "threads (5 workers)"
  double wall_s = 0;
  double cpu_s = 0;
  std::uint64_t peak_rss_kib = 0;
  std::size_t ok = 0;      // units of work that succeeded (requests answered, chunks counted)
  std::size_t failed = 0;  // units that failed (HTTP errors, refused connections)
  std::string check;       // what was verified, e.g. "primes=8392" or "bytes=1.2 MiB"
};

struct job_result {
  std::string id;     // "io" or "cpu"
  std::string title;  // one line describing the work
  std::vector<model_result> models;

  const model_result* find(model_kind kind) const;
  double speedup(const model_result& m) const;  // over sequential; 0 when there is none
};

struct lab_result {
  unsigned cores = 0;
  std::string date;  // when it ran, YYYY-MM-DD (UTC)
  std::vector<job_result> jobs;
  std::vector<std::string> advice;
};

// Advice derived from what was measured, in the decision guide's terms.
std::vector<std::string> advise(const lab_result& lab);

void print_table(std::ostream& out, const job_result& job, bool unicode, bool color);
void print_advice(std::ostream& out, const std::vector<std::string>& advice);
nlohmann::json to_json(const lab_result& lab);
std::string to_svg(const lab_result& lab);

std::string format_seconds(double s);
std::string format_kib(std::uint64_t kib);
std::string format_bytes(std::uint64_t bytes);

}  // namespace concur_cli
