#pragma once
// The transport under stream_reader / stream_writer (asyncio's selector transport): one
// socket watched by the loop (aio::fd_watch, edge-triggered), an optional TLS engine, a read
// buffer that the socket's edges fill (until it is empty, the stream ends or the buffer holds
// twice the limit) and a write buffer flushed by the edges while bytes wait. Coroutines park on
// one of two slots (read side, write side) with an optional deadline; the edges wake them.
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "byte_buffer.hpp"
#include "concur/aio.hpp"
#include "concur/net/detail/park.hpp"
#include "concur/net/socket.hpp"
#include "concur/net/streams.hpp"
#include "concur/net/tls.hpp"

namespace concur::net::detail {

class stream_core : public std::enable_shared_from_this<stream_core> {
 public:
  stream_core(aio::event_loop& loop, unique_fd fd, std::string where, std::size_t limit,
              std::size_t high_water);
  stream_core(const stream_core&) = delete;
  stream_core& operator=(const stream_core&) = delete;
  ~stream_core();

  // --- setup (open_connection / accept) ---
  // Waits for a non-blocking connect() to finish.
  aio::task<void> finish_connecting(std::optional<aio::clock::time_point> deadline);
  // Runs the TLS handshake with `engine`; afterwards reads and writes go through it.
  aio::task<void> handshake(tls_engine engine, std::optional<aio::clock::time_point> deadline);
  // Starts the background reader (asyncio's transport starts reading at once).
  void start_reading();

  // --- reader side ---
  std::string_view buffered() const noexcept { return rbuf_.view(); }
  void consume(std::size_t n) noexcept;
  bool at_eof() const noexcept { return eof_ && rbuf_.empty(); }
  std::optional<duration> read_timeout;
  std::size_t limit;

  // --- writer side ---
  void write(std::string_view data);
  void write_eof();
  bool can_write_eof() const noexcept { return !tls_ && !closing_; }
  void close() noexcept;
  void abort() noexcept;
  bool is_closing() const noexcept { return closing_; }
  aio::task<void> wait_closed();
  std::size_t write_buffer_size() const noexcept { return wbuf_.size(); }
  void set_write_limits(std::size_t high, std::size_t low) noexcept {
    high_water_ = high;
    low_water_ = low;
  }

  int fd() const noexcept { return fd_.get(); }
  const std::string& where() const noexcept { return where_; }
  std::string tls_version() const { return tls_ ? tls_->version() : std::string(); }
  endpoint peer;
  endpoint local;

  // For the awaiters.
  std::size_t buffered_size() const noexcept { return rbuf_.size(); }
  bool read_done() const noexcept { return eof_ || error_ || closed_; }
  void check_failure() const {
    if (error_) std::rethrow_exception(error_);
  }
  void ensure_reading() noexcept;
  bool write_ready() const noexcept { return wbuf_.size() <= high_water_ || error_ || closed_; }
  bool write_drained() const noexcept { return wbuf_.size() <= low_water_; }
  park_slot read_slot;
  park_slot write_slot;

 private:
  // The socket's registration with the loop: its edges drive the read pump and the flush.
  class watch final : public aio::fd_watch {
   public:
    explicit watch(stream_core& core) : fd_watch(*core.loop_, core.fd_.get()), core_(core) {}

   private:
    void on_ready(bool readable, bool writable) noexcept override {
      if (readable) core_.on_readable();
      if (writable) core_.on_writable();
    }
    stream_core& core_;
  };

  void on_readable() noexcept;
  void on_writable() noexcept;
  bool read_some();
  void pump_read();
  void flush_now();
  void want_write();
  void drain_tls();
  void fail(std::exception_ptr e) noexcept;
  void finish_close() noexcept;
  void pause_reading() noexcept;
  void resume_reading() noexcept;
  [[noreturn]] void rethrow_failure() const;

  aio::event_loop* loop_;
  unique_fd fd_;
  std::optional<watch> watch_;  // after fd_: leaves the epoll set before the socket closes
  std::string where_;
  std::optional<tls_engine> tls_;
  bool handshaking_ = false;
  byte_buffer rbuf_;
  byte_buffer wbuf_;
  std::string tls_out_;  // scratch for TLS ciphertext on its way to wbuf_
  std::size_t high_water_;
  std::size_t low_water_;
  park_slot closed_slot_;
  aio::handle linger_;
  std::exception_ptr error_;
  bool reading_ = false;  // the edges fill the read buffer (false: paused, or not started)
  bool writing_ = false;  // bytes wait for the socket to take them
  bool eof_ = false;
  bool write_eof_sent_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace concur::net::detail
