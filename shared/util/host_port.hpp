// `host:port` as people and URLs write it: an IPv6 address in brackets (`[::1]:4711`), so that
// the port cannot be read as part of the address.
#pragma once

#include <string>
#include <string_view>

namespace parley {

inline std::string host_port(std::string_view host, unsigned port) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  std::string text = ipv6 ? "[" + std::string(host) + "]" : std::string(host);
  return text + ":" + std::to_string(port);
}

}  // namespace parley
