// One framed TCP connection, used by the registry's sessions and by the peer (registry link and,
// later, private chats). A reader and a writer coroutine run on the connection's executor, joined
// with asio's awaitable `||`: whichever ends first (EOF, oversized frame, write error, close)
// cancels the other, and the owner is told once through the close handler.
//
// Everything here runs on one io thread: no member is touched from any other thread.
#pragma once

#include "shared/proto/frame.hpp"

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::net {

struct connection_limits {
  std::size_t max_frame_body = 64 * 1024;
  // Outgoing queue bound: a peer that reads slower than it is sent to is dropped, not buffered.
  std::size_t max_queued_frames = 4096;
  std::size_t max_queued_bytes = 8 * 1024 * 1024;
  // How long a graceful close may take: flushing the queue, then waiting for the other side to
  // close its end.
  std::chrono::milliseconds linger{2000};
};

enum class close_cause {
  eof,              // the other side closed
  read_error,       // reset, or another socket error while reading
  write_error,      // the socket failed while writing
  frame_too_large,  // a length header over max_frame_body
  queue_overflow,   // the outgoing queue passed its bound
  closed_locally,   // close() or a finished close_after_flush()
};

const char* describe(close_cause cause);

class framed_connection : public std::enable_shared_from_this<framed_connection> {
 public:
  // Called for each received frame body, in order; the view is valid only during the call.
  using frame_handler = std::function<void(std::string_view body)>;
  // Called exactly once, after the connection has ended for whatever reason; never from inside
  // send() or close().
  using close_handler = std::function<void(close_cause cause, const std::string& detail)>;

  static std::shared_ptr<framed_connection> create(asio::ip::tcp::socket socket,
                                                   connection_limits limits = {});

  void start(frame_handler on_frame, close_handler on_close);

  // Queues one complete frame (header + body). Returns false, and drops the connection, when the
  // queue would pass its bound; returns false too once the connection is closing.
  bool send(proto::frame_ptr frame);
  bool send(std::string frame);

  // Sends everything queued, half-closes, waits for the other side's EOF, closes. All of it
  // within limits.linger: a peer that stops reading is then dropped (write_error). Frames that
  // arrive meanwhile are discarded.
  void close_after_flush();

  // Closes now; whatever is queued is dropped.
  void close(close_cause cause = close_cause::closed_locally, std::string detail = {});

  bool is_open() const { return open_ && !closing_; }
  const asio::ip::tcp::endpoint& remote_endpoint() const { return remote_; }
  asio::ip::tcp::socket& socket() { return socket_; }

  framed_connection(asio::ip::tcp::socket socket, connection_limits limits);

 private:
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();
  void finish();
  void note(close_cause cause, std::string detail);

  asio::ip::tcp::socket socket_;
  connection_limits limits_;
  asio::ip::tcp::endpoint remote_;
  // Used as a condition variable: send() and close() cancel the writer's wait on it.
  asio::steady_timer signal_;
  // Bounds close_after_flush(): flushing and lingering together get limits_.linger.
  asio::steady_timer flush_deadline_;
  std::vector<proto::frame_ptr> queue_;  // frames [head_, end) are still to be written
  std::size_t head_ = 0;
  std::size_t queued_bytes_ = 0;
  std::string body_;
  frame_handler on_frame_;
  close_handler on_close_;
  close_cause cause_ = close_cause::closed_locally;
  std::string detail_;
  bool cause_set_ = false;
  bool open_ = true;
  bool closing_ = false;  // close_after_flush() was called
};

}  // namespace parley::net
