#include "registry/core/mailbox.hpp"

#include "shared/proto/codec.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace parley::registry {

mailbox::mailbox(std::size_t page_rows, std::size_t page_bytes, durable& store, reply_gate& gate,
                 account_book& accounts, const replies& replies)
    : page_rows_(page_rows),
      page_bytes_(page_bytes),
      store_(store),
      gate_(gate),
      accounts_(accounts),
      replies_(replies),
      end_frame_(proto::make_frame(proto::stored_end{})) {}

bool mailbox::open(session_id id, const session& s, effects& out, bool announce) {
  const account* a = accounts_.find(s.name);
  if (!a || a->stored == 0) {
    replies_.send(out, id, end_frame_);
    return false;
  }
  states_[id] = state{};
  states_[id].announce = announce;
  const std::uint64_t ticket = store_.reserve_ticket();
  gate_.wait(id, ticket);
  read_page(id, s.name, 0, ticket);
  return true;
}

void mailbox::read_page(session_id id, const std::string& user, std::int64_t after,
                        std::uint64_t ticket) {
  store_.ask_as(
      ticket, store_request::read_offline{user, after, page_rows_, page_bytes_},
      store_waiter{.what = store_waiter::kind::mailbox_page, .session = id, .subject = user});
}

bool mailbox::on_page(session_id id, const std::string& user, std::uint64_t ticket,
                      const store_done& done, effects& out) {
  const auto it = states_.find(id);
  // The user has logged out (or the session ended) meanwhile: its end waits behind this page,
  // whose messages are left for the next login.
  if (it == states_.end()) {
    gate_.complete(id, ticket, {}, out);
    return false;
  }
  state& st = it->second;
  std::vector<proto::frame_ptr> frames;
  frames.reserve(done.rows.size());
  for (const auto& row : done.rows) {
    proto::server_message message = proto::stored_message{
        static_cast<std::uint64_t>(row.id), row.sender, row.text, to_unix_ms(row.sent_at)};
    st.page_end = row.id;
    // Stored rows came from validated messages; a row that is not (a hand-edited database)
    // cannot be encoded, and is skipped: it goes with the confirmation of the page.
    if (proto::validate(message)) continue;
    frames.push_back(proto::make_frame(message));
    st.sent = row.id;
  }
  // A failed read sends nothing: the messages stay stored, for the next login.
  if (!done.ok || !done.more || done.rows.empty()) {
    st.read_to_end = true;
    frames.push_back(end_frame_);
    gate_.complete(id, ticket, std::move(frames), out);
    return st.announce;
  }
  // More pages: what waits behind this one goes on waiting, for the next.
  st.next_page = store_.reserve_ticket();
  gate_.complete(id, ticket, std::move(frames), out, st.next_page);
  // A page with nothing sendable left to confirm is confirmed by nobody: read on at once.
  if (st.sent <= st.confirmed) {
    store_.ask(store_request::delete_offline{user, st.page_end},
               store_waiter{.what = store_waiter::kind::mailbox_deleted, .subject = user});
    read_page(id, user, st.page_end, std::exchange(st.next_page, 0));
  }
  return false;
}

void mailbox::on_confirm(session_id id, const session& s, std::uint64_t up_to) {
  const auto it = states_.find(id);
  if (it == states_.end()) return;
  state& st = it->second;
  // Only what this session was sent can be confirmed.
  const std::int64_t confirmed =
      up_to >= static_cast<std::uint64_t>(st.sent) ? st.sent : static_cast<std::int64_t>(up_to);
  if (confirmed <= st.confirmed) return;
  st.confirmed = confirmed;
  const bool page_done = confirmed == st.sent;
  // The whole page goes once its last sendable message is confirmed, unsendable rows with it.
  store_.ask(store_request::delete_offline{s.name, page_done ? st.page_end : confirmed},
             store_waiter{.what = store_waiter::kind::mailbox_deleted, .subject = s.name});
  if (!page_done || st.next_page == 0) return;
  read_page(id, s.name, st.page_end, std::exchange(st.next_page, 0));
}

void mailbox::forget(session_id id, effects& out) {
  const auto it = states_.find(id);
  if (it == states_.end()) return;
  // A page that would have been read once the peer confirmed the last one never will be: what
  // waits behind it (the session's end) goes now.
  if (it->second.next_page != 0) gate_.complete(id, it->second.next_page, {}, out);
  states_.erase(it);
}

void mailbox::on_deleted(const store_waiter& waiter, const store_done& done) {
  if (!done.ok) return;
  if (account* a = accounts_.find(waiter.subject)) a->stored -= std::min(a->stored, done.changed);
}

}  // namespace parley::registry
