#pragma once
// Test support: a self-signed certificate for "localhost" and 127.0.0.1, generated with the
// OpenSSL API into a fresh temporary directory that is removed afterwards.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"

namespace concur_test {

struct self_signed {
  std::string cert_file;
  std::string key_file;
};

// Writes cert.pem and key.pem for CN=<common_name> with SANs DNS:localhost, IP:127.0.0.1.
inline self_signed make_self_signed(const std::filesystem::path& dir,
                                    const std::string& common_name = "localhost") {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + common_name + ",IP:127.0.0.1";
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_EXTENSION* bc =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(cert.get(), bc, -1);
  X509_EXTENSION_free(bc);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw std::runtime_error("X509_sign failed");
  self_signed out{(dir / "cert.pem").string(), (dir / "key.pem").string()};
  std::unique_ptr<FILE, decltype(&std::fclose)> cf(std::fopen(out.cert_file.c_str(), "w"),
                                                   std::fclose);
  std::unique_ptr<FILE, decltype(&std::fclose)> kf(std::fopen(out.key_file.c_str(), "w"),
                                                   std::fclose);
  if (!cf || !kf) throw std::runtime_error("cannot write certificate files");
  PEM_write_X509(cf.get(), cert.get());
  PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return out;
}

}  // namespace concur_test
