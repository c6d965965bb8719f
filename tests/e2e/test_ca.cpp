#include "tests/e2e/test_ca.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

namespace parley::e2e {

namespace {

namespace fs = std::filesystem;

struct key_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct x509_free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_ca: ") + what + " failed");
}

key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

// A certificate for `key` named `common_name`, valid from an hour ago for a day, with the
// extensions given as OpenSSL's configuration strings, signed by `issuer_key` (the issuer's
// certificate is `issuer`, or the new one itself).
x509_ptr new_certificate(EVP_PKEY* key, const std::string& common_name, long serial, X509* issuer,
                         EVP_PKEY* issuer_key,
                         const std::vector<std::pair<int, std::string>>& extensions) {
  x509_ptr certificate(X509_new());
  X509* x = certificate.get();
  check(x != nullptr, "X509_new");
  check(X509_set_version(x, X509_VERSION_3) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1, "the serial number");
  check(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0) == 1,
        "the common name");
  X509* signer = issuer != nullptr ? issuer : x;
  check(X509_set_issuer_name(x, X509_get_subject_name(signer)) == 1, "the issuer name");
  X509V3_CTX context;
  X509V3_set_ctx(&context, signer, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    check(extension != nullptr, "an extension");
    const bool added = X509_add_ext(x, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    check(added, "X509_add_ext");
  }
  check(X509_sign(x, issuer_key, EVP_sha256()) > 0, "X509_sign");
  return certificate;
}

void write_certificate(X509* certificate, const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "opening a certificate file");
  const bool written = PEM_write_X509(file, certificate) == 1;
  check(std::fclose(file) == 0 && written, "writing a certificate");
}

void write_key(EVP_PKEY* key, const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "opening a key file");
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  const bool written = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  check(std::fclose(file) == 0 && written, "writing a key");
}

}  // namespace

struct test_ca::holder {
  key_ptr key;
  x509_ptr certificate;
};

test_ca::test_ca(const fs::path& dir, const std::string& name)
    : holder_(std::make_unique<holder>()), certificate_(dir / (name + "-ca.pem")) {
  holder_->key = new_key();
  holder_->certificate =
      new_certificate(holder_->key.get(), name + " test CA", 1, nullptr, holder_->key.get(),
                      {{NID_basic_constraints, "critical,CA:TRUE"},
                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                       {NID_subject_key_identifier, "hash"}});
  write_certificate(holder_->certificate.get(), certificate_);
}

test_ca::~test_ca() = default;

void test_ca::issue(const std::string& ip, const fs::path& certificate, const fs::path& key) const {
  const auto leaf_key = new_key();
  const auto leaf =
      new_certificate(leaf_key.get(), ip, 2, holder_->certificate.get(), holder_->key.get(),
                      {{NID_basic_constraints, "critical,CA:FALSE"},
                       {NID_key_usage, "critical,digitalSignature"},
                       {NID_ext_key_usage, "serverAuth"},
                       {NID_subject_alt_name, "IP:" + ip},
                       {NID_authority_key_identifier, "keyid"}});
  write_certificate(leaf.get(), certificate);
  write_key(leaf_key.get(), key);
}

}  // namespace parley::e2e
