#include "shared/net/framed_connection.hpp"

#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <span>

namespace parley::net {
namespace {

// How many queued frames one gathered write may carry (the kernel's iovec limit is far above).
constexpr std::size_t max_frames_per_write = 64;
// The most one read takes; frames beyond it wait for the next read.
constexpr std::size_t read_chunk_bytes = 64 * 1024;
// Reads one readiness event may do before the connection yields to the others.
constexpr std::size_t max_reads_per_event = 4;
// A drained queue keeps room for this many frames; a burst's larger array is released, so a
// connection that once fell behind does not keep its peak queue while idle.
constexpr std::size_t kept_queue_capacity = 4;

// Every connection on this thread reads into the same buffer and is done with it before the
// next one reads: frames are handed over, and a straddling frame copied out, within one handler.
char* read_scratch() {
  thread_local const auto buffer = std::make_unique<char[]>(read_chunk_bytes);
  return buffer.get();
}

bool would_block(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

const char* describe(close_cause cause) {
  switch (cause) {
    case close_cause::eof: return "closed by the other side";
    case close_cause::read_error: return "read error";
    case close_cause::write_error: return "write error";
    case close_cause::frame_too_large: return "frame over its size bound";
    case close_cause::queue_overflow: return "outgoing queue over its bound (slow reader)";
    case close_cause::closed_locally: return "closed";
  }
  return "closed";
}

std::shared_ptr<framed_connection> framed_connection::create(asio::ip::tcp::socket socket,
                                                             connection_limits limits) {
  return std::make_shared<framed_connection>(std::move(socket), limits);
}

framed_connection::framed_connection(asio::ip::tcp::socket socket, connection_limits limits)
    : socket_(std::move(socket)), limits_(limits) {
  std::error_code ec;
  remote_ = socket_.remote_endpoint(ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Reads and writes are attempted directly and must fail with would_block, never wait.
  socket_.non_blocking(true, ec);
}

void framed_connection::start(frame_handler on_frame, close_handler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  // On a socket that is already closed the wait fails at once, and the close handler runs.
  start_read();
}

void framed_connection::note(close_cause cause, std::string detail) {
  // The first reason wins: later ones are consequences of it.
  if (cause_set_) return;
  cause_set_ = true;
  cause_ = cause;
  detail_ = std::move(detail);
}

// ------------------------------------------------------------------ reading

void framed_connection::start_read() {
  read_pending_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](std::error_code ec) { self->on_readable(ec); });
}

void framed_connection::on_readable(std::error_code ec) {
  if (ec && open_) close(close_cause::read_error, ec.message());
  char* const chunk = read_scratch();
  for (std::size_t reads = 0; open_ && reads < max_reads_per_event; ++reads) {
    const auto n = socket_.read_some(asio::buffer(chunk, read_chunk_bytes), ec);
    if (would_block(ec)) {
      start_read();
      return;
    }
    if (ec) {
      close(ec == asio::error::eof ? close_cause::eof : close_cause::read_error, ec.message());
      break;
    }
    if (!consume(std::string_view(chunk, n))) break;
    // A short read emptied the kernel's buffer: whatever arrives next wakes the wait again.
    if (n < read_chunk_bytes) {
      start_read();
      return;
    }
  }
  if (open_) {
    // More is waiting, but other connections get their turn first.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
    return;
  }
  read_pending_ = false;
  finish_if_done();
}

bool framed_connection::consume(std::string_view input) {
  if (!partial_.empty()) {
    // First complete the frame begun by an earlier read: its header, then its body.
    if (partial_.size() < proto::frame_header_bytes) {
      const auto take = std::min(proto::frame_header_bytes - partial_.size(), input.size());
      partial_.append(input.substr(0, take));
      input.remove_prefix(take);
      if (partial_.size() < proto::frame_header_bytes) return true;
    }
    // The bound is checked before the buffer grows to hold the body.
    const auto frame_bytes = checked_frame_bytes(partial_.data());
    if (frame_bytes == 0) return false;
    const auto take = std::min(frame_bytes - partial_.size(), input.size());
    partial_.reserve(frame_bytes);
    partial_.append(input.substr(0, take));
    input.remove_prefix(take);
    if (partial_.size() < frame_bytes) return true;
    deliver(std::string_view(partial_).substr(proto::frame_header_bytes));
    // Released, not kept: an idle connection holds no read buffer.
    std::string().swap(partial_);
    if (!open_) return false;
  }
  while (input.size() >= proto::frame_header_bytes) {
    const auto frame_bytes = checked_frame_bytes(input.data());
    if (frame_bytes == 0) return false;
    if (input.size() < frame_bytes) {
      // Within the bound, just checked: this is all the rest of the frame may ever take.
      partial_.reserve(frame_bytes);
      break;
    }
    deliver(input.substr(proto::frame_header_bytes, frame_bytes - proto::frame_header_bytes));
    input.remove_prefix(frame_bytes);
    if (!open_) return false;
  }
  partial_.append(input);
  return true;
}

std::size_t framed_connection::checked_frame_bytes(const char* header) {
  const auto length = proto::read_frame_length(reinterpret_cast<const unsigned char*>(header));
  if (length > limits_.max_frame_body) {
    close(close_cause::frame_too_large, std::to_string(length) + " bytes announced");
    return 0;
  }
  return proto::frame_header_bytes + length;
}

void framed_connection::deliver(std::string_view body) {
  // Frames that arrive during a graceful close are read (to see the EOF) but not handed over.
  if (open_ && !closing_) on_frame_(body);
}

// ------------------------------------------------------------------ writing

bool framed_connection::send(std::string frame) {
  return send(std::make_shared<const std::string>(std::move(frame)));
}

bool framed_connection::send(proto::frame_ptr frame) {
  if (!open_ || closing_) return false;
  const auto pending = queue_.size() - head_;
  if (pending + 1 > limits_.max_queued_frames ||
      queued_bytes_ + frame->size() > limits_.max_queued_bytes) {
    close(close_cause::queue_overflow,
          std::to_string(pending) + " frames, " + std::to_string(queued_bytes_) + " bytes queued");
    return false;
  }
  queued_bytes_ += frame->size();
  queue_.push_back(std::move(frame));
  schedule_flush();
  return true;
}

void framed_connection::schedule_flush() {
  if (write_pending_) return;
  write_pending_ = true;
  // After the current handler: every frame it queues for this connection leaves in one write.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->flush(); });
}

void framed_connection::flush() {
  while (open_ && head_ < queue_.size()) {
    std::array<asio::const_buffer, max_frames_per_write> buffers;
    const auto count = std::min(queue_.size() - head_, max_frames_per_write);
    for (std::size_t i = 0; i < count; ++i) buffers[i] = asio::buffer(*queue_[head_ + i]);
    buffers[0] += head_written_;
    std::error_code ec;
    const auto written =
        socket_.write_some(std::span<const asio::const_buffer>(buffers.data(), count), ec);
    if (would_block(ec)) {
      wait_writable();
      return;
    }
    if (ec) {
      close(close_cause::write_error, ec.message());
      break;
    }
    advance(written);
  }
  write_pending_ = false;
  if (open_) after_flush();
  finish_if_done();
}

void framed_connection::wait_writable() {
  socket_.async_wait(asio::ip::tcp::socket::wait_write,
                     [self = shared_from_this()](std::error_code ec) {
                       if (ec && self->open_) self->close(close_cause::write_error, ec.message());
                       self->flush();
                     });
}

void framed_connection::advance(std::size_t written) {
  while (written > 0) {
    const auto left = queue_[head_]->size() - head_written_;
    if (written < left) {
      head_written_ += written;
      return;
    }
    written -= left;
    queued_bytes_ -= queue_[head_]->size();
    queue_[head_++].reset();
    head_written_ = 0;
  }
}

void framed_connection::after_flush() {
  queue_.clear();
  head_ = 0;
  if (queue_.capacity() > kept_queue_capacity) std::vector<proto::frame_ptr>().swap(queue_);
  if (closing_ && !flushed_) {
    // Everything is sent: half-close, and let the other side close its end (the reader sees
    // its EOF), so no unread data turns our FIN into a reset. The linger timer bounds the wait.
    flushed_ = true;
    note(close_cause::closed_locally, {});
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
}

// ------------------------------------------------------------------ closing

void framed_connection::close_after_flush() {
  if (!open_ || closing_) return;
  closing_ = true;
  // A peer that stops reading, or never closes its end, would otherwise hold the connection
  // forever: the whole graceful close gets one linger, then the connection is dropped.
  linger_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  linger_timer_->expires_after(limits_.linger);
  linger_timer_->async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) return;  // finish() cancelled it: the connection ended in time
    const auto self = weak.lock();
    if (!self) return;
    if (self->flushed_)
      self->close();  // the cause is already noted: closed_locally
    else
      self->close(close_cause::write_error, "flush not done in time");
  });
  schedule_flush();
}

void framed_connection::close(close_cause cause, std::string detail) {
  if (!open_) return;
  note(cause, std::move(detail));
  open_ = false;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  // Closing cancels the outstanding waits; their handlers then run, and the last one finishes.
  socket_.close(ignored);
}

void framed_connection::finish_if_done() {
  if (!open_ && !read_pending_ && !write_pending_ && !finished_) finish();
}

void framed_connection::finish() {
  finished_ = true;
  if (linger_timer_) linger_timer_->cancel();
  queue_.clear();
  head_ = 0;
  head_written_ = 0;
  queued_bytes_ = 0;
  std::string().swap(partial_);
  // Release the handlers after the call: they may own the object that owns this connection.
  auto on_close = std::move(on_close_);
  on_frame_ = nullptr;
  if (on_close) on_close(cause_, detail_);
}

}  // namespace parley::net
