// A certificate authority made by a test, with OpenSSL: a P-256 key and a self-signed CA
// certificate, and leaf certificates it issues for an IP address (for the peer's --ca).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace parley::e2e {

class test_ca {
 public:
  // Writes <dir>/<name>-ca.pem (the CA's certificate) and keeps the CA's key in memory.
  test_ca(const std::filesystem::path& dir, const std::string& name);
  ~test_ca();
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  const std::filesystem::path& certificate() const { return certificate_; }
  // Issues a server certificate for the IP address `ip` (its only subjectAltName), signed by
  // this CA, and writes it and its new key (mode 0600) as PEM files.
  void issue(const std::string& ip, const std::filesystem::path& certificate,
             const std::filesystem::path& key) const;

 private:
  struct holder;
  std::unique_ptr<holder> holder_;
  std::filesystem::path certificate_;
};

}  // namespace parley::e2e
