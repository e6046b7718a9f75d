#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <concur/version.hpp>
#include <cstdio>
#include <ostream>
#include <sstream>

namespace concur_cli {

std::string_view to_string(model_kind kind) {
  switch (kind) {
    case model_kind::sequential:
      return "sequential";
    case model_kind::threads:
      return "threads";
    case model_kind::processes:
      return "processes";
    case model_kind::coroutines:
      return "coroutines";
    case model_kind::cluster:
      return "cluster";
  }
  return "?";
}

const model_result* job_result::find(model_kind kind) const {
  for (const auto& m : models)
    if (m.kind == kind) return &m;
  return nullptr;
}

double job_result::speedup(const model_result& m) const {
  const auto* seq = find(model_kind::sequential);
  if (!seq || m.wall_s <= 0) return 0;
  return seq->wall_s / m.wall_s;
}

std::string format_seconds(double s) {
  char buf[32];
  if (s < 0.001)
    std::snprintf(buf, sizeof buf, "%.0f us", s * 1e6);
  else if (s < 1)
    std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

std::string format_kib(std::uint64_t kib) {
  char buf[32];
  if (kib < 1024)
    std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(kib));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(kib) / 1024.0);
  return buf;
}

std::string format_bytes(std::uint64_t bytes) {
  return bytes < 1024 ? std::to_string(bytes) + " B" : format_kib(bytes / 1024);
}

namespace {

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Widths count code points, so multi-byte bar characters don't skew the columns.
std::size_t columns(const std::string& s) {
  std::size_t len = 0;
  for (unsigned char c : s) len += (c & 0xC0) != 0x80;
  return len;
}

std::string pad(std::string s, std::size_t width, bool right = false) {
  const std::size_t len = columns(s);
  if (len >= width) return s;
  std::string fill(width - len, ' ');
  return right ? fill + s : s + fill;
}

std::string bar(double fraction, std::size_t width, bool unicode) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  if (!unicode)
    return std::string(static_cast<std::size_t>(std::lround(fraction * double(width))), '#');
  static constexpr const char* eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const auto total = static_cast<std::size_t>(std::lround(fraction * double(width) * 8));
  std::string out;
  for (std::size_t i = 0; i < total / 8; ++i) out += "█";
  out += eighths[total % 8];
  if (out.empty() && fraction > 0) out = "▏";  // a model that ran shows at least a sliver
  return out;
}

const model_result* fastest(const job_result& job) {
  const model_result* best = nullptr;
  for (const auto& m : job.models)
    if (m.failed == 0 && (!best || m.wall_s < best->wall_s)) best = &m;
  return best;
}

std::string times(double x) { return fixed(x, x < 10 ? 1 : 0) + "x"; }

}  // namespace

// `text` in lines of at most `width` columns, the first one led by `first`, the others by
// `rest`.
std::string wrap(const std::string& text, std::size_t width, const std::string& first,
                 const std::string& rest) {
  std::string out = first;
  std::size_t column = first.size();
  bool line_empty = true;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    const std::size_t length = columns(word);
    if (!line_empty && column + 1 + length > width) {
      out += "\n" + rest;
      column = rest.size();
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += length;
    line_empty = false;
  }
  return out;
}

// At most 80 columns (labels up to 28 characters): a row of figures, then the bar of its wall
// time with what was checked and the CPU time.
void print_table(std::ostream& out, const job_result& job, bool unicode, bool color) {
  const char* bold = color ? "\033[1m" : "";
  const char* green = color ? "\033[32m" : "";
  const char* red = color ? "\033[31m" : "";
  const char* reset = color ? "\033[0m" : "";
  out << bold << wrap(job.title, 80, "", "  ") << reset << "\n";
  std::size_t label_width = 5;
  double slowest = 0;
  for (const auto& m : job.models) {
    label_width = std::max(label_width, m.label.size());
    slowest = std::max(slowest, m.wall_s);
  }
  const auto* best = fastest(job);
  out << "  " << pad("model", label_width) << " " << pad("wall", 9, true) << "  "
      << pad("speed-up", 8, true) << "  " << pad("cores", 5, true) << "  "
      << pad("peak mem", 9, true) << "  " << pad("ok", 4, true) << "  " << pad("fail", 4, true)
      << "\n";
  for (const auto& m : job.models) {
    const double sp = job.speedup(m);
    const char* tint = &m == best ? green : (m.failed ? red : "");
    out << "  " << tint << pad(m.label, label_width) << reset << " "
        << pad(format_seconds(m.wall_s), 9, true) << "  " << pad(sp > 0 ? times(sp) : "-", 8, true)
        << "  " << pad(m.wall_s > 0 ? fixed(m.cpu_s / m.wall_s, 2) : "-", 5, true) << "  "
        << pad(format_kib(m.peak_rss_kib), 9, true) << "  " << pad(std::to_string(m.ok), 4, true)
        << "  " << pad(std::to_string(m.failed), 4, true) << "\n";
    out << "    " << tint << pad(bar(slowest > 0 ? m.wall_s / slowest : 0, 40, unicode), 40)
        << reset << "  " << m.check << ", CPU " << format_seconds(m.cpu_s) << "\n";
  }
}

