// One non-blocking TCP connection of the generator, reactor style: it waits for readiness, reads
// into the event loop's shared buffer, hands the bytes to its owner to parse, and keeps only an
// incomplete tail. So ten thousand idle connections hold no read buffer each. A registry stream
// of parley-bench --tls runs TLS 1.3 over the same socket (net::tls_session): the handshake first,
// then the same bytes, each turn's written in records of up to 16 KiB.
//
// Everything runs on the event loop's one thread.
#pragma once

#include "bench/event_loop.hpp"

#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

class stream {
 public:
  class handler {
   public:
    virtual ~handler() = default;
    virtual void on_connected() {}
    // The bytes received and not consumed yet; returns how many it consumed (whole frames or
    // lines). It may close the stream.
    virtual std::size_t on_bytes(std::string_view data) = 0;
    // The connection failed or the other side closed it. Not called after close().
    virtual void on_closed(std::string_view why) = 0;
  };

  stream(event_loop& loop, handler& owner) : loop_(loop), owner_(owner), socket_(loop.io()) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream();

  // From `from` (any port) when given, else from the address the system picks. `tls`: over TLS
  // when the loop has TLS enabled (a registry stream); on_connected comes after the handshake,
  // and bytes appended before it wait for it.
  void connect(const asio::ip::tcp::endpoint& to,
               const std::optional<asio::ip::address>& from = std::nullopt, bool tls = false);
  // Takes an accepted socket and starts reading.
  void adopt(asio::ip::tcp::socket socket);

  // The buffer to append outgoing bytes to; they are written at the end of this loop turn.
  std::string& out();

  // Closes now, dropping unwritten bytes; the owner is not told.
  void close();

  bool is_open() const { return open_; }
  // Closed, and no operation of it is still queued in the io_context: the object may be reused.
  bool is_idle() const { return !open_ && pending_ops_ == 0; }
  asio::ip::tcp::socket& socket() { return socket_; }

  // Called by the event loop.
  void flush();

 private:
  void start();
  void wait_readable();
  void on_readable();
  void wait_writable();
  void fail(std::string_view why);
  // TLS: drives the handshake to its end, then tells the owner.
  void continue_handshake();
  // Waits for `what`, then calls `then` (if still open).
  template <class Then>
  void wait_then(asio::socket_base::wait_type what, Then then);
  bool flush_tls();

  event_loop& loop_;
  handler& owner_;
  asio::ip::tcp::socket socket_;
  std::string pending_;  // received bytes the owner has not consumed yet (an incomplete frame)
  std::string out_;
  std::size_t out_head_ = 0;  // out_[0, out_head_) is written already
  std::unique_ptr<net::tls_session> tls_;
  // TLS: the size of a write OpenSSL asked to be retried with the same bytes; 0: none.
  std::uint32_t tls_retry_ = 0;
  bool handshaking_ = false;
  bool wants_tls_ = false;
  int pending_ops_ = 0;
  bool open_ = false;
  bool dirty_ = false;
  bool waiting_writable_ = false;
};

}  // namespace parley::bench
