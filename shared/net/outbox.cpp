#include "shared/net/outbox.hpp"

namespace parley::net {
namespace {

// The outbox keeps room for this many frames between bursts; a burst's larger array (every
// online user times the notices of a batch of logins) is released once written.
constexpr std::size_t kept_outbox_entries = 4096;

}  // namespace

void outbox_service::flush_all() {
  posted_ = false;
  // Writing may end a connection, and its owner may then send to others (a `logged out`
  // notice): frames sent meanwhile go to a fresh outbox and a later flush_all. So every chain
  // to write now is first detached from its connection.
  entries_.swap(writing_);
  pending_.swap(flushing_);
  chains_.clear();
  for (const auto& connection : flushing_) {
    chains_.push_back(connection->out_first_);
    connection->out_first_ = no_entry;
    connection->out_last_ = no_entry;
    connection->in_outbox_ = false;
    connection->writing_chain_ = true;
  }
  for (std::size_t i = 0; i < flushing_.size(); ++i) flushing_[i]->flush_outbox(chains_[i]);
  flushing_.clear();
  writing_.clear();
  // What the kernel did not take now waits in slow readers' queues: if the sends of this turn
  // passed the budget, the slowest of them go.
  budget_.enforce();
  if (writing_.capacity() > kept_outbox_entries) {
    std::vector<entry>().swap(writing_);
    std::vector<std::shared_ptr<framed_connection>>().swap(flushing_);
    std::vector<std::uint32_t>().swap(chains_);
  }
}

void outbox_service::shutdown() {
  budget_.forget_connections();
  pending_.clear();
  entries_.clear();
  flushing_.clear();
  writing_.clear();
}

}  // namespace parley::net
