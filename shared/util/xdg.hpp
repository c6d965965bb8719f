// The XDG base directories (the freedesktop.org base-directory rules): `$<variable>` when it is
// an absolute path, else `$HOME/<fallback>`; empty when neither is known.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace parley {

inline std::filesystem::path xdg_directory(const char* variable,
                                           const std::filesystem::path& fallback) {
  if (const char* xdg = std::getenv(variable); xdg && *xdg == '/') return xdg;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / fallback;
  return {};
}

}  // namespace parley
