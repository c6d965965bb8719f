#include "shared/net/framed_connection.hpp"

#include "shared/net/outbox.hpp"
#include "shared/net/tls_session.hpp"

#include <sys/socket.h>

#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>
#include <span>
#include <stdexcept>

namespace parley::net {
namespace {

// How many queued frames one gathered write may carry (the kernel's iovec limit is far above).
constexpr std::size_t max_frames_per_write = 64;
// The most one read takes; frames beyond it wait for the next read.
constexpr std::size_t read_chunk_bytes = 64 * 1024;
// Reads one readiness event may do before the connection yields to the others.
constexpr std::size_t max_reads_per_event = 4;
// TLS's largest record: a turn's frames for one connection are sealed in pieces of this size.
constexpr std::size_t tls_record_bytes = 16 * 1024;
// The first byte of a TLS handshake record, and of an alert (a server refusing a handshake).
constexpr unsigned char tls_handshake_byte = 0x16;
constexpr unsigned char tls_alert_byte = 0x15;

// Frames one turn may hand over before the connection yields to the others (SPEC 9.1's read
// fairness): one client's pipelined frames cannot hold the thread for a whole read's worth of
// commands. The rest waits in the connection, read already, for its next turn.
constexpr std::size_t max_frames_per_turn = 128;

// Every connection on this thread reads into the same buffer and is done with it before the
// next one reads: frames are handed over, and a straddling frame copied out, within one handler.
char* read_scratch() {
  thread_local const auto buffer = std::make_unique<char[]>(read_chunk_bytes);
  return buffer.get();
}

// The frames sealed into one TLS record are gathered here first; like read_scratch, every
// connection on the thread is done with it before the next one writes.
char* seal_scratch() {
  thread_local const auto buffer = std::make_unique<char[]>(tls_record_bytes);
  return buffer.get();
}

bool would_block(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

std::uint32_t clamp_u32(std::size_t value) {
  return static_cast<std::uint32_t>(
      std::min<std::size_t>(value, std::numeric_limits<std::uint32_t>::max()));
}

// What a queued frame counts for against the bound and the budget.
std::size_t queued_cost(const std::string& frame) { return frame.size() + queued_frame_overhead; }

}  // namespace

class framed_connection::function_owner final : public framed_connection::owner {
 public:
  function_owner(frame_handler on_frame, close_handler on_close)
      : on_frame_(std::move(on_frame)), on_close_(std::move(on_close)) {}
  void on_frame(std::uint64_t, std::string_view body) override { on_frame_(body); }
  void on_close(std::uint64_t, close_cause cause, const std::string& detail) override {
    on_close_(cause, detail);
  }

