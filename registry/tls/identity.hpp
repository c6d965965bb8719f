// The registry's TLS identity (SPEC 10): the key and certificate it presents, and the
// fingerprint peers pin. Either the operator's (--tls-cert/--tls-key: a CA-issued certificate,
// say) or one the registry makes on its first start, beside its database: an Ed25519 key (mode
// 0600) and a self-signed certificate for it. The fingerprint is of the public key (the
// certificate's SubjectPublicKeyInfo), not of the certificate, so a certificate renewed for the
// same key keeps its pins.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace parley::registry::tls {

struct identity {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path key;          // PEM, private
  std::string fingerprint;            // "SHA256:" and the unpadded base64 of the key's SHA-256
  bool created = false;               // made by this call (first start)
};

struct identity_result {
  std::optional<identity> found;  // set on success
  std::string error;              // else: what is wrong, naming the file
};

// The files a registry whose database is `database` makes for itself: "<database>.tls-key.pem"
// and "<database>.tls-cert.pem".
std::filesystem::path default_key_path(const std::filesystem::path& database);
std::filesystem::path default_certificate_path(const std::filesystem::path& database);

// Loads the pair at these paths. With `create` set, makes what is missing first: both, when
// neither exists; a new self-signed certificate for a key whose certificate is missing (a crash
// between the two writes: the key, so its pins, survive). Files are written whole or not at all,
// the key 0600. A key that others may read (any group or other permission bit), a missing key,
// an unreadable or malformed file, or a key that is not the certificate's is an error naming the
// file.
identity_result load_or_create(const std::filesystem::path& certificate,
                               const std::filesystem::path& key, bool create);

// The fingerprint of a PEM certificate's public key, as identity::fingerprint; empty if the text
// is not a certificate.
std::string fingerprint_of_certificate_pem(const std::string& pem);

}  // namespace parley::registry::tls
