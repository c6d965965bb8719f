#include "shared/net/framed_connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>

namespace parley::net {
namespace {
// How many queued frames one gathered write may carry.
constexpr std::size_t max_frames_per_write = 64;
// A body buffer grown past this by one large frame is released afterwards, so idle
// connections stay small.
constexpr std::size_t kept_body_capacity = 4096;
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
    : socket_(std::move(socket)),
      limits_(limits),
      signal_(socket_.get_executor()),
      flush_deadline_(socket_.get_executor()) {
  std::error_code ec;
  remote_ = socket_.remote_endpoint(ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  signal_.expires_at(asio::steady_timer::time_point::max());
}

void framed_connection::start(frame_handler on_frame, close_handler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  using namespace asio::experimental::awaitable_operators;
  asio::co_spawn(
      socket_.get_executor(),
      [self = shared_from_this()]() -> asio::awaitable<void> {
        try {
          co_await (self->reader() || self->writer());
        } catch (const std::exception& e) {
          // Only reachable if both halves ended by exception (a cancelled co_await throws).
          self->note(close_cause::read_error, e.what());
        }
        self->finish();
      },
      asio::detached);
}

void framed_connection::note(close_cause cause, std::string detail) {
  // The first reason wins: later ones are consequences of it.
  if (cause_set_) return;
  cause_set_ = true;
  cause_ = cause;
  detail_ = std::move(detail);
}

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
  signal_.cancel();
  return true;
}

void framed_connection::close_after_flush() {
  if (!open_ || closing_) return;
  closing_ = true;
  signal_.cancel();
  // A peer that stops reading would otherwise hold the flush, and the connection, forever:
  // the whole graceful close gets one linger, then the connection is dropped.
  flush_deadline_.expires_after(limits_.linger);
  flush_deadline_.async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) return;  // finish() cancelled it: the connection ended in time
    if (auto self = weak.lock()) self->close(close_cause::write_error, "flush not done in time");
  });
}

void framed_connection::close(close_cause cause, std::string detail) {
  if (!open_) return;
  note(cause, std::move(detail));
  open_ = false;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  signal_.cancel();
}

asio::awaitable<void> framed_connection::reader() {
  unsigned char header[proto::frame_header_bytes];
  for (;;) {
    std::error_code ec;
    co_await asio::async_read(socket_, asio::buffer(header),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      note(ec == asio::error::eof ? close_cause::eof : close_cause::read_error, ec.message());
      co_return;
    }
    const auto length = proto::read_frame_length(header);
    // The bound is checked before the body buffer is sized.
    if (length > limits_.max_frame_body) {
      note(close_cause::frame_too_large, std::to_string(length) + " bytes announced");
      co_return;
    }
    body_.resize(length);
    co_await asio::async_read(socket_, asio::buffer(body_),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      note(ec == asio::error::eof ? close_cause::eof : close_cause::read_error, ec.message());
      co_return;
    }
    if (!closing_ && open_) on_frame_(std::string_view(body_));
    if (body_.capacity() > kept_body_capacity) std::string().swap(body_);
    if (!open_) co_return;
  }
}

asio::awaitable<void> framed_connection::writer() {
  std::vector<asio::const_buffer> buffers;
  for (;;) {
    if (!open_) co_return;
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
      std::error_code ec;
      if (closing_) {
        // Everything is sent: half-close, and give the other side a moment to close its end
        // (the reader ends this sooner on EOF), so no unread data turns our FIN into a reset.
        socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        // The flush is complete, so the close is ours whichever ends the wait: the linger
        // timer, or the reader seeing the other side's EOF.
        note(close_cause::closed_locally, {});
        signal_.expires_after(limits_.linger);
        co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const auto count = std::min(queue_.size() - head_, max_frames_per_write);
    buffers.clear();
    for (std::size_t i = 0; i < count; ++i) buffers.push_back(asio::buffer(*queue_[head_ + i]));
    std::error_code ec;
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      note(close_cause::write_error, ec.message());
      co_return;
    }
    for (std::size_t i = 0; i < count; ++i) {
      queued_bytes_ -= queue_[head_]->size();
      queue_[head_++].reset();
    }
  }
}

void framed_connection::finish() {
  std::error_code ignored;
  open_ = false;
  socket_.close(ignored);
  flush_deadline_.cancel();
  queue_.clear();
  head_ = 0;
  queued_bytes_ = 0;
  // Release the handlers after the call: they may own the object that owns this connection.
  auto on_close = std::move(on_close_);
  on_frame_ = nullptr;
  if (on_close) on_close(cause_, detail_);
}

}  // namespace parley::net
