// The immutable attribute of a file or folder (what `chattr +i` sets), for the tests of a
// database the registry cannot write. Unlike the permission bits it stops root too: nobody may
// write, rename or remove an immutable file, or create or remove files in an immutable folder.
// Setting it needs CAP_LINUX_IMMUTABLE (root) and a filesystem that has it (ext4, xfs, btrfs; not
// tmpfs or overlayfs).
#pragma once

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

namespace parley::testing {

// Sets (or clears) the attribute; empty on success, else why not (the system's text).
inline std::string set_immutable(const std::filesystem::path& path, bool on) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  // The kernel reads and writes an int here, whatever the ioctl's declared type says.
  int flags = 0;
  std::string error;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
    error = std::strerror(errno);
  } else {
    flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
    if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0) error = std::strerror(errno);
  }
  ::close(fd);
  return error;
}

// Immutable for as long as it lives, so that a failing test still leaves a folder it can remove.
class immutable_scope {
 public:
  explicit immutable_scope(std::filesystem::path path)
      : path_(std::move(path)), error_(set_immutable(path_, true)) {}
  ~immutable_scope() {
    if (error_.empty()) set_immutable(path_, false);
  }
  immutable_scope(const immutable_scope&) = delete;
  immutable_scope& operator=(const immutable_scope&) = delete;

  bool active() const { return error_.empty(); }
  // Why the attribute could not be set (empty when it was).
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path path_;
  std::string error_;
};

}  // namespace parley::testing
