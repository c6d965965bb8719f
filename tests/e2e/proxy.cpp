#include "tests/e2e/proxy.hpp"

#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace parley::e2e {

namespace {

// One read from a socket.
constexpr std::size_t read_chunk_bytes = 16 * 1024;
// A side whose queue holds this much is not read from until the queue drains (back-pressure).
constexpr std::size_t outgoing_bound = 1024 * 1024;
// A frame header announcing more than this is not a Parley frame: the rest of the stream is
// relayed as bytes (the receiver will refuse it; the proxy should not hold it).
constexpr std::size_t reassembly_bound = proto::max_frame_body;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void set_non_blocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

[[noreturn]] void fail_setup(const std::string& what) {
  throw std::runtime_error("proxy: " + what + ": " + std::string(std::strerror(errno)));
}

std::string framed(const std::string& body) {
  std::string frame(proto::frame_header_bytes, '\0');
  proto::write_frame_length(frame.data(), static_cast<std::uint32_t>(body.size()));
  return frame + body;
}

}  // namespace

// One direction of one connection: read from one socket, queued for the other.
struct tcp_proxy::stream {
  std::size_t received = 0;  // bytes read so far: the offset of the next one
  std::string partial;       // frames mode: what has come of a frame not yet whole
  bool unframed = false;     // frames mode: a header out of bounds was seen, relay bytes
  std::string outgoing;      // waiting to be written to the receiving socket
  bool ended = false;        // the sending socket has reached its end
  bool shut = false;         // the receiving socket has been shut down for writing
};

struct tcp_proxy::link {
  std::size_t index = 0;
  unique_fd client;
  unique_fd target;
  stream up;            // direction::to_target
  stream down;          // direction::to_client
  bool broken = false;  // a read or write failed: both sides are closed

  stream& of(direction way) { return way == direction::to_target ? up : down; }
  int source(direction way) const {
    return way == direction::to_target ? client.get() : target.get();
  }
  int sink(direction way) const {
    return way == direction::to_target ? target.get() : client.get();
  }
  bool done() const { return broken || (up.shut && down.shut); }
};

tcp_proxy::tcp_proxy(std::uint16_t target_port, relay_mode mode)
    : mode_(mode), target_port_(target_port) {
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_) fail_setup("socket");
  auto address = loopback(0);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_.get(), SOMAXCONN) != 0)
    fail_setup("listen");
  socklen_t length = sizeof address;
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);

  int wake_pipe[2];
  if (::pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) fail_setup("pipe");
  wake_read_.reset(wake_pipe[0]);
  wake_write_.reset(wake_pipe[1]);
  thread_ = std::thread([this] { run(); });
}

tcp_proxy::~tcp_proxy() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  thread_.join();
}

void tcp_proxy::wake() const {
  const char byte = 0;
  // A full pipe already holds a wake-up: nothing is lost.
  [[maybe_unused]] const auto written = ::write(wake_write_.get(), &byte, 1);
}

// ------------------------------------------------------------------------- hooks

void tcp_proxy::set_frame_hook(std::size_t connection, direction way, frame_hook hook) {
  const std::lock_guard lock(mutex_);
  frame_hooks_[{connection, way}] = std::move(hook);
}

void tcp_proxy::flip_byte(std::size_t connection, direction way, std::size_t offset,
                          unsigned char mask) {
  const std::lock_guard lock(mutex_);
  flips_[{connection, way}].emplace_back(offset, mask);
}

bool tcp_proxy::inject(std::size_t connection, direction way, std::string bytes) {
  {
    const std::lock_guard lock(mutex_);
    if (connection >= accepted_ || closed_[connection]) return false;
    injections_.emplace_back(stream_key{connection, way}, std::move(bytes));
  }
  wake();
  return true;
}

// ------------------------------------------------------------------------- the capture

bool tcp_proxy::capture_contains(std::string_view text) const {
  const std::lock_guard lock(mutex_);
  return std::any_of(captured_.begin(), captured_.end(), [&](const auto& entry) {
    return entry.second.find(text) != std::string::npos;
  });
}

std::string tcp_proxy::captured(std::size_t connection, direction way) const {
  const std::lock_guard lock(mutex_);
  const auto found = captured_.find({connection, way});
  return found == captured_.end() ? std::string() : found->second;
}

