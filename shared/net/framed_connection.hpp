// One framed TCP connection, used by the registry's sessions and by the peer (registry link and
// private chats). It is a small reactor rather than a pair of coroutines, because the registry
// holds thousands of idle connections and each must cost as little memory as possible:
// - reading waits for readiness (no buffer while waiting), then reads whatever has arrived into
//   one scratch buffer per thread and hands every complete frame over from there; only the bytes
//   of a frame that straddles two reads are copied into the connection, and released once whole;
// - writing gathers queued frames straight from the queue into one non-blocking write, after the
//   handler that queued them has returned (so the frames queued by one event leave together),
//   and waits for writability only when the kernel's buffer is full.
// The owner is told once, through the close handler, after both directions have stopped.
//
// Everything here runs on one io thread: no member is touched from any other thread.
#pragma once

#include "shared/proto/frame.hpp"

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
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
  void start_read();
  void on_readable(std::error_code ec);
  // Hands every complete frame in `input` over, keeps the rest; false once the connection has
  // closed (a frame over its bound, or the frame handler closed it).
  bool consume(std::string_view input);
  // The whole size (header + body) of the frame whose header starts at `header`, or 0 after
  // closing the connection when the header announces more than max_frame_body.
  std::size_t checked_frame_bytes(const char* header);
  void deliver(std::string_view body);
  void schedule_flush();
  void flush();
  void wait_writable();
  // Drops the `written` bytes that have left from the front of the queue.
  void advance(std::size_t written);
  void after_flush();
  void finish_if_done();
  void finish();
  void note(close_cause cause, std::string detail);

  asio::ip::tcp::socket socket_;
  connection_limits limits_;
  asio::ip::tcp::endpoint remote_;
  // Created by close_after_flush() only: most connections never need it.
  std::unique_ptr<asio::steady_timer> linger_timer_;
  std::vector<proto::frame_ptr> queue_;  // frames [head_, end) are still to be written
  std::size_t head_ = 0;
  std::size_t head_written_ = 0;  // bytes of queue_[head_] already written
  std::size_t queued_bytes_ = 0;
  // The start of a frame whose end has not arrived yet; empty (no allocation) between frames.
  std::string partial_;
  frame_handler on_frame_;
  close_handler on_close_;
  std::string detail_;
  close_cause cause_ = close_cause::closed_locally;
  bool cause_set_ = false;
  bool open_ = true;
  bool closing_ = false;        // close_after_flush() was called
  bool flushed_ = false;        // closing, everything is sent and our side is shut down
  bool read_pending_ = false;   // a readiness wait or a posted read is outstanding
  bool write_pending_ = false;  // a posted flush or a writability wait is outstanding
  bool finished_ = false;       // the close handler has been called
};

}  // namespace parley::net
