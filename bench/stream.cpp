#include "bench/stream.hpp"

#include <asio/post.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace parley::bench {

namespace {
// Reads per readiness event before giving other connections a turn.
constexpr int max_reads_per_turn = 4;
// The same for TLS, where a read returns one record (16 KiB at most): about as many bytes.
constexpr int max_tls_reads_per_turn = 16;
// The most one TLS write seals: a full record.
constexpr std::size_t tls_record_bytes = 16 * 1024;
using tls_status = net::tls_session::status;
}  // namespace

template <class Then>
void stream::wait_then(asio::socket_base::wait_type what, Then then) {
  ++pending_ops_;
  socket_.async_wait(what, [this, then](std::error_code ec) {
    --pending_ops_;
    if (!open_) return;
    if (ec) return fail("wait: " + ec.message());
    then();
  });
}

stream::~stream() { loop_.forget(this); }

void stream::connect(const asio::ip::tcp::endpoint& to,
                     const std::optional<asio::ip::address>& from, bool tls) {
  open_ = true;
  wants_tls_ = tls && loop_.tls() != nullptr;
  if (from) {
    // Bound before connecting: SPEC 9.1's guards count per source address. The port is left
    // to connect() (IP_BIND_ADDRESS_NO_PORT): a bind() to port 0 would take an ephemeral port
    // for this socket alone until its TIME_WAIT ends, and a flood of a few thousand connections
    // a second would use up every port on the machine within seconds (then nothing, from any
    // address, can connect: the hang-up runs after the first one in a minute failed so).
    std::error_code ec;
    socket_.open(to.protocol(), ec);
    if (!ec) {
      const int yes = 1;
      // Best effort: without it (an old kernel) the bind below still works.
      ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &yes, sizeof yes);
      socket_.bind(asio::ip::tcp::endpoint(*from, 0), ec);
    }
    if (ec) {
      // Reported from the loop, as a failed connect would be.
      ++pending_ops_;
      asio::post(socket_.get_executor(), [this, why = "bind: " + ec.message()] {
        --pending_ops_;
        fail(why);
      });
      return;
    }
  }
  ++pending_ops_;
  socket_.async_connect(to, [this](std::error_code ec) {
    --pending_ops_;
    if (!open_) return;
    if (ec) return fail("connect: " + ec.message());
    start();
    // Over TLS the handshake tells the owner when it is done.
    if (open_ && !wants_tls_) owner_.on_connected();
  });
}

void stream::adopt(asio::ip::tcp::socket socket) {
  socket_ = std::move(socket);
  open_ = true;
  wants_tls_ = false;
  start();
}

void stream::start() {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  // Latency is measured per message: no Nagle delay; batching is done per loop turn instead.
  if (!ec) socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (ec) return fail("socket options: " + ec.message());
  if (wants_tls_) {
    tls_ = std::make_unique<net::tls_session>(*loop_.tls(), socket_.native_handle());
    handshaking_ = true;
    return continue_handshake();
  }
  wait_readable();
}

void stream::continue_handshake() {
  const auto step = tls_->handshake();
  switch (step.what) {
    case tls_status::done:
      handshaking_ = false;
      wait_readable();
      owner_.on_connected();
      // Bytes appended during the handshake were left for now.
      if (open_ && out_head_ < out_.size()) out();
      return;
    case tls_status::want_read:
      return wait_then(asio::socket_base::wait_read, [this] { continue_handshake(); });
    case tls_status::want_write:
      return wait_then(asio::socket_base::wait_write, [this] { continue_handshake(); });
    default: return fail("TLS handshake: " + step.reason);
  }
}

std::string& stream::out() {
  if (!dirty_ && open_) {
    dirty_ = true;
    loop_.mark_dirty(this);
  }
  return out_;
}

void stream::close() {
  if (!open_) return;
  open_ = false;
  loop_.forget(this);
  dirty_ = false;
  // The session does not own the descriptor: freed first, then the socket closed.
  tls_.reset();
  tls_retry_ = 0;
  handshaking_ = false;
  std::error_code ignored;
  socket_.close(ignored);
  out_.clear();
  out_.shrink_to_fit();
  pending_.clear();
  pending_.shrink_to_fit();
  out_head_ = 0;
}

