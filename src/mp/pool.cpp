#include "concur/mp/pool.hpp"

namespace concur::mp {

pool::pool(std::size_t processes, initializer init, pool_options options) {
  detail::pool_config cfg;
  cfg.processes = processes == 0 ? cpu_count() : processes;
  cfg.max_tasks_per_child = options.max_tasks_per_child;
  cfg.task_timeout = options.task_timeout;
  cfg.initializer = std::move(init.call_);
  core_ = std::make_unique<detail::process_pool_core>(std::move(cfg));
}

pool::~pool() = default;  // process_pool_core's destructor terminates and joins

void pool::close() { core_->close(); }
void pool::join() { core_->join(); }
void pool::terminate() {
  core_->terminate();
  core_->join();
}
std::size_t pool::size() const noexcept { return core_->size(); }
std::vector<int> pool::pids() const { return core_->pids(); }

void pool::cancel_pending() { core_->cancel_pending(); }

void pool::submit_call(detail::prepared_call call, std::function<void(detail::task_reply&&)> done,
                       std::function<bool()> start, std::function<void()> cancel) {
  detail::pool_task t;
  t.head = {detail::task_kind::call, call.invoker, call.fn};
  t.payload = std::move(call.payload);
  t.on_done = std::move(done);
  t.on_start = std::move(start);
  t.on_cancel = std::move(cancel);
  std::vector<detail::pool_task> v;
  v.push_back(std::move(t));
  submit_tasks(std::move(v));
}

void pool::submit_tasks(std::vector<detail::pool_task> tasks) { core_->submit(std::move(tasks)); }

}  // namespace concur::mp
