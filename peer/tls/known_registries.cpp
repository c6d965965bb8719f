#include "peer/tls/known_registries.hpp"

#include "shared/util/host_port.hpp"
#include "shared/util/write_all.hpp"
#include "shared/util/xdg.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

namespace parley::peer::tls {
namespace {

namespace fs = std::filesystem;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

fs::path known_registries_path() {
  const auto data = xdg_directory("XDG_DATA_HOME", fs::path(".local") / "share");
  return data.empty() ? data : data / "parley" / "known_registries";
}

std::string registry_address(std::string_view host, unsigned port) {
  return parley::host_port(host, port);
}

std::optional<known_registries> known_registries::load(const fs::path& file, std::string& error) {
  known_registries known;
  known.file_ = file;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (ec) {
      error = "cannot look at " + file.string() + ": " + ec.message();
      return std::nullopt;
    }
    return known;
  }
  std::ifstream in(file);
  if (!in) {
    error = "cannot read " + file.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  while (std::getline(in, text)) {
    ++known.lines_;
    const std::string_view line = trim(text);
    if (line.empty() || line.front() == '#') continue;
    std::size_t gap = 0;
    while (gap < line.size() && !is_space(line[gap])) ++gap;
    const std::string_view address = line.substr(0, gap);
    const std::string_view fingerprint = trim(line.substr(gap));
    if (address.empty() || fingerprint.empty() ||
        fingerprint.find_first_of(" \t") != std::string_view::npos) {
      ++known.malformed_;
      continue;
    }
    known.pins_.push_back({std::string(address), std::string(fingerprint), known.lines_});
  }
  if (in.bad()) {
    error = "cannot read " + file.string();
    return std::nullopt;
  }
  return known;
}

known_registries::verdict known_registries::check(std::string_view address,
                                                  std::string_view fingerprint) const {
  // The first line for an address decides (a later duplicate is never looked at).
  for (const pin& p : pins_) {
    if (p.address != address) continue;
    if (p.fingerprint == fingerprint) return {verdict::kind::matches, {}, p.line};
    return {verdict::kind::changed, p.fingerprint, p.line};
  }
  return {verdict::kind::unknown, {}, 0};
}

bool known_registries::add(std::string_view address, std::string_view fingerprint,
                           std::string& error) {
  std::error_code ec;
  const fs::path folder = file_.parent_path();
  fs::create_directories(folder.parent_path(), ec);
  // Whom a user talks to is theirs alone: the folder 0700, the file 0600.
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot create " + folder.string() + ": " + std::strerror(errno);
    return false;
  }
  const int fd = ::open(file_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write " + file_.string() + ": " + std::strerror(errno);
    return false;
  }
  std::string line = std::string(address) + " " + std::string(fingerprint) + "\n";
  // A file edited by hand may end without a newline: the pin must not join its last line.
  if (const off_t size = ::lseek(fd, 0, SEEK_END); size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, size - 1) == 1 && last != '\n') line.insert(line.begin(), '\n');
  }
  bool ok = parley::write_all(fd, line);
  int saved = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    error = "cannot write " + file_.string() + ": " + std::strerror(saved);
    return false;
  }
  ++lines_;
  pins_.push_back({std::string(address), std::string(fingerprint), lines_});
  return true;
}

}  // namespace parley::peer::tls