void print_advice(std::ostream& out, const std::vector<std::string>& advice) {
  out << "What this run says:\n";
  for (const auto& line : advice) out << wrap(line, 80, "  - ", "    ") << "\n";
}

std::vector<std::string> advise(const lab_result& lab) {
  std::vector<std::string> advice;
  for (const auto& job : lab.jobs) {
    const auto* seq = job.find(model_kind::sequential);
    const auto* thr = job.find(model_kind::threads);
    const auto* pro = job.find(model_kind::processes);
    const auto* cor = job.find(model_kind::coroutines);
    const auto* best = fastest(job);
    if (job.id == "io") {
      if (seq && seq->wall_s > 0)
        advice.push_back("I/O-bound: sequential kept the CPU busy only " +
                         fixed(100.0 * seq->cpu_s / seq->wall_s, 1) + "% of its " +
                         format_seconds(seq->wall_s) +
                         ": the time went to waiting, which is what "
                         "concurrency wins back.");
      if (thr && cor) {
        const double ratio = thr->wall_s / std::max(cor->wall_s, 1e-9);
        if (ratio > 1.15)
          advice.push_back(
              "Coroutines beat threads by " + times(ratio) + " (" + times(job.speedup(*cor)) +
              " vs " + times(job.speedup(*thr)) +
              " over sequential): one loop kept every request in flight, while the "
              "pool kept only as many as it has workers. Many I/O calls: use coroutines.");
        else if (ratio < 1 / 1.15)
          advice.push_back("Threads beat coroutines here (" + times(job.speedup(*thr)) + " vs " +
                           times(job.speedup(*cor)) +
                           "): with few calls and enough workers, a pool "
                           "is as good and simpler.");
        else
          advice.push_back("Threads and coroutines finished within 15% of each other (" +
                           times(job.speedup(*thr)) + " vs " + times(job.speedup(*cor)) +
                           "): for a handful of slow calls threads are the simpler choice; "
                           "coroutines pull ahead as the number of calls grows.");
      }
      if (pro && thr)
        advice.push_back("Processes reached " + times(job.speedup(*pro)) + " using " +
                         format_kib(pro->peak_rss_kib) +
                         " at peak (threads: " + format_kib(thr->peak_rss_kib) +
                         "): for I/O they buy isolation, not speed.");
    } else if (job.id == "cpu") {
      if (thr && seq) {
        const double sp = job.speedup(*thr);
        if (sp >= 1.3)
          advice.push_back("CPU-bound: threads reached " + times(sp) + " on " +
                           std::to_string(lab.cores) +
                           " cores. C++ has no GIL, so threads run CPU "
                           "work in parallel (Python's threads would stay near 1x here).");
        else if (seq->wall_s < 0.25)
          advice.push_back("CPU-bound: at " + format_seconds(seq->wall_s) +
                           " sequential the job is "
                           "too small for the workers to pay off their start-up (threads: " +
                           times(sp) + "); give a larger --primes-range to see them scale.");
        else
          advice.push_back("CPU-bound: threads reached only " + times(sp) + " on " +
                           std::to_string(lab.cores) +
                           " cores: other work on this machine took "
                           "the cores (compare the CPU column with the wall time).");
      }
      if (pro && thr) {
        const double ratio = pro->wall_s / std::max(thr->wall_s, 1e-9);
        advice.push_back(
            "Processes reached " + times(job.speedup(*pro)) + " (" +
            (ratio > 1.1   ? fixed((ratio - 1) * 100, 0) + "% slower than threads"
             : ratio < 0.9 ? fixed((1 / ratio - 1) * 100, 0) + "% faster than threads"
                           : std::string("level with threads")) +
            "): use them when a crash, a leak or a library that is not thread-safe must "
            "be kept apart from the rest of the program.");
      }
      if (cor && cor->wall_s > 0)
        advice.push_back(
            "Coroutines kept " + fixed(cor->cpu_s / cor->wall_s, 2) +
            " cores busy (CPU time / wall; threads: " +
            (thr && thr->wall_s > 0 ? fixed(thr->cpu_s / thr->wall_s, 2) : std::string("-")) +
            "): one loop runs one piece of code at a time, so they cannot use a second "
            "core for CPU work; hand it to threads with to_thread().");
    }
    const auto* clu = job.find(model_kind::cluster);
    if (clu && seq && clu->failed == 0)
      advice.push_back(
          std::string(job.id == "io" ? "I/O-bound" : "CPU-bound") + ": the MPI ranks reached " +
          times(job.speedup(*clu)) +
          (pro ? " (processes on this machine: " + times(job.speedup(*pro)) + ")" : "") +
          ". The same executor interface runs over ranks on many machines: worth it when the "
          "work outgrows one; on one machine it only adds a message per task (its CPU and "
          "memory columns count rank 0 alone).");
    if (best)
      advice.push_back(std::string("Fastest for the ") +
                       (job.id == "io" ? "I/O-bound" : "CPU-bound") + " job: " + best->label +
                       " (" + format_seconds(best->wall_s) + ").");
  }
  advice.push_back(
      "Decision guide: CPU-bound -> threads (processes for isolation); "
      "few slow I/O calls -> threads; many I/O calls -> coroutines.");
  return advice;
}