std::vector<capture_chunk> tcp_proxy::chunks() const {
  const std::lock_guard lock(mutex_);
  return chunks_;
}

std::size_t tcp_proxy::connections() const {
  const std::lock_guard lock(mutex_);
  return accepted_;
}

std::size_t tcp_proxy::frames_seen(std::size_t connection, direction way) const {
  const std::lock_guard lock(mutex_);
  const auto found = frames_seen_.find({connection, way});
  return found == frames_seen_.end() ? 0 : found->second;
}

bool tcp_proxy::closed(std::size_t connection) const {
  const std::lock_guard lock(mutex_);
  return connection < accepted_ && closed_[connection];
}

bool tcp_proxy::wait_for_capture(std::string_view text, milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return std::any_of(captured_.begin(), captured_.end(), [&](const auto& entry) {
      return entry.second.find(text) != std::string::npos;
    });
  });
}

bool tcp_proxy::wait_for_connections(std::size_t count, milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return accepted_ >= count; });
}

bool tcp_proxy::wait_for_frames(std::size_t connection, direction way, std::size_t count,
                                milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    const auto found = frames_seen_.find({connection, way});
    return found != frames_seen_.end() && found->second >= count;
  });
}

bool tcp_proxy::wait_closed(std::size_t connection, milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout,
                           [&] { return connection < accepted_ && closed_[connection]; });
}

// ------------------------------------------------------------------------- the relay thread

