// Private to the registry core: SPEC 11's resume tickets, one per account at most, as digests
// (the ticket itself goes to the peer and is never kept). A ticket is live while its session is
// online or waiting for its resume (suspended; `grace_until` is its window's end); once the
// window has ended without a resume it is `ended`, and for --ticket-lifetime more it still logs
// the user in again (announced like any login) instead of resuming. logout, an inactivity
// timeout and a password login (which issues a new one) revoke it.
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/storage.hpp"
#include "shared/proto/messages.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::registry {

struct resume_options {
  // SPEC 11: how long a lost session waits for its resume (0: not at all), how long sessions
  // restored at a start wait, and how long an ended session's ticket still logs in again.
  std::chrono::seconds resume_grace{3};
  std::chrono::seconds restart_grace{15};
  std::chrono::seconds ticket_lifetime{300};
  // Injected so that the core stays free of randomness and of libsodium (the registry passes
  // auth::random_ticket and auth::digest_ticket). Without both, no tickets are issued.
  std::function<proto::resume_ticket()> new_ticket;
  std::function<ticket_digest(const proto::resume_ticket&)> digest_ticket;
};

class resume_book {
 public:
  struct entry {
    ticket_digest digest{};
    std::optional<time_point> ended_at;     // the window ended then (no session any more)
    std::optional<time_point> grace_until;  // suspended: the window's end
    // The peer was sent the ticket (a restored one may have been): without it, it cannot
    // resume, so a lost connection is not waited for.
    bool sent = false;
  };

  explicit resume_book(resume_options options) : options_(std::move(options)) {}

  const resume_options& options() const { return options_; }
  // Tickets are issued at all (both functions given, and some use for them).
  bool enabled() const {
    return options_.new_ticket && options_.digest_ticket &&
           (options_.resume_grace.count() > 0 || options_.restart_grace.count() > 0 ||
            options_.ticket_lifetime.count() > 0);
  }

  // A fresh ticket for `name`, replacing any other; its digest is kept (digest_of).
  proto::resume_ticket issue(const std::string& name);
  // A start-up's row.
  void restore(const ticket_record& record);

  const entry* find(std::string_view name) const;
  // The entry whose digest is the ticket's, if `name` has one (the digest is computed whether
  // or not it does, so the time of the answer does not say).
  const entry* match(std::string_view name, const proto::resume_ticket& ticket) const;
  // The session of `name` is online or suspended and has a ticket.
  bool live(std::string_view name) const {
    const entry* e = find(name);
    return e && !e->ended_at;
  }
  // A live ticket the peer has: its session is worth waiting for.
  bool resumable(std::string_view name) const {
    const entry* e = find(name);
    return e && !e->ended_at && e->sent;
  }
  void mark_sent(std::string_view name);
  // An ended ticket past its lifetime.
  bool expired(const entry& e, time_point now) const {
    return e.ended_at && now - *e.ended_at >= options_.ticket_lifetime;
  }

  void suspend(std::string_view name, time_point until);
  void resumed(std::string_view name);
  void end(std::string_view name, time_point now);
  void revoke(std::string_view name);
  std::size_t size() const { return entries_.size(); }

 private:
  entry* find_mutable(std::string_view name);
  resume_options options_;
  std::map<std::string, entry, std::less<>> entries_;
};

}  // namespace parley::registry
