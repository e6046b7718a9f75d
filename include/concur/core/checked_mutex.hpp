#pragma once
// A mutex that Clang's -Wthread-safety can reason about. libstdc++'s std::mutex carries no
// capability attributes, so members marked CONCUR_GUARDED_BY(a std::mutex) would not be
// checked at all; checked_mutex is std::mutex with the attributes, and checked_lock is the
// scoped lock the analysis follows. Under other compilers the macros expand to nothing.
#include <mutex>

#if defined(__clang__)
#define CONCUR_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CONCUR_THREAD_ANNOTATION(x)
#endif

#define CONCUR_CAPABILITY(name) CONCUR_THREAD_ANNOTATION(capability(name))
#define CONCUR_SCOPED_CAPABILITY CONCUR_THREAD_ANNOTATION(scoped_lockable)
#define CONCUR_GUARDED_BY(m) CONCUR_THREAD_ANNOTATION(guarded_by(m))
#define CONCUR_PT_GUARDED_BY(m) CONCUR_THREAD_ANNOTATION(pt_guarded_by(m))
#define CONCUR_REQUIRES(...) CONCUR_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CONCUR_EXCLUDES(...) CONCUR_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CONCUR_ACQUIRE(...) CONCUR_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CONCUR_RELEASE(...) CONCUR_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CONCUR_TRY_ACQUIRE(...) CONCUR_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define CONCUR_RETURN_CAPABILITY(m) CONCUR_THREAD_ANNOTATION(lock_returned(m))

namespace concur {

class CONCUR_CAPABILITY("mutex") checked_mutex {
 public:
  checked_mutex() = default;
  checked_mutex(const checked_mutex&) = delete;
  checked_mutex& operator=(const checked_mutex&) = delete;

  void lock() CONCUR_ACQUIRE() { m_.lock(); }
  void unlock() CONCUR_RELEASE() { m_.unlock(); }
  bool try_lock() CONCUR_TRY_ACQUIRE(true) { return m_.try_lock(); }

 private:
  friend class checked_lock;
  std::mutex m_;
};

// std::unique_lock over a checked_mutex. Condition variables wait on native(): the analysis
// treats the mutex as held across the wait, which is what the caller observes.
class CONCUR_SCOPED_CAPABILITY checked_lock {
 public:
  explicit checked_lock(checked_mutex& m) CONCUR_ACQUIRE(m) : lock_(m.m_) {}
  ~checked_lock() CONCUR_RELEASE() {}
  checked_lock(const checked_lock&) = delete;
  checked_lock& operator=(const checked_lock&) = delete;

  void lock() CONCUR_ACQUIRE() { lock_.lock(); }
  void unlock() CONCUR_RELEASE() { lock_.unlock(); }

  std::unique_lock<std::mutex>& native() noexcept { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace concur