void stream::fail(std::string_view why) {
  if (!open_) return;
  close();
  owner_.on_closed(why);
}

void stream::wait_readable() {
  ++pending_ops_;
  socket_.async_wait(asio::socket_base::wait_read, [this](std::error_code ec) {
    --pending_ops_;
    if (!open_) return;
    if (ec) return fail("wait: " + ec.message());
    on_readable();
  });
}

void stream::on_readable() {
  const auto buffer = loop_.read_buffer();
  const int max_reads = tls_ ? max_tls_reads_per_turn : max_reads_per_turn;
  for (int reads = 0; reads < max_reads; ++reads) {
    std::size_t n = 0;
    if (tls_) {
      const auto step = tls_->read(buffer.data(), buffer.size());
      if (step.what == tls_status::want_read) return wait_readable();
      if (step.what == tls_status::want_write)
        return wait_then(asio::socket_base::wait_write, [this] { on_readable(); });
      if (step.what == tls_status::eof) return fail("closed by the server");
      if (step.what != tls_status::done) return fail("TLS read: " + step.reason);
      n = step.bytes;
    } else {
      std::error_code ec;
      n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable();
      if (ec == asio::error::eof) return fail("closed by the server");
      if (ec) return fail("read: " + ec.message());
    }
    loop_.count_read(n);
    std::size_t consumed = 0;
    if (pending_.empty()) {
      // The common case: whole frames straight from the shared buffer, only a tail is copied.
      const std::string_view data(buffer.data(), n);
      consumed = owner_.on_bytes(data);
      if (!open_) return;
      pending_.assign(data.substr(consumed));
    } else {
      pending_.append(buffer.data(), n);
      consumed = owner_.on_bytes(pending_);
      if (!open_) return;
      pending_.erase(0, consumed);
    }
    // A short read emptied the socket's receive queue: the next byte to arrive is a new
    // readiness event, so there is no need for a read that would only say would_block. (Not so
    // over TLS: a read returns one record, and OpenSSL may hold more it read ahead; it reads
    // until it is told want_read.)
    if (!tls_ && n < buffer.size()) return wait_readable();
  }
  // Still readable, most likely: let the other connections have a turn first.
  ++pending_ops_;
  asio::post(loop_.io(), [this] {
    --pending_ops_;
    if (open_) on_readable();
  });
}

void stream::flush() {
  dirty_ = false;
  if (!open_ || waiting_writable_ || handshaking_) return;
  if (tls_) {
    if (!flush_tls()) return;
    out_.clear();
    out_head_ = 0;
    return;
  }
  while (out_head_ < out_.size()) {
    std::error_code ec;
    const std::size_t n =
        socket_.write_some(asio::buffer(out_.data() + out_head_, out_.size() - out_head_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_writable();
    if (ec) return fail("write: " + ec.message());
    out_head_ += n;
  }
  out_.clear();
  out_head_ = 0;
}

bool stream::flush_tls() {
  while (out_head_ < out_.size()) {
    // A write OpenSSL asked to be retried goes again with the same bytes (they have not moved in
    // out_, only perhaps the buffer holding them).
    const std::size_t size =
        tls_retry_ != 0 ? tls_retry_ : std::min(tls_record_bytes, out_.size() - out_head_);
    const auto step = tls_->write(out_.data() + out_head_, size);
    if (step.what == tls_status::want_write) {
      tls_retry_ = static_cast<std::uint32_t>(size);
      wait_writable();
      return false;
    }
    if (step.what != tls_status::done) {
      fail(step.what == tls_status::want_read ? std::string("TLS write: the session wants to read")
                                              : "TLS write: " + step.reason);
      return false;
    }
    out_head_ += size;
    tls_retry_ = 0;
  }
  return true;
}

void stream::wait_writable() {
  // What is written stays out of the buffer; the rest moves to the front once.
  out_.erase(0, out_head_);
  out_head_ = 0;
  waiting_writable_ = true;
  ++pending_ops_;
  socket_.async_wait(asio::socket_base::wait_write, [this](std::error_code ec) {
    --pending_ops_;
    waiting_writable_ = false;
    if (!open_) return;
    if (ec) return fail("wait: " + ec.message());
    flush();
  });
}

}  // namespace parley::bench
