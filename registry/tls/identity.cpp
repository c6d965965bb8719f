#include "registry/tls/identity.hpp"

#include "shared/net/tls_session.hpp"
#include "shared/util/write_all.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

namespace parley::registry::tls {
namespace {

namespace fs = std::filesystem;

// RFC 5280's "no well-defined expiration date": a self-signed certificate is trusted by its
// pinned key, not by its dates, and any end date would only make a working registry fail one day.
constexpr const char* certificate_not_after = "99991231235959Z";

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::string quoted(const fs::path& p) { return "\"" + p.string() + "\""; }

// A file written whole or not at all: a temporary beside it (made here, never one that was
// there: a leftover of a crash is removed, a symbolic link is not followed), fsynced, renamed
// over, and the folder fsynced so that the rename itself survives a power loss.
bool write_file(const fs::path& path, const std::string& bytes, mode_t mode, std::string& error) {
  const fs::path temporary = path.string() + ".new";
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(temporary.c_str(), flags, mode);
  if (fd < 0 && errno == EEXIST && ::unlink(temporary.c_str()) == 0)
    fd = ::open(temporary.c_str(), flags, mode);
  if (fd < 0) {
    error = "cannot create " + quoted(temporary) + ": " + std::strerror(errno);
    return false;
  }
  // open() applies the umask: the mode asked for is the mode wanted.
  bool ok = ::fchmod(fd, mode) == 0 && parley::write_all(fd, bytes) && ::fsync(fd) == 0;
  const int saved = errno;
  ok = ::close(fd) == 0 && ok;
  if (ok && ::rename(temporary.c_str(), path.c_str()) == 0) {
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return true;
  }
  error = "cannot write " + quoted(path) + ": " + std::strerror(ok ? errno : saved);
  ::unlink(temporary.c_str());
  return false;
}

std::string pem_of(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pem_of(X509* certificate) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// A pinning peer checks none of these, but `openssl s_client` and a CA-minded reader find an
// ordinary server certificate: not a CA, for signatures, for TLS servers.
bool add_leaf_extensions(X509* certificate) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  const std::pair<int, const char*> wanted[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
  };
  for (const auto& [nid, value] : wanted) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    const bool added = extension && X509_add_ext(certificate, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    if (!added) return false;
  }
  return true;
}

x509_ptr self_signed(EVP_PKEY* key) {
  x509_ptr certificate(X509_new());
  if (!certificate) return nullptr;
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return nullptr;
  serial[0] &= 0x7f;  // a positive serial number
  std::unique_ptr<BIGNUM, decltype(&BN_free)> number(BN_bin2bn(serial, sizeof serial, nullptr),
                                                     BN_free);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const bool ok =
      number && X509_set_version(certificate.get(), X509_VERSION_3) == 1 &&
      BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate.get())) != nullptr &&
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0) != nullptr &&
      ASN1_TIME_set_string(X509_getm_notAfter(certificate.get()), certificate_not_after) == 1 &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("parley registry"), -1, -1,
                                 0) == 1 &&
      X509_set_issuer_name(certificate.get(), name) == 1 &&
      X509_set_pubkey(certificate.get(), key) == 1 && add_leaf_extensions(certificate.get()) &&
      // Ed25519 signs the whole message: no separate digest.
      X509_sign(certificate.get(), key, nullptr) > 0;
  return ok ? std::move(certificate) : nullptr;
}

// A self-signed certificate for `key`, written to `certificate_path`.
bool create_certificate(EVP_PKEY* key, const fs::path& certificate_path, std::string& error) {
  x509_ptr certificate = self_signed(key);
  const std::string pem = certificate ? pem_of(certificate.get()) : std::string();
  if (pem.empty()) {
    error = "cannot make a self-signed certificate (OpenSSL)";
    return false;
  }
  return write_file(certificate_path, pem, 0644, error);
}

