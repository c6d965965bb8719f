#include "peer/tls/registry_trust.hpp"

#include <utility>

namespace parley::peer::tls {

std::unique_ptr<registry_trust> registry_trust::make(const trust_options& options,
                                                     std::string& error) {
  std::unique_ptr<registry_trust> trust(new registry_trust());
  if (options.no_tls) return trust;
  if (options.ca_file) {
    trust->uses_ca_ = true;
    trust->context_ = parley::net::tls_context::client_ca(*options.ca_file, options.host, error);
    if (!trust->context_) return nullptr;
    return trust;
  }
  trust->address_ = registry_address(options.host, options.port);
  trust->pins_file_ = known_registries_path();
  if (!trust->pins_file_.empty()) {
    trust->pins_ = known_registries::load(trust->pins_file_, error);
    if (!trust->pins_) return nullptr;
  }
  auto* self = trust.get();
  trust->context_ = parley::net::tls_context::client_pinned(
      [self](const std::string& fingerprint) {
        // No file to keep pins in (no HOME): every connection is a first one.
        if (!self->pins_) {
          self->unpinned_ = fingerprint;
          return true;
        }
        const auto verdict = self->pins_->check(self->address_, fingerprint);
        switch (verdict.what) {
          case known_registries::verdict::kind::matches: return true;
          case known_registries::verdict::kind::unknown: self->unpinned_ = fingerprint; return true;
          case known_registries::verdict::kind::changed:
            self->changed_ = changed_key{fingerprint, verdict.pinned, verdict.line};
            return false;
        }
        return false;
      },
      error);
  if (!trust->context_) return nullptr;
  return trust;
}

std::string registry_trust::confirm() {
  if (!unpinned_) return {};
  const std::string fingerprint = std::move(*unpinned_);
  unpinned_.reset();
  if (!pins_) {
    return "The registry's key is " + fingerprint +
           "; it is not pinned: set HOME or XDG_DATA_HOME to keep pins";
  }
  std::string error;
  if (!pins_->add(address_, fingerprint, error))
    return "The registry's key " + fingerprint + " could not be pinned: " + error;
  return "First connection to " + address_ + ": its key " + fingerprint + " is now pinned in " +
         pins_->file().string();
}

}  // namespace parley::peer::tls
