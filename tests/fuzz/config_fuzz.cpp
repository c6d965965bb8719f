// libFuzzer target for the peer's peer.toml (peer/app/config.cpp, issue 12): any bytes as the
// file must give a configuration or a message naming the file, never a crash, an exception or a
// setting out of its range.
#include "peer/app/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = parley::peer::parse_config(text, "peer.toml");
  if (const auto* problem = std::get_if<std::string>(&result)) {
    if (!problem->starts_with("peer.toml:")) std::abort();
    return 0;
  }
  const auto& config = std::get<parley::peer::peer_config>(result);
  if (config.port && *config.port < 1024) std::abort();
  if (config.host && config.host->empty()) std::abort();
  return 0;
}
