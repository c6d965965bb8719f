// A loopback TCP proxy for the end-to-end tests: it listens on 127.0.0.1 (an ephemeral port),
// connects each accepted connection to a target port, relays both ways on its own thread, and
// records every byte it receives, so a test can check what an observer of the wire would see.
// Hooks tamper with one connection's traffic in one direction: a frame (Parley's framing, a
// 4-byte big-endian length then the body) dropped, replaced or replayed, or one byte flipped.
// In pass-through mode it assumes no framing and only relays bytes (TLS, say).
#pragma once

#include "tests/e2e/child_process.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace parley::e2e {

// Which way bytes go through the proxy.
enum class direction {
  to_target,  // from the client that connected to the proxy, to the target
  to_client,  // from the target, back to the client
};

// What the proxy read from one side of one connection, in one read.
struct capture_chunk {
  std::size_t connection = 0;  // 0 for the first connection accepted, then 1, 2, ...
  direction way = direction::to_target;
  std::string bytes;
};

// What a frame hook decides for one whole frame.
enum class frame_verdict {
  forward,  // send it on, with its body as the hook left it (changed: a replaced frame)
  drop,     // send nothing
  replay,   // send it on twice in a row
};

// Called on the proxy's thread for each frame of one connection and direction, with the
// frame's index in that stream (0 for the first) and its body, which it may change. The
// proxy writes the header again for the body's new length.
using frame_hook = std::function<frame_verdict(std::size_t frame_index, std::string& body)>;

enum class relay_mode {
  frames,        // frames are reassembled before they are sent on, so frame hooks can act
  pass_through,  // bytes are sent on as they come; frame hooks are not called
};

class tcp_proxy {
 public:
  // Starts listening and the relay thread at once.
  explicit tcp_proxy(std::uint16_t target_port, relay_mode mode = relay_mode::pass_through);
  // Stops the thread, closes every connection and joins.
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  // Where clients connect.
  std::uint16_t port() const { return port_; }

  // Tampering, for connections that may not exist yet (they are numbered as they are accepted).
  // A hook for the frames of `connection` going `way` (frames mode only), replacing any before.
  void set_frame_hook(std::size_t connection, direction way, frame_hook hook);
  // The byte at `offset` in the stream of `connection` going `way` (counted from the stream's
  // first byte, as received) is sent XORed with `mask`. Works in both modes.
  void flip_byte(std::size_t connection, direction way, std::size_t offset,
                 unsigned char mask = 0x01);
  // Sends `bytes` as they are to the receiving end of `way` on `connection`, after whatever the
  // proxy has sent there already: a captured frame replayed later, or on another connection.
  // False if that connection is not open (yet, or any more).
  bool inject(std::size_t connection, direction way, std::string bytes);

  // The capture: every byte received, before any tampering.
  // Whether `text` was seen in either direction on any connection (across read boundaries).
  bool capture_contains(std::string_view text) const;
  // Everything one connection sent one way, in order.
  std::string captured(std::size_t connection, direction way) const;
  // Every read, in the order the proxy made them.
  std::vector<capture_chunk> chunks() const;
  // How many connections have been accepted.
  std::size_t connections() const;
  // How many frames of `connection` going `way` the proxy has sent on or dropped (frames mode).
  std::size_t frames_seen(std::size_t connection, direction way) const;
  // Whether `connection` has been accepted and since closed on both sides.
  bool closed(std::size_t connection) const;

  // Waits, without polling, until the condition holds or `timeout` passes; false on timeout.
  bool wait_for_capture(std::string_view text, milliseconds timeout = default_timeout) const;
  bool wait_for_connections(std::size_t count, milliseconds timeout = default_timeout) const;
  bool wait_for_frames(std::size_t connection, direction way, std::size_t count,
                       milliseconds timeout = default_timeout) const;
  bool wait_closed(std::size_t connection, milliseconds timeout = default_timeout) const;

 private:
  struct stream;
  struct link;
  using stream_key = std::pair<std::size_t, direction>;

  void run();
  void accept_connections();
  // Reads what the sending side of `way` has, records it, and queues it (tampered with) for
  // the receiving side.
  void relay(link& connection, direction way);
  void queue_frames(link& connection, direction way, stream& state);
  void take_injections();
  void wake() const;

  relay_mode mode_;
  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  unique_fd listener_;
  // The thread's wake-up: stop, or bytes injected. Written from any thread.
  unique_fd wake_read_;
  unique_fd wake_write_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  // Everything below is guarded by mutex_.
  bool stopping_ = false;
  std::size_t accepted_ = 0;
  std::vector<capture_chunk> chunks_;
  std::map<stream_key, std::string> captured_;
  std::map<stream_key, std::size_t> frames_seen_;
  std::map<stream_key, frame_hook> frame_hooks_;
  std::map<stream_key, std::vector<std::pair<std::size_t, unsigned char>>> flips_;
  std::vector<std::pair<stream_key, std::string>> injections_;
  std::vector<bool> closed_;  // by connection index: closed on both sides

  // Owned by the relay thread alone.
  std::vector<std::unique_ptr<link>> links_;
  std::thread thread_;
};

}  // namespace parley::e2e
