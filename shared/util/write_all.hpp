#pragma once

#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace parley {

// Writes all of `bytes` to `fd`, again after an interrupted or short write; false, with errno
// set, at the first failure.
inline bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace parley