nlohmann::json to_json(const lab_result& lab) {
  nlohmann::json j;
  // "schema" changes only when a field changes meaning or goes away (new fields may appear).
  j["schema"] = "concur-lab/1";
  j["version"] = std::string(concur::version());
  j["date"] = lab.date;
  j["cores"] = lab.cores;
  j["jobs"] = nlohmann::json::array();
  for (const auto& job : lab.jobs) {
    nlohmann::json jj{{"id", job.id}, {"title", job.title}, {"models", nlohmann::json::array()}};
    for (const auto& m : job.models)
      jj["models"].push_back({{"model", to_string(m.kind)},
                              {"label", m.label},
                              {"wall_s", m.wall_s},
                              {"cpu_s", m.cpu_s},
                              {"peak_rss_kib", m.peak_rss_kib},
                              {"cores_used", m.wall_s > 0 ? m.cpu_s / m.wall_s : 0.0},
                              {"speedup", job.speedup(m)},
                              {"ok", m.ok},
                              {"failed", m.failed},
                              {"check", m.check}});
    j["jobs"].push_back(std::move(jj));
  }
  j["advice"] = lab.advice;
  return j;
}

namespace {
std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}
}  // namespace

std::string to_svg(const lab_result& lab) {
  constexpr int width = 760, label_w = 230, bar_w = 380, row_h = 26, title_h = 34;
  static constexpr const char* colors[] = {"#8c8c8c", "#3b7dd8", "#d8843b", "#3bb273", "#9b59b6"};
  constexpr int subtitle_h = 22;
  int height = 20 + subtitle_h;
  for (const auto& job : lab.jobs) height += title_h + row_h * int(job.models.size()) + 16;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"10\" y=\"20\" fill=\"#555\">"
      << xml_escape("concur lab " + std::string(concur::version()) + " on " +
                    std::to_string(lab.cores) + " cores, " + lab.date +
                    ": wall time, shorter is better")
      << "</text>\n";
  int y = 20 + subtitle_h;
  for (const auto& job : lab.jobs) {
    double slowest = 0;
    for (const auto& m : job.models) slowest = std::max(slowest, m.wall_s);
    svg << "<text x=\"10\" y=\"" << y + 16 << "\" font-weight=\"bold\">" << xml_escape(job.title)
        << "</text>\n";
    y += title_h;
    for (const auto& m : job.models) {
      const int w = slowest > 0 ? int(std::lround(bar_w * m.wall_s / slowest)) : 0;
      svg << "<text x=\"10\" y=\"" << y + 16 << "\">" << xml_escape(m.label) << "</text>\n"
          << "<rect x=\"" << label_w << "\" y=\"" << y + 3 << "\" width=\"" << std::max(w, 1)
          << "\" height=\"" << row_h - 8 << "\" fill=\"" << colors[int(m.kind)] << "\"/>\n"
          << "<text x=\"" << label_w + std::max(w, 1) + 6 << "\" y=\"" << y + 16 << "\">"
          << xml_escape(format_seconds(m.wall_s))
          << (job.speedup(m) > 0 ? "  (" + times(job.speedup(m)) + ")" : "") << "</text>\n";
      y += row_h;
    }
    y += 16;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace concur_cli