 private:
  frame_handler on_frame_;
  close_handler on_close_;
};

const char* describe(close_cause cause) {
  switch (cause) {
    case close_cause::eof: return "closed by the other side";
    case close_cause::read_error: return "read error";
    case close_cause::write_error: return "write error";
    case close_cause::frame_too_large: return "frame over its size bound";
    case close_cause::queue_overflow: return "outgoing queue over its bound (slow reader)";
    case close_cause::closed_locally: return "closed";
    case close_cause::queue_budget:
      return "the outgoing queues of all connections passed their budget, and this was the "
             "slowest reader";
    case close_cause::tls_failed: return "TLS failed";
    case close_cause::tls_mismatch: return "one side uses TLS and the other does not";
  }
  return "closed";
}

void set_total_queue_budget(asio::io_context& io, std::size_t bytes) {
  asio::use_service<outbox_service>(io).budget().set_limit(bytes);
}

std::size_t total_queued_bytes(asio::io_context& io) {
  return asio::use_service<outbox_service>(io).budget().total();
}

std::shared_ptr<framed_connection> framed_connection::create(socket_type socket,
                                                             connection_limits limits) {
  return std::make_shared<framed_connection>(std::move(socket), limits);
}

std::shared_ptr<framed_connection> framed_connection::create(asio::ip::tcp::socket socket,
                                                             connection_limits limits) {
  const auto any = socket.get_executor();
  const auto* executor = any.target<asio::io_context::executor_type>();
  if (executor == nullptr)
    throw std::invalid_argument("framed_connection needs a socket on an io_context's executor");
  auto* io = &executor->context();
  std::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  const auto handle = ec ? asio::ip::tcp::socket::native_handle_type{-1} : socket.release(ec);
  if (ec) {
    // Closed, or failed already: a fresh socket that was never connected stands in, so that the
    // first read fails and the close handler reports it, as it would have on the original.
    return create(socket_type(*io, asio::ip::tcp::v4()), limits);
  }
  return create(socket_type(*io, protocol, handle), limits);
}

framed_connection::framed_connection(socket_type socket, connection_limits limits)
    : socket_(std::move(socket)),
      limits_{
          clamp_u32(limits.max_frame_body),
          // The count never passes the bound, so it cannot wrap.
          clamp_u32(limits.max_queued_bytes),
          clamp_u32(static_cast<std::size_t>(std::max<std::int64_t>(0, limits.linger.count())))},
      outbox_(&asio::use_service<outbox_service>(socket_.get_executor().context())),
      out_first_(outbox_service::no_entry),
      out_last_(outbox_service::no_entry) {
  std::error_code ec;
  remote_ = socket_.remote_endpoint(ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Reads and writes are attempted directly and must fail with would_block, never wait.
  socket_.non_blocking(true, ec);
}

framed_connection::~framed_connection() = default;

void framed_connection::accept_tls(const tls_acceptor& acceptor) {
  acceptor_ = &acceptor;
  transport_ = transport::detect;
}

void framed_connection::connect_tls(const tls_context& context) {
  tls_ = std::make_unique<tls_session>(context, socket_.native_handle());
  transport_ = transport::tls_first;
}

void framed_connection::start(owner& to, std::uint64_t tag) {
  owner_ = &to;
  tag_ = tag;
  // On a socket that is already closed the wait fails at once, and the close handler runs.
  if (transport_ == transport::tls_first) {
    // The client speaks first: its ClientHello goes out now.
    read_pending_ = true;
    continue_handshake();
    return;
  }
  start_read();
}

void framed_connection::start(frame_handler on_frame, close_handler on_close) {
  functions_ = std::make_unique<function_owner>(std::move(on_frame), std::move(on_close));
  start(*functions_, 0);
}

framed_connection::ending& framed_connection::ending_state() {
  if (!ending_) ending_ = std::make_unique<ending>();
  return *ending_;
}

void framed_connection::note(close_cause cause, std::string detail) {
  // The first reason wins: later ones are consequences of it.
  if (cause_set_) return;
  cause_set_ = true;
  cause_ = cause;
  if (!detail.empty()) ending_state().detail = std::move(detail);
}

// ------------------------------------------------------------------ reading

void framed_connection::start_read() {
  read_pending_ = true;
  socket_.async_wait(socket_type::wait_read,
                     [self = shared_from_this()](std::error_code ec) { self->on_readable(ec); });
}

void framed_connection::on_readable(std::error_code ec) {
  if (ec && alive()) close(close_cause::read_error, ec.message());
  if (alive() && transport_ == transport::detect) return detect_transport();
  frames_this_turn_ = 0;
  // Frames read in an earlier turn first: they came before anything still in the kernel.
  if (alive() && spill_ && !spill_->backlog.empty()) {
    const std::string backlog = std::move(spill_->backlog);
    spill_->backlog.clear();
    if (consume(backlog) && !spill_->backlog.empty()) return yield();
    release_spill_if_empty();
  }
  if (alive() && paused_) {
    read_pending_ = false;
    return;
  }
  char* const chunk = read_scratch();
  for (std::size_t reads = 0; alive() && reads < max_reads_per_event; ++reads) {
    bool waiting = false;
    const auto n = read_chunk(chunk, waiting);
    if (waiting) return;
    if (n == 0) break;
    // During a graceful close what arrives is only read to see the end: not even parsed.
    if (state_ != lifecycle::open) continue;
    if (!consume(std::string_view(chunk, n))) break;
    if (paused_ || (spill_ && !spill_->backlog.empty())) return yield();
    // A short read emptied the kernel's buffer: whatever arrives next wakes the wait again.
    // Under TLS a read returns one record, and OpenSSL may hold more already read ahead: it
    // says when its own last read from the socket was short.
    if (tls_ ? tls_->drained() : n < read_chunk_bytes) {
      start_read();
      return;
    }
  }
  if (alive()) {
    // More is waiting, but other connections get their turn first.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
    return;
  }
  read_pending_ = false;
  finish_if_done();
}

std::size_t framed_connection::read_chunk(char* chunk, bool& waiting) {
  if (!tls_) {
    std::error_code ec;
    const auto n = socket_.read_some(asio::buffer(chunk, read_chunk_bytes), ec);
    if (would_block(ec)) {
      waiting = true;
      start_read();
      return 0;
    }
    if (ec)
      close(ec == asio::error::eof ? close_cause::eof : close_cause::read_error, ec.message());
    return ec ? 0 : n;
  }
  const auto got = tls_->read(chunk, read_chunk_bytes);
  switch (got.what) {
    case tls_session::status::done: return got.bytes;
    case tls_session::status::want_read:
      waiting = true;
      start_read();
      return 0;
    case tls_session::status::want_write:
      // A record of ours must go out first (TLS 1.3 key update): then read again.
      waiting = true;
      socket_.async_wait(socket_type::wait_write, [self = shared_from_this()](std::error_code ec) {
        self->on_readable(ec);
      });
      return 0;
    case tls_session::status::eof: close(close_cause::eof, {}); return 0;
    case tls_session::status::failed: close(close_cause::tls_failed, got.reason); return 0;
  }
  return 0;
}

void framed_connection::detect_transport() {
  unsigned char first = 0;
  const auto got = ::recv(socket_.native_handle(), &first, 1, MSG_PEEK);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return start_read();
  if (got <= 0) {
    if (got == 0)
      close(close_cause::eof, {});
    else
      close(close_cause::read_error, std::error_code(errno, std::system_category()).message());
    read_pending_ = false;
    finish_if_done();
    return;
  }
  const auto& rules = *acceptor_;
  acceptor_ = nullptr;
  const bool offers_tls = first == tls_handshake_byte;
  if (offers_tls && rules.context) {
    tls_ = std::make_unique<tls_session>(*rules.context, socket_.native_handle());
    transport_ = transport::tls_handshake;
    continue_handshake();
    return;
  }
  transport_ = transport::plain;
  // Frames sent before the first byte came (a refusal at accept) go now.
  if (spill_ && !spill_->queue.empty()) flush_queue();
  if (offers_tls || rules.context) {
    // The other side speaks the other protocol: it gets one plain frame saying so (it can read
    // that whichever it speaks: a TLS client sees a non-TLS byte), then the connection ends.
    note(close_cause::tls_mismatch,
         offers_tls ? "the client began a TLS handshake" : "the client does not use TLS");
    const auto& refusal = offers_tls ? rules.refuse_tls : rules.refuse_plain;
    if (refusal) send(refusal);
    close_after_flush();
  }
  on_readable({});
}

void framed_connection::continue_handshake() {
  if (!alive()) {
    read_pending_ = false;
    finish_if_done();
    return;
  }
  if (transport_ == transport::tls_first) {
    // Before OpenSSL reads the server's answer: a server without TLS answers with a plain frame
    // (0x00 first), and that deserves a clear reason rather than OpenSSL's "wrong version".
    unsigned char first = 0;
    const auto got = ::recv(socket_.native_handle(), &first, 1, MSG_PEEK);
    if (got > 0) {
      if (first != tls_handshake_byte && first != tls_alert_byte) {
        close(close_cause::tls_mismatch, "the server does not use TLS");
        read_pending_ = false;
        finish_if_done();
        return;
      }
      transport_ = transport::tls_handshake;
    }
    // Nothing yet (the ClientHello is still to go, or the answer to come): the step says so.
  }
  const auto step = tls_->handshake();
  switch (step.what) {
    case tls_session::status::done:
      transport_ = transport::tls;
      read_pending_ = false;
      // Frames queued meanwhile go now (or a graceful close goes on), and records read ahead are
      // read without a wait.
      if (spill_ && !spill_->queue.empty())
        flush_queue_tls();
      else
        after_flush();
      if (alive()) {
        read_pending_ = true;
        on_readable({});
      } else {
        finish_if_done();
      }
      return;
    case tls_session::status::want_read: return wait_for_handshake(true);
    case tls_session::status::want_write: return wait_for_handshake(false);
    case tls_session::status::eof:
      close(close_cause::tls_failed, "the other side closed the connection during the handshake");
      break;
    case tls_session::status::failed:
      // The server's plain answer arrived inside the handshake's first step, before the peek
      // above could see it.
      if (transport_ == transport::tls_first && step.not_tls) {
        close(close_cause::tls_mismatch, "the server does not use TLS");
      } else {
        close(close_cause::tls_failed, step.reason);
      }
      break;
  }
  read_pending_ = false;
  finish_if_done();
}

void framed_connection::wait_for_handshake(bool readable) {
  socket_.async_wait(
      readable ? socket_type::wait_read : socket_type::wait_write,
      [self = shared_from_this()](std::error_code ec) {
        if (ec && self->alive()) {
          const bool reset = ec == asio::error::connection_reset;
          self->close(close_cause::tls_failed,
                      reset ? "the connection was reset during the handshake" : ec.message());
        }
        self->continue_handshake();
      });
}

void framed_connection::yield() {
  if (paused_) {
    read_pending_ = false;
    return;
  }
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

void framed_connection::pause_reading() { paused_ = true; }

void framed_connection::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  if (read_pending_ || !alive()) return;
  read_pending_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

bool framed_connection::consume(std::string_view input) {
  if (spill_ && !spill_->partial.empty()) {
    // First complete the frame begun by an earlier read: its header, then its body.
    auto& partial = spill_->partial;
    if (partial.size() < proto::frame_header_bytes) {
      const auto take = std::min(proto::frame_header_bytes - partial.size(), input.size());
      partial.append(input.substr(0, take));
      input.remove_prefix(take);
      if (partial.size() < proto::frame_header_bytes) return true;
    }
    // The bound is checked before the buffer grows to hold the body.
    const auto frame_bytes = checked_frame_bytes(partial.data());
    if (frame_bytes == 0) return false;
    const auto take = std::min(frame_bytes - partial.size(), input.size());
    partial.reserve(frame_bytes);
    partial.append(input.substr(0, take));
    input.remove_prefix(take);
    if (partial.size() < frame_bytes) return true;
    // The spill stays allocated during the call (the owner may send, which may queue there).
    deliver(std::string_view(partial).substr(proto::frame_header_bytes));
    ++frames_this_turn_;
    // Released, not kept: an idle connection holds no read buffer.
    std::string().swap(partial);
    release_spill_if_empty();
    if (!alive()) return false;
  }
  while (input.size() >= proto::frame_header_bytes) {
    if (paused_ || frames_this_turn_ >= max_frames_per_turn) {
      // The rest waits for this connection's next turn (or for resume_reading).
      spilled().backlog.assign(input);
      return true;
    }
    const auto frame_bytes = checked_frame_bytes(input.data());
    if (frame_bytes == 0) return false;
    if (input.size() < frame_bytes) {
      // Within the bound, just checked: this is all the rest of the frame may ever take.
      spilled().partial.reserve(frame_bytes);
      break;
    }
    deliver(input.substr(proto::frame_header_bytes, frame_bytes - proto::frame_header_bytes));
    ++frames_this_turn_;
    input.remove_prefix(frame_bytes);
    if (!alive()) return false;
  }
  if (!input.empty()) spilled().partial.append(input);
  return true;
}

std::size_t framed_connection::checked_frame_bytes(const char* header) {
  const auto length = proto::read_frame_length(reinterpret_cast<const unsigned char*>(header));
  if (length > limits_.max_frame_body) {
    close(close_cause::frame_too_large, std::to_string(length) +
                                            " bytes announced, over the bound of " +
                                            std::to_string(limits_.max_frame_body));
    return 0;
  }
  return proto::frame_header_bytes + length;
}

void framed_connection::set_max_frame_body(std::size_t bytes) {
  limits_.max_frame_body = clamp_u32(bytes);
}

void framed_connection::deliver(std::string_view body) {
  // Frames that arrive during a graceful close are read (to see the EOF) but not handed over.
  if (state_ == lifecycle::open) owner_->on_frame(tag_, body);
}

// ------------------------------------------------------------------ writing

bool framed_connection::send(std::string frame) {
  return send(std::make_shared<const std::string>(std::move(frame)));
}

bool framed_connection::send(proto::frame_ptr frame) {
  if (state_ != lifecycle::open) return false;
  const auto cost = queued_cost(*frame);
  if (std::size_t{queued_bytes_} + cost > limits_.max_queued_bytes) {
    close(close_cause::queue_overflow, std::to_string(queued_bytes_) +
                                           " bytes queued, over the bound of " +
                                           std::to_string(limits_.max_queued_bytes));
    return false;
  }
  // May drop the slowest readers first (this one, if it is the slowest).
  if (!outbox_->budget().charge(*this, cost)) return false;
  queued_bytes_ += static_cast<std::uint32_t>(cost);
  if (waiting_writable_ || !transport_ready()) {
    // Behind frames the kernel has not taken yet, or before the TLS handshake is done: wait
    // with them (the handshake's end flushes them).
    spilled().queue.push_back(std::move(frame));
  } else {
    outbox_->add(*this, std::move(frame));
  }
  return true;
}

void framed_connection::want_flush() {
  if (!waiting_writable_) outbox_->enlist(*this);
}

void framed_connection::spill_chain(std::uint32_t at) {
  auto& entries = outbox_->writing();
  if (at == outbox_service::no_entry) return;
  auto& queue = spilled().queue;
  for (auto i = at; i != outbox_service::no_entry; i = entries[i].next)
    queue.push_back(std::move(entries[i].frame));
}

void framed_connection::flush_outbox(std::uint32_t at) {
  writing_chain_ = false;
  auto& entries = outbox_->writing();
  if (waiting_writable_ || !transport_ready()) {
    // Queued while an earlier chain was being written, which then filled the kernel's buffer:
    // these frames go behind the ones already waiting. Or the TLS handshake is not done yet.
    spill_chain(at);
    finish_if_done();
    return;
  }
  if (tls_) return flush_outbox_tls(at);
  while (alive() && at != outbox_service::no_entry) {
    std::array<asio::const_buffer, max_frames_per_write> buffers;
    std::size_t count = 0;
    for (auto i = at; i != outbox_service::no_entry && count < max_frames_per_write;
         i = entries[i].next)
      buffers[count++] = asio::buffer(*entries[i].frame);
    std::error_code ec;
    auto written =
        socket_.write_some(std::span<const asio::const_buffer>(buffers.data(), count), ec);
    if (ec && !would_block(ec)) {
      close(close_cause::write_error, ec.message());
      break;
    }
    if (ec) written = 0;
    // Whole frames that left are done with; their entries keep nothing.
    std::size_t sent = 0;
    while (at != outbox_service::no_entry && written >= entries[at].frame->size()) {
      written -= entries[at].frame->size();
      uncount(queued_cost(*entries[at].frame));
      entries[at].frame.reset();
      at = entries[at].next;
      ++sent;
    }
    if (at != outbox_service::no_entry && sent < count) {
      // The kernel took less than offered, its buffer is full: the rest (the first frame
      // perhaps in part) waits in this connection's own queue until there is room.
      auto& spilled_to = spilled();
      for (auto i = at; i != outbox_service::no_entry; i = entries[i].next)
        spilled_to.queue.push_back(std::move(entries[i].frame));
      spilled_to.head = 0;
      spilled_to.head_written = static_cast<std::uint32_t>(written);
      wait_writable();
      return;
    }
  }
  if (alive()) after_flush();
  finish_if_done();
}

void framed_connection::flush_outbox_tls(std::uint32_t at) {
  // Sealed straight from the chain, a record at a time, as the plain path gathers from it: the
  // spilled queue is made only for what the kernel does not take.
  auto& entries = outbox_->writing();
  char* const record = seal_scratch();
  while (alive() && at != outbox_service::no_entry) {
    std::size_t filled = 0;
    for (auto i = at; i != outbox_service::no_entry && filled < tls_record_bytes;
         i = entries[i].next) {
      const auto& frame = *entries[i].frame;
      const auto take = std::min(frame.size(), tls_record_bytes - filled);
      std::copy_n(frame.data(), take, record + filled);
      filled += take;
    }
    const auto wrote = tls_->write(record, filled);
    if (wrote.what == tls_session::status::want_write) {
      // OpenSSL holds this record: the retry (flush_queue_tls, from the spilled queue) starts
      // at the same byte, as it requires.
      // (The queue was empty: it only holds frames while waiting_writable_.)
      spill_chain(at);
      wait_writable();
      return;
    }
    if (wrote.what != tls_session::status::done) {
      close(close_cause::write_error, wrote.what == tls_session::status::want_read
                                          ? "TLS wanted to read while writing"
                                          : wrote.reason);
      break;
    }
    std::size_t left = filled;
    while (at != outbox_service::no_entry && left >= entries[at].frame->size()) {
      left -= entries[at].frame->size();
      uncount(queued_cost(*entries[at].frame));
      entries[at].frame.reset();
      at = entries[at].next;
    }
    if (left > 0) {
      // The record ended inside a frame (more than a record was queued): the rest goes on from
      // the spilled queue, a record at a time.
      spill_chain(at);
      spill_->head_written = static_cast<std::uint32_t>(left);
      return flush_queue_tls();
    }
  }
  if (alive()) after_flush();
  finish_if_done();
}

void framed_connection::wait_writable() {
  // Now a reader that has fallen behind: a candidate when the budget needs room.
  if (!waiting_writable_) outbox_->budget().add_waiting(*this);
  waiting_writable_ = true;
  socket_.async_wait(socket_type::wait_write, [self = shared_from_this()](std::error_code ec) {
    if (ec && self->alive()) self->close(close_cause::write_error, ec.message());
    self->flush_queue();
  });
}

void framed_connection::flush_queue_tls() {
  auto& queue = spill_->queue;
  char* const record = seal_scratch();
  while (alive() && spill_->head < queue.size()) {
    // As much of the queue as one record holds, from where the last record ended. After a
    // want_write the next call starts at the same byte and holds at least as much (frames are
    // only ever added behind), which is what OpenSSL requires of a retried write.
    std::size_t filled = 0;
    std::size_t offset = spill_->head_written;
    for (auto i = spill_->head; i < queue.size() && filled < tls_record_bytes; ++i) {
      const auto& frame = *queue[i];
      const auto take = std::min(frame.size() - offset, tls_record_bytes - filled);
      std::copy_n(frame.data() + offset, take, record + filled);
      filled += take;
      offset = 0;
    }
    const auto wrote = tls_->write(record, filled);
    if (wrote.what == tls_session::status::want_write) {
      wait_writable();
      return;
    }
    if (wrote.what != tls_session::status::done) {
      close(close_cause::write_error, wrote.what == tls_session::status::want_read
                                          ? "TLS wanted to read while writing"
                                          : wrote.reason);
      break;
    }
    advance(filled);
  }
  done_flushing_queue();
}

void framed_connection::flush_queue() {
  // Only ever reached with the spill holding what the kernel did not take.
  if (tls_) return flush_queue_tls();
  auto& queue = spill_->queue;
  while (alive() && spill_->head < queue.size()) {
    std::array<asio::const_buffer, max_frames_per_write> buffers;
    const auto count = std::min<std::size_t>(queue.size() - spill_->head, max_frames_per_write);
    for (std::size_t i = 0; i < count; ++i) buffers[i] = asio::buffer(*queue[spill_->head + i]);
    buffers[0] += spill_->head_written;
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
  done_flushing_queue();
}

void framed_connection::done_flushing_queue() {
  auto& queue = spill_->queue;
  outbox_->budget().remove_waiting(*this);
  waiting_writable_ = false;
  // Released, not kept: a connection that once fell behind does not keep its peak queue.
  std::vector<proto::frame_ptr>().swap(queue);
  spill_->head = 0;
  spill_->head_written = 0;
  release_spill_if_empty();
  if (alive()) after_flush();
  finish_if_done();
}

void framed_connection::advance(std::size_t written) {
  auto& s = *spill_;
  while (written > 0) {
    const auto left = s.queue[s.head]->size() - s.head_written;
    if (written < left) {
      s.head_written += static_cast<std::uint32_t>(written);
      return;
    }
    written -= left;
    uncount(queued_cost(*s.queue[s.head]));
    s.queue[s.head++].reset();
    s.head_written = 0;
  }
}

void framed_connection::uncount(std::size_t frame_bytes) {
  queued_bytes_ -= static_cast<std::uint32_t>(frame_bytes);
  outbox_->budget().release(frame_bytes);
}

framed_connection::spill& framed_connection::spilled() {
  if (!spill_) spill_ = std::make_unique<spill>();
  return *spill_;
}

void framed_connection::release_spill_if_empty() {
  if (spill_ && spill_->partial.empty() && spill_->backlog.empty() && spill_->queue.empty())
    spill_.reset();
}

void framed_connection::after_flush() {
  if (state_ == lifecycle::draining && queued_bytes_ == 0) {
    // Everything is sent: half-close, and let the other side close its end (the reader sees
    // its EOF), so no unread data turns our FIN into a reset. The linger timer bounds the wait.
    state_ = lifecycle::half_closed;
    note(close_cause::closed_locally, {});
    // TLS says it ends (close_notify), so that the other side can tell an end from a cut. One
    // try: if the kernel's buffer is full the other side is not reading anyway.
    if (tls_ && transport_ == transport::tls) tls_->shutdown();
    std::error_code ignored;
    socket_.shutdown(socket_type::shutdown_send, ignored);
  }
}

// ------------------------------------------------------------------ closing

void framed_connection::close_after_flush() {
  if (state_ != lifecycle::open) return;
  state_ = lifecycle::draining;
  // The other side's EOF must be seen: a paused reader reads again (and drops what it reads).
  resume_reading();
  // A peer that stops reading, or never closes its end, would otherwise hold the connection
  // forever: the whole graceful close gets one linger, then the connection is dropped.
  auto& timer = ending_state().linger_timer;
  timer = std::make_unique<asio::steady_timer>(socket_.get_executor());
  timer->expires_after(std::chrono::milliseconds(limits_.linger_ms));
  timer->async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) return;  // finish() cancelled it: the connection ended in time
    const auto self = weak.lock();
    if (!self) return;
    if (self->state_ == lifecycle::half_closed)
      self->close();  // the cause is already noted: closed_locally
    else
      self->close(close_cause::write_error, "flush not done in time");
  });
  // After the current handler, like the frames it queued: then the half-close.
  want_flush();
}

void framed_connection::close(close_cause cause, std::string detail) {
  if (!alive()) return;
  note(cause, std::move(detail));
  state_ = lifecycle::closed;
  // Whatever is queued will not be sent: it leaves the budget now, and the memory within this
  // turn of the event loop (when the outbox is written, and when the connection finishes).
  outbox_->budget().release(queued_bytes_);
  queued_bytes_ = 0;
  outbox_->budget().remove_waiting(*this);
  std::error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  // Closing cancels the outstanding waits; their handlers then run, and the last one finishes.
  socket_.close(ignored);
}

void framed_connection::finish_if_done() {
  if (state_ == lifecycle::closed && !read_pending_ && !in_outbox_ && !writing_chain_ &&
      !waiting_writable_)
    finish();
}

void framed_connection::finish() {
  state_ = lifecycle::finished;
  if (ending_ && ending_->linger_timer) ending_->linger_timer->cancel();
  spill_.reset();
  // Release the owner after the call: it may own the object that owns this connection.
  auto* to = owner_;
  auto functions = std::move(functions_);
  owner_ = nullptr;
  const std::string detail = ending_ ? ending_->detail : std::string();
  if (to) to->on_close(tag_, cause_, detail);
}

}  // namespace parley::net
