// Whom the peer trusts as its registry (SPEC 10), and the TLS context that checks it:
// - by default, the key pinned for the registry's address in known_registries: a registry seen
//   for the first time is pinned once its hello arrives (accept-new, as SSH); a key that differs
//   from the pin fails the handshake, so nothing of ours is sent to it;
// - with --ca, OpenSSL's chain and name check against the CA's certificates instead of a pin;
// - with --no-tls, nothing (the plain protocol).
// The context's check runs during the handshake, on the io thread; this object keeps what it
// saw, for the lines the peer shows.
#pragma once

#include "peer/tls/known_registries.hpp"
#include "shared/net/tls_session.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace parley::peer::tls {

struct trust_options {
  std::string host;
  std::uint16_t port = 0;
  bool no_tls = false;
  std::optional<std::string> ca_file;
};

class registry_trust {
 public:
  // Nothing, with `error`, when the pins cannot be read or the CA file does not load: a peer
  // that cannot check the registry must not connect as if it could.
  static std::unique_ptr<registry_trust> make(const trust_options& options, std::string& error);

  // Null with --no-tls. Lives as long as this object.
  const parley::net::tls_context* context() const { return context_.get(); }

  // After the handshake refused the key: the fingerprint presented and the pin it broke.
  struct changed_key {
    std::string presented;
    std::string pinned;
    std::size_t line = 0;
  };
  const std::optional<changed_key>& changed() const { return changed_; }
  const std::filesystem::path& pins_file() const { return pins_file_; }
  bool uses_ca() const { return uses_ca_; }

  // Once the registry has answered over the checked link: pins a key seen for the first time.
  // The line to show the user (which key was pinned where, or why it could not be), or empty
  // when there was nothing new.
  std::string confirm();

 private:
  registry_trust() = default;
  std::unique_ptr<parley::net::tls_context> context_;
  std::optional<known_registries> pins_;
  std::filesystem::path pins_file_;
  std::string address_;
  std::optional<std::string> unpinned_;  // a first-seen key, to pin on confirm()
  std::optional<changed_key> changed_;
  bool uses_ca_ = false;
};

}  // namespace parley::peer::tls
