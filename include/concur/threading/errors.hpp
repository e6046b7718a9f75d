#pragma once
#include <concur/futures/errors.hpp>

namespace concur {

// queue.Empty: get_nowait() on an empty queue, or get(timeout) that ran out of time.
class queue_empty_error : public error {
 public:
  using error::error;
  queue_empty_error() : error("queue is empty") {}
};

// queue.Full: put_nowait() on a full bounded queue, or put(item, timeout) that ran out of time.
class queue_full_error : public error {
 public:
  using error::error;
  queue_full_error() : error("queue is full") {}
};

// queue.ShutDown: put() after shutdown(), or get() once a shut-down queue is empty.
class queue_shut_down_error : public error {
 public:
  using error::error;
  queue_shut_down_error() : error("queue is shut down") {}
};

// Python raises ValueError here; a distinct type lets callers catch exactly this misuse.
class task_done_error : public error {
 public:
  using error::error;
  task_done_error() : error("task_done() called more times than there were items put") {}
};

}  // namespace concur
