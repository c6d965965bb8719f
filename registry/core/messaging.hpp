// Private to the registry core: SPEC 4's message, broadcast, block and unblock, and the offline
// mail of SPEC 6 (stored for an offline recipient, handed over at its next login).
#pragma once

#include "registry/core/durable.hpp"

#include "registry/core/accounts.hpp"
#include "registry/core/blocks.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/session.hpp"
#include "registry/core/storage.hpp"

#include <cstddef>
#include <string>

namespace parley::registry {

class messaging {
 public:
  messaging(std::size_t max_offline_per_recipient, durable& store, const session_table& sessions,
            account_book& accounts, block_list& blocks, const replies& replies)
      : max_offline_per_recipient_(max_offline_per_recipient),
        store_(store),
        sessions_(sessions),
        accounts_(accounts),
        blocks_(blocks),
        replies_(replies) {}

  void on_direct(session_id id, const session& s, const proto::direct_message& m, time_point now,
                 effects& out);
  void on_broadcast(session_id id, const session& s, const proto::broadcast_message& m,
                    effects& out);
  void on_block(session_id id, const session& s, const proto::block_user& m, effects& out);
  void on_unblock(session_id id, const session& s, const proto::unblock_user& m, effects& out);

  // The store answered a write of this part's (offline_stored, blocked, unblocked): the reply
  // the waiting session gets, and the memory put back if the write failed.
  proto::frame_ptr on_written(const store_waiter& waiter, bool ok);

 private:
  std::size_t max_offline_per_recipient_;
  durable& store_;
  const session_table& sessions_;
  account_book& accounts_;
  block_list& blocks_;
  const replies& replies_;
};

}  // namespace parley::registry
