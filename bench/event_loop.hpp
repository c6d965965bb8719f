// What every stream of the generator shares: the one io_context (run on this one thread only),
// one large read buffer, and the list of streams with bytes to write in this turn of the loop.
//
// Writes are batched: a stream's frames are appended to its buffer as they are made, and one
// posted flush writes every dirty stream once per turn, so a burst of messages to one connection
// costs one send() and not one per message.
#pragma once

#include "shared/net/tls_session.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace parley::bench {

class stream;

class event_loop {
 public:
  // One read fills this much at most; streams parse every frame in it before the next read.
  static constexpr std::size_t read_buffer_bytes = 256 * 1024;

  explicit event_loop(asio::io_context& io) : io_(io), read_buffer_(read_buffer_bytes) {}
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  asio::io_context& io() { return io_; }

  // Registry streams connect over TLS from now on (parley-bench --tls). False, with `error`,
  // when OpenSSL refuses the settings.
  bool enable_tls(std::string& error) {
    tls_ = net::tls_context::client(error);
    return tls_ != nullptr;
  }
  // Null: plain.
  const net::tls_context* tls() const { return tls_.get(); }
  // Shared by every stream: valid only until the stream that read into it returns.
  std::span<char> read_buffer() { return read_buffer_; }

  // `s` has bytes to write: flush it at the end of this turn.
  void mark_dirty(stream* s);
  // A stream being closed must not be flushed any more.
  void forget(stream* s);

  // Every byte any stream read, and when the last one came: the idle workload waits for it to
  // stop moving, and reports when it did.
  void count_read(std::size_t bytes) {
    bytes_read_ += bytes;
    last_read_at_ = std::chrono::steady_clock::now();
  }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::chrono::steady_clock::time_point last_read_at() const { return last_read_at_; }

 private:
  void flush_dirty();

  asio::io_context& io_;
  std::unique_ptr<net::tls_context> tls_;
  std::vector<char> read_buffer_;
  std::vector<stream*> dirty_;
  std::vector<stream*> flushing_;  // swapped with dirty_, so a flush may mark streams again
  bool flush_posted_ = false;
  std::uint64_t bytes_read_ = 0;
  std::chrono::steady_clock::time_point last_read_at_{};
};

}  // namespace parley::bench
