#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace concur::mp::detail {

// What the program asks of a worker; the head of every frame it sends.
enum class task_kind : std::uint8_t {
  call = 1,  // a pool task: reply with the result, then wait for the next
  init = 2,  // a pool initializer: reply, then wait for tasks
  run = 3,   // the target of an mp::process: run it, then exit
};

// First byte of a worker's reply.
enum class reply_status : std::uint8_t { ok = 0, raised = 1 };

struct task_head {
  task_kind kind;
  std::uint64_t invoker;
  std::uint64_t fn;

  static constexpr std::size_t size = 17;

  std::string encode() const {
    std::string s(size, '\0');
    s[0] = static_cast<char>(kind);
    std::memcpy(s.data() + 1, &invoker, 8);
    std::memcpy(s.data() + 9, &fn, 8);
    return s;
  }
  static task_head decode(std::string_view s) {
    task_head h{};
    h.kind = static_cast<task_kind>(s[0]);
    std::memcpy(&h.invoker, s.data() + 1, 8);
    std::memcpy(&h.fn, s.data() + 9, 8);
    return h;
  }
};

}  // namespace concur::mp::detail
