#pragma once
// The lab's mock API runs in a child process (this same binary, `concur serve`), so its CPU
// time and memory stay out of the figures measured for the clients.
#include <sys/types.h>

#include <string>

namespace concur_cli {

class child_server {
 public:
  // Starts `concur serve --port 0 --latency MS --quiet --exit-with-parent` and waits (at most
  // 10 s) for the line that names its port. Throws concur::error when it cannot start.
  explicit child_server(double latency_ms);
  ~child_server();  // SIGTERM, then SIGKILL after 5 s; always reaped
  child_server(const child_server&) = delete;
  child_server& operator=(const child_server&) = delete;

  const std::string& base_url() const noexcept { return base_url_; }
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string base_url_;
};

}  // namespace concur_cli