// Makes the pair: the key first, so that a crash in between leaves a key without a certificate,
// which the next start completes (the key, and so every pin of it, survives), rather than a
// certificate for a lost key.
bool create(const fs::path& certificate_path, const fs::path& key_path, std::string& error) {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  const std::string key_pem = key ? pem_of(key.get()) : std::string();
  if (key_pem.empty()) {
    error = "cannot make an Ed25519 key (OpenSSL)";
    return false;
  }
  return write_file(key_path, key_pem, 0600, error) &&
         create_certificate(key.get(), certificate_path, error);
}

bio_ptr open_file(const fs::path& path) { return bio_ptr(BIO_new_file(path.c_str(), "r")); }

}  // namespace

fs::path default_key_path(const fs::path& database) { return database.string() + ".tls-key.pem"; }
fs::path default_certificate_path(const fs::path& database) {
  return database.string() + ".tls-cert.pem";
}

identity_result load_or_create(const fs::path& certificate_path, const fs::path& key_path,
                               bool create_if_missing) {
  std::error_code ec;
  const bool have_key = fs::exists(key_path, ec);
  const bool have_certificate = fs::exists(certificate_path, ec);
  bool created = false;
  if (!have_key && !have_certificate && create_if_missing) {
    std::string error;
    if (!create(certificate_path, key_path, error)) return {std::nullopt, error};
    created = true;
  } else if (have_key && !have_certificate && create_if_missing) {
    // The registry's own pair, interrupted between the key and its certificate (or the
    // certificate removed): the key is read below like any, and gets a new certificate.
    created = true;
  } else if (!have_key || !have_certificate) {
    const fs::path& missing = have_key ? certificate_path : key_path;
    std::string error = "TLS " + std::string(have_key ? "certificate " : "key ") + quoted(missing) +
                        " does not exist";
    // Only the registry's own pair is ever made: a certificate whose key is gone cannot be
    // completed, and is not replaced behind the operator's back.
    if (!have_key && have_certificate && create_if_missing)
      error += " (remove its certificate " + quoted(certificate_path) +
               " to have a new pair made; peers that pinned the old key will refuse the new one)";
    return {std::nullopt, error};
  }

  // Like ssh's "unprotected private key file": a key others may read is no secret any more.
  struct stat key_stat {};
  if (::stat(key_path.c_str(), &key_stat) == 0 && (key_stat.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(key_stat.st_mode & 07777));
    return {std::nullopt, "TLS key " + quoted(key_path) + " may be read by others (mode " + mode +
                              "): make it the owner's alone (chmod 600)"};
  }
  bio_ptr key_file = open_file(key_path);
  pkey_ptr key(key_file ? PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr)
                        : nullptr);
  if (!key) return {std::nullopt, "TLS key " + quoted(key_path) + " cannot be read as a PEM key"};
  if (!have_certificate && created) {
    std::string error;
    if (!create_certificate(key.get(), certificate_path, error)) return {std::nullopt, error};
  }
  bio_ptr certificate_file = open_file(certificate_path);
  x509_ptr certificate(certificate_file
                           ? PEM_read_bio_X509(certificate_file.get(), nullptr, nullptr, nullptr)
                           : nullptr);
  if (!certificate)
    return {std::nullopt,
            "TLS certificate " + quoted(certificate_path) + " cannot be read as a PEM certificate"};
  if (X509_check_private_key(certificate.get(), key.get()) != 1)
    return {std::nullopt, "TLS key " + quoted(key_path) + " is not the key of certificate " +
                              quoted(certificate_path)};
  std::string fingerprint = parley::net::public_key_fingerprint(key.get());
  if (fingerprint.empty()) return {std::nullopt, "cannot hash the TLS key (OpenSSL)"};
  return {identity{certificate_path, key_path, std::move(fingerprint), created}, ""};
}

std::string fingerprint_of_certificate_pem(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) return {};
  EVP_PKEY* key = X509_get0_pubkey(certificate.get());
  return key ? parley::net::public_key_fingerprint(key) : std::string();
}

}  // namespace parley::registry::tls