void tcp_proxy::run() {
  std::vector<pollfd> ready;
  while (true) {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    // [0] the wake-up, [1] the listener, then two per link: its client, its target.
    ready.assign({{wake_read_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}});
    for (const auto& connection : links_) {
      short client_events = 0;
      short target_events = 0;
      if (!connection->up.ended && connection->up.outgoing.size() < outgoing_bound)
        client_events |= POLLIN;
      if (!connection->down.ended && connection->down.outgoing.size() < outgoing_bound)
        target_events |= POLLIN;
      if (!connection->down.outgoing.empty()) client_events |= POLLOUT;
      if (!connection->up.outgoing.empty()) target_events |= POLLOUT;
      ready.push_back({connection->client.get(), client_events, 0});
      ready.push_back({connection->target.get(), target_events, 0});
    }
    if (::poll(ready.data(), ready.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("proxy: poll: " + std::string(std::strerror(errno)));
    }
    if (ready[0].revents != 0) {
      char drained[64];
      while (::read(wake_read_.get(), drained, sizeof drained) > 0) {
      }
      take_injections();
    }
    if (ready[1].revents != 0) accept_connections();

    // Only the links that were polled: accept_connections may have added more.
    for (std::size_t i = 0; i * 2 + 3 < ready.size() && i < links_.size(); ++i) {
      auto& connection = *links_[i];
      const auto client_events = ready[2 + i * 2].revents;
      const auto target_events = ready[3 + i * 2].revents;
      if ((client_events & (POLLIN | POLLHUP | POLLERR)) != 0 && !connection.up.ended)
        relay(connection, direction::to_target);
      if ((target_events & (POLLIN | POLLHUP | POLLERR)) != 0 && !connection.down.ended)
        relay(connection, direction::to_client);
      // A hang-up or error on a side already read to its end would be reported at every poll:
      // that side can take nothing more either, so the connection is over.
      if (((client_events & (POLLHUP | POLLERR)) != 0 && connection.up.ended) ||
          ((target_events & (POLLHUP | POLLERR)) != 0 && connection.down.ended))
        connection.broken = true;
    }
    // Write whatever is queued, and pass each end of stream on once its bytes are out.
    for (auto& connection : links_) {
      for (const auto way : {direction::to_target, direction::to_client}) {
        auto& state = connection->of(way);
        while (!connection->broken && !state.outgoing.empty()) {
          const auto sent = ::send(connection->sink(way), state.outgoing.data(),
                                   state.outgoing.size(), MSG_NOSIGNAL);
          if (sent < 0 && errno == EINTR) continue;
          if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (sent < 0) {
            connection->broken = true;
            break;
          }
          state.outgoing.erase(0, static_cast<std::size_t>(sent));
        }
        if (!connection->broken && state.ended && state.outgoing.empty() && !state.shut) {
          ::shutdown(connection->sink(way), SHUT_WR);
          state.shut = true;
        }
      }
    }
    const auto finished = std::stable_partition(links_.begin(), links_.end(),
                                                [](const auto& link) { return !link->done(); });
    if (finished != links_.end()) {
      std::vector<std::size_t> indices;
      for (auto it = finished; it != links_.end(); ++it) indices.push_back((*it)->index);
      links_.erase(finished, links_.end());
      const std::lock_guard lock(mutex_);
      for (const auto index : indices) closed_[index] = true;
      changed_.notify_all();
    }
  }
}

void tcp_proxy::accept_connections() {
  while (true) {
    unique_fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) return;
    // A loopback connect is answered at once: blocking here holds nothing up.
    unique_fd target(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const auto address = loopback(target_port_);
    const bool connected =
        target &&
        ::connect(target.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    std::size_t index = 0;
    {
      const std::lock_guard lock(mutex_);
      index = accepted_++;
      // A target that refused: the client's connection is closed, as if the target had.
      closed_.push_back(!connected);
      changed_.notify_all();
    }
    if (!connected) continue;
    set_non_blocking(target.get());
    auto connection = std::make_unique<link>();
    connection->index = index;
    connection->client = std::move(client);
    connection->target = std::move(target);
    links_.push_back(std::move(connection));
  }
}

void tcp_proxy::take_injections() {
  std::vector<std::pair<stream_key, std::string>> taken;
  {
    const std::lock_guard lock(mutex_);
    taken.swap(injections_);
  }
  for (auto& [key, bytes] : taken) {
    for (auto& connection : links_)
      if (connection->index == key.first) connection->of(key.second).outgoing += bytes;
  }
}

void tcp_proxy::relay(link& connection, direction way) {
  auto& state = connection.of(way);
  char buffer[read_chunk_bytes];
  const auto got = ::recv(connection.source(way), buffer, sizeof buffer, 0);
  if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (got < 0) {
    connection.broken = true;
    return;
  }
  if (got == 0) {
    state.ended = true;
    // A frame cut short by the end is passed on as it came: the receiver sees the truncation.
    state.outgoing += state.partial;
    state.partial.clear();
    return;
  }
  std::string bytes(buffer, static_cast<std::size_t>(got));
  const stream_key key{connection.index, way};
  const auto first = state.received;
  state.received += bytes.size();
  {
    const std::lock_guard lock(mutex_);
    chunks_.push_back({connection.index, way, bytes});
    captured_[key] += bytes;
    if (const auto flips = flips_.find(key); flips != flips_.end())
      for (const auto& [offset, mask] : flips->second)
        if (offset >= first && offset < state.received)
          bytes[offset - first] = static_cast<char>(bytes[offset - first] ^ mask);
    changed_.notify_all();
  }
  if (mode_ == relay_mode::pass_through || state.unframed) {
    state.outgoing += bytes;
    return;
  }
  state.partial += bytes;
  queue_frames(connection, way, state);
}

void tcp_proxy::queue_frames(link& connection, direction way, stream& state) {
  const stream_key key{connection.index, way};
  std::size_t taken = 0;
  while (state.partial.size() - taken >= proto::frame_header_bytes) {
    const auto length = proto::read_frame_length(
        reinterpret_cast<const unsigned char*>(state.partial.data() + taken));
    if (length > reassembly_bound) {
      state.unframed = true;
      break;
    }
    if (state.partial.size() - taken < proto::frame_header_bytes + length) break;
    std::string body = state.partial.substr(taken + proto::frame_header_bytes, length);
    taken += proto::frame_header_bytes + length;

    // The hook runs unlocked: it may call the proxy (inject, say).
    frame_hook hook;
    std::size_t frame_index = 0;
    {
      const std::lock_guard lock(mutex_);
      frame_index = frames_seen_[key];
      if (const auto found = frame_hooks_.find(key); found != frame_hooks_.end())
        hook = found->second;
    }
    const auto verdict = hook ? hook(frame_index, body) : frame_verdict::forward;
    if (verdict != frame_verdict::drop) state.outgoing += framed(body);
    if (verdict == frame_verdict::replay) state.outgoing += framed(body);
    {
      const std::lock_guard lock(mutex_);
      ++frames_seen_[key];
      changed_.notify_all();
    }
  }
  state.partial.erase(0, taken);
  if (state.unframed) {
    state.outgoing += state.partial;
    state.partial.clear();
  }
}

}  // namespace parley::e2e
