#include "concur/net/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "concur/net/errors.hpp"

namespace concur::net {

namespace {

// Drains OpenSSL's thread-local error queue into one message (and leaves it empty, so a
// later failure on this thread does not report a stale reason).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

std::shared_ptr<ssl_ctx_st> make_ctx(const SSL_METHOD* method) {
  std::shared_ptr<ssl_ctx_st> ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) throw tls_error("cannot create TLS context: " + openssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

void load_cert_and_key(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    throw tls_error("cannot load certificate '" + cert + "': " + openssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw tls_error("cannot load private key '" + key + "': " + openssl_errors());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw tls_error("private key '" + key + "' does not match certificate '" + cert + "'");
}

bool is_ip_literal(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

tls_context tls_context::client(const tls_client_options& options) {
  auto ctx = make_ctx(TLS_client_method());
  if (options.verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.only_ca_file && SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
      throw tls_error("cannot load the system certificate store: " + openssl_errors());
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1)
    throw tls_error("cannot load CA file '" + options.ca_file + "': " + openssl_errors());
  if (!options.cert_file.empty())
    load_cert_and_key(ctx.get(), options.cert_file,
                      options.key_file.empty() ? options.cert_file : options.key_file);
  return tls_context(std::move(ctx), false, options.verify);
}

tls_context tls_context::server(const tls_server_options& options) {
  if (options.cert_file.empty()) throw tls_error("a TLS server needs a certificate file");
  auto ctx = make_ctx(TLS_server_method());
  load_cert_and_key(ctx.get(), options.cert_file,
                    options.key_file.empty() ? options.cert_file : options.key_file);
  return tls_context(std::move(ctx), true, false);
}

void tls_engine::ssl_free::operator()(ssl_st* s) const noexcept { SSL_free(s); }

tls_engine::tls_engine(const tls_context& ctx, std::string_view server_name, std::string where)
    : ssl_(SSL_new(ctx.native_handle())), where_(std::move(where)) {
  if (!ssl_) throw tls_error(where_ + ": cannot create TLS session: " + openssl_errors());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (!in || !out) {
    BIO_free(in);
    BIO_free(out);
    throw tls_error(where_ + ": out of memory for TLS buffers");
  }
  // An empty memory BIO reports "retry" rather than EOF, which is what a stream wants.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl_.get(), in, out);
  if (ctx.is_server()) {
    SSL_set_accept_state(ssl_.get());
    return;
  }
  SSL_set_connect_state(ssl_.get());
  std::string name(server_name);
  bool ip = is_ip_literal(name);
  if (!name.empty() && !ip) SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
  if (ctx.verifies() && !name.empty()) {
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), name.c_str())
                : SSL_set1_host(ssl_.get(), name.c_str());
    if (ok != 1) throw tls_error(where_ + ": cannot set the host name to verify: " + name);
  }
}

tls_engine::tls_engine(tls_engine&&) noexcept = default;
tls_engine& tls_engine::operator=(tls_engine&&) noexcept = default;
tls_engine::~tls_engine() = default;

void tls_engine::receive(std::string_view ciphertext) {
  while (!ciphertext.empty()) {
    int n = BIO_write(SSL_get_rbio(ssl_.get()), ciphertext.data(),
                      static_cast<int>(std::min<std::size_t>(ciphertext.size(), 1 << 30)));
    if (n <= 0) throw tls_error(where_ + ": cannot buffer TLS input");
    ciphertext.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool tls_engine::has_output() const noexcept {
  return BIO_ctrl_pending(SSL_get_wbio(ssl_.get())) > 0;
}

void tls_engine::take_output(std::string& out) {
  BIO* wbio = SSL_get_wbio(ssl_.get());
  std::size_t pending = BIO_ctrl_pending(wbio);
  if (pending == 0) return;
  auto old = out.size();
  out.resize(old + pending);
  int n = BIO_read(wbio, out.data() + old, static_cast<int>(pending));
  out.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
}

void tls_engine::fail(const char* during, int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  std::string msg = where_ + ": TLS " + during + " failed";
  long verify = SSL_get_verify_result(ssl_.get());
  if (!done_ && verify != X509_V_OK) {
    msg += ": certificate verify failed: ";
    msg += X509_verify_cert_error_string(verify);
    ERR_clear_error();
  } else if (err == SSL_ERROR_SSL) {
    msg += ": " + openssl_errors();
  } else {
    msg += " (SSL error " + std::to_string(err) + ")";
    ERR_clear_error();
  }
  throw tls_error(msg);
}

bool tls_engine::handshake() {
  if (done_) return true;
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    done_ = true;
    return true;
  }
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  fail("handshake", r);
}

tls_engine::read_status tls_engine::read(std::string& out, std::size_t max) {
  auto old = out.size();
  out.resize(old + max);
  std::size_t got = 0;
  int r = SSL_read_ex(ssl_.get(), out.data() + old, max, &got);
  out.resize(old + got);
  if (r == 1) return read_status::data;
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return read_status::want_more;
  if (err == SSL_ERROR_ZERO_RETURN) return read_status::closed;
  fail("read", r);
}

tls_engine::read_status tls_engine::read(char* out, std::size_t max, std::size_t& got) {
  got = 0;
  int r = SSL_read_ex(ssl_.get(), out, max, &got);
  if (r == 1) return read_status::data;
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return read_status::want_more;
  if (err == SSL_ERROR_ZERO_RETURN) return read_status::closed;
  fail("read", r);
}

void tls_engine::write(std::string_view plaintext) {
  while (!plaintext.empty()) {
    std::size_t n = 0;
    int r = SSL_write_ex(ssl_.get(), plaintext.data(), plaintext.size(), &n);
    if (r != 1) fail("write", r);
    plaintext.remove_prefix(n);
  }
}

void tls_engine::shutdown() {
  if (done_) SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

std::string tls_engine::version() const { return SSL_get_version(ssl_.get()); }

}  // namespace concur::net
