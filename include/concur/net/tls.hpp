#pragma once
// TLS for streams through OpenSSL 3 (Python's ssl module as asyncio uses it).
//
// tls_context is ssl.SSLContext: client() is ssl.create_default_context() (verifies the chain
// against the system store and the host name), server() takes a certificate and key.
// tls_engine is ssl.SSLObject over memory BIOs (ssl.MemoryBIO): it never touches a socket, so
// the same engine serves any transport; the stream layer moves its bytes.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace concur::net {

struct tls_client_options {
  // Verify the peer's certificate chain and that it names the host (CERT_REQUIRED and
  // check_hostname=True). Turning it off is explicit, as in Python.
  bool verify = true;
  // Extra trusted CA certificates (PEM file), on top of the system store
  // (SSLContext.load_verify_locations(cafile)).
  std::string ca_file{};
  // Trust only ca_file, not the system store.
  bool only_ca_file = false;
  // Optional client certificate and key (PEM).
  std::string cert_file{};
  std::string key_file{};
};

struct tls_server_options {
  std::string cert_file{};  // PEM chain, leaf first
  std::string key_file{};   // PEM private key
};

class tls_context {
 public:
  static tls_context client(const tls_client_options& options = {});
  static tls_context server(const tls_server_options& options);

  bool is_server() const noexcept { return server_; }
  bool verifies() const noexcept { return verify_; }
  ssl_ctx_st* native_handle() const noexcept { return ctx_.get(); }

 private:
  tls_context(std::shared_ptr<ssl_ctx_st> ctx, bool server, bool verify)
      : ctx_(std::move(ctx)), server_(server), verify_(verify) {}
  std::shared_ptr<ssl_ctx_st> ctx_;
  bool server_ = false;
  bool verify_ = true;
};

class tls_engine {
 public:
  // `server_name`: the host a client connects to (SNI and the name checked in the
  // certificate; an IP literal is checked against IP SANs). `where` ("host:port") goes into
  // error messages.
  tls_engine(const tls_context& ctx, std::string_view server_name, std::string where);
  tls_engine(tls_engine&&) noexcept;
  tls_engine& operator=(tls_engine&&) noexcept;
  ~tls_engine();

  // Ciphertext that arrived from the peer.
  void receive(std::string_view ciphertext);
  // Ciphertext waiting to go to the peer.
  bool has_output() const noexcept;
  // Moves the waiting ciphertext to the end of `out`.
  void take_output(std::string& out);

  // Advances the handshake; true once complete. Throws tls_error (certificate problems name
  // the reason, e.g. "self-signed certificate").
  bool handshake();
  bool handshake_done() const noexcept { return done_; }

  enum class read_status { data, want_more, closed };
  // Appends up to `max` decrypted bytes to `out`. want_more: more ciphertext is needed;
  // closed: the peer sent close_notify.
  read_status read(std::string& out, std::size_t max);
  // The same into raw memory; `got` receives the count.
  read_status read(char* out, std::size_t max, std::size_t& got);
  // Encrypts `plaintext` into the output (always all of it: the output BIO grows).
  void write(std::string_view plaintext);
  // Queues close_notify.
  void shutdown();
  const std::string& where() const noexcept { return where_; }
  // Negotiated protocol name, e.g. "TLSv1.3".
  std::string version() const;

 private:
  [[noreturn]] void fail(const char* during, int ret);
  struct ssl_free {
    void operator()(ssl_st* s) const noexcept;
  };
  std::unique_ptr<ssl_st, ssl_free> ssl_;
  std::string where_;
  bool done_ = false;
};

}  // namespace concur::net
