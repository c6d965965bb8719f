// Private to shared/net: the outbox of one io_context (see framed_connection.hpp). The frames
// every connection sends during one handler are appended to one array, chained per connection,
// and written out by one posted handler: one gathered write per connection per turn of the
// event loop, and no write buffer in an idle connection.
#pragma once

#include "shared/net/framed_connection.hpp"
#include "shared/net/queue_budget.hpp"

#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace parley::net {

// The frames every connection of one io_context sends during one handler, chained per
// connection, and the connections that have some; written out by one posted handler.
class outbox_service : public asio::execution_context::service {
 public:
  using key_type = outbox_service;
  static inline asio::execution_context::id id;

  // End of a chain.
  static constexpr std::uint32_t no_entry = std::numeric_limits<std::uint32_t>::max();

  struct entry {
    proto::frame_ptr frame;
    std::uint32_t next = no_entry;  // the same connection's next frame
  };

  explicit outbox_service(asio::io_context& io) : service(io), io_(io) {}

  void add(framed_connection& connection, proto::frame_ptr frame) {
    const auto index = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(entry{std::move(frame)});
    if (connection.out_last_ == no_entry) {
      connection.out_first_ = index;
    } else {
      entries_[connection.out_last_].next = index;
    }
    connection.out_last_ = index;
    enlist(connection);
  }

  // The connection is written to (or, with nothing queued, finishes a graceful close) after
  // the current handler.
  void enlist(framed_connection& connection) {
    if (connection.in_outbox_) return;
    connection.in_outbox_ = true;
    pending_.push_back(connection.shared_from_this());
    if (posted_) return;
    posted_ = true;
    asio::post(io_, [this] { flush_all(); });
  }

  std::vector<entry>& writing() { return writing_; }
  queue_budget& budget() { return budget_; }

 private:
  void flush_all();
  // The io_context is going away: its handlers will not run, so the connections are let go.
  void shutdown() override;

  asio::io_context& io_;
  std::vector<entry> entries_;
  std::vector<std::shared_ptr<framed_connection>> pending_;
  // Being written by flush_all: the frames, the connections, and where each one's chain starts.
  std::vector<entry> writing_;
  std::vector<std::shared_ptr<framed_connection>> flushing_;
  std::vector<std::uint32_t> chains_;
  bool posted_ = false;
  queue_budget budget_;
};

}  // namespace parley::net
