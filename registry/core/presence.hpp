// Private to the registry core: SPEC 7's `<user> logged in/out` notices and SPEC 4's whoelse and
// whoelsesince. Reads who is online, the accounts' last logouts and the blocks; owns nothing.
#pragma once

#include "registry/core/accounts.hpp"
#include "registry/core/blocks.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/session.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::registry {

class presence {
 public:
  presence(const session_table& sessions, const account_book& accounts, const block_list& blocks,
           const replies& replies)
      : sessions_(sessions), accounts_(accounts), blocks_(blocks), replies_(replies) {}

  // `<user> logged in/out` goes to every online user except the user and those it blocks.
  void announce(const std::string& user, bool now_online, effects& out) const;

  void on_who_else(session_id id, const session& s, effects& out) const;
  void on_who_else_since(session_id id, const session& s, const proto::who_else_since& m,
                         time_point now, effects& out) const;

 private:
  // Lists longer than one frame may carry go out in chunks; the last one says so.
  void send_names(session_id id, proto::user_query query,
                  const std::vector<std::string_view>& names, effects& out) const;

  const session_table& sessions_;
  const account_book& accounts_;
  const block_list& blocks_;
  const replies& replies_;
};

}  // namespace parley::registry
