// The registries a user's peer has met, with the fingerprint of each one's TLS key (SPEC 10):
// the peer pins a registry's key the first time it connects to it and from then on refuses any
// other key for that address, as SSH's accept-new does. The file is
// $XDG_DATA_HOME/parley/known_registries (else ~/.local/share/parley/known_registries), mode 0600
// in a folder of mode 0700, one registry a line:
//   <host>:<port> SHA256:<base64>
// (an IPv6 host in brackets: [::1]:3331). Blank lines and lines starting with '#' are comments;
// to accept a registry's new key, delete its line.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::peer::tls {

// Where the file is for this user; empty when neither XDG_DATA_HOME (absolute) nor HOME is set.
std::filesystem::path known_registries_path();

// "host:port", the key of a line: an IPv6 host goes in brackets.
std::string registry_address(std::string_view host, unsigned port);

class known_registries {
 public:
  // The file's lines; a missing file is an empty list. Nothing on a read error (the message in
  // `error`): a peer that cannot read its pins must not treat every registry as new.
  static std::optional<known_registries> load(const std::filesystem::path& file,
                                              std::string& error);

  struct verdict {
    enum class kind { unknown, matches, changed } what;
    std::string pinned;    // changed: the fingerprint on file
    std::size_t line = 0;  // matches, changed: its line number (1-based)
  };
  verdict check(std::string_view address, std::string_view fingerprint) const;

  // Appends the pin (creating the folder 0700 and the file 0600). False, with `error`, when the
  // file cannot be written: the peer then says so and goes on without a pin.
  bool add(std::string_view address, std::string_view fingerprint, std::string& error);

  const std::filesystem::path& file() const { return file_; }
  // Lines that are neither a comment nor "<address> <fingerprint>": kept, never matched.
  std::size_t malformed_lines() const { return malformed_; }

 private:
  struct pin {
    std::string address;
    std::string fingerprint;
    std::size_t line;
  };
  std::filesystem::path file_;
  std::vector<pin> pins_;
  std::size_t lines_ = 0;
  std::size_t malformed_ = 0;
};

}  // namespace parley::peer::tls
