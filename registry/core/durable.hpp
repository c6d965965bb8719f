// Private to the registry core: its side of the store worker. The jobs asked for during one call
// into the core (handed to the shell in effects::writes when the call returns), what each answer
// is for, and how much is asked for and not yet answered, per session and in all.
#pragma once

#include "registry/core/registry_core.hpp"
#include "registry/core/reply_gate.hpp"
#include "registry/core/store_jobs.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::registry {

// What the core does with a job's answer.
struct store_waiter {
  enum class kind : std::uint8_t {
    ordered,          // a reply already queued behind it goes out (a counted wrong password)
    account_created,  // the session that chose the name enters (or fails)
    blocked,          // `<subject> is blocked`, or store_failed and the block undone
    unblocked,        // `<subject> is unblocked`, or store_failed and the block back
    offline_stored,   // message_stored, or store_failed and the mailbox count back
    mailbox_page,     // stored messages for the session, read at its login
    mailbox_deleted,  // confirmed messages gone: the mailbox count goes down
    ticket_issued,    // the session_ticket (its bytes in `other`) goes out (SPEC 11)
  };
  kind what = kind::ordered;
  session_id session = 0;
  std::string subject{};  // the user the answer is about (blocked, recipient, account name)
  std::string other{};    // blocker (blocks); the new account's hash (account_created)
  std::size_t bytes = 0;  // offline_stored: the body's size, counted in pending_bytes
};

class durable {
 public:
  explicit durable(reply_gate& gate) : gate_(gate) {}

  // A job whose answer nobody waits for (login history, a lockout's end): a failure is logged by
  // the store and changes nothing here.
  std::uint64_t ask(store_operation what) {
    const std::uint64_t ticket = next_ticket_++;
    jobs_.push_back(store_job{ticket, std::move(what)});
    return ticket;
  }
  // A job whose answer the core handles (on_store_done looks the waiter up by ticket).
  std::uint64_t ask(store_operation what, store_waiter waiter) {
    const std::uint64_t ticket = reserve_ticket();
    ask_as(ticket, std::move(what), std::move(waiter));
    return ticket;
  }
  // The same, and the session's later frames wait for the answer (acknowledged after commit).
  std::uint64_t ask_before_reply(session_id id, store_operation what, store_waiter waiter) {
    waiter.session = id;
    const std::uint64_t ticket = ask(std::move(what), std::move(waiter));
    gate_.wait(id, ticket);
    return ticket;
  }
  // A ticket for a job asked for later (ask_as), which the session's frames wait for now.
  std::uint64_t reserve_ticket() { return next_ticket_++; }
  void ask_as(std::uint64_t ticket, store_operation what, store_waiter waiter) {
    jobs_.push_back(store_job{ticket, std::move(what)});
    pending_bytes_ += waiter.bytes;
    if (waiter.session != 0) ++per_session_[waiter.session];
    waiters_.emplace(ticket, std::move(waiter));
  }

  // The waiter of an answer, taken out; nullopt for a job nobody waits for.
  std::optional<store_waiter> take_waiter(std::uint64_t ticket) {
    const auto it = waiters_.find(ticket);
    if (it == waiters_.end()) return std::nullopt;
    store_waiter w = std::move(it->second);
    waiters_.erase(it);
    pending_bytes_ -= w.bytes;
    if (w.session != 0) {
      const auto count = per_session_.find(w.session);
      if (count != per_session_.end() && --count->second == 0) per_session_.erase(count);
    }
    return w;
  }

  // Answers a session still waits for, and the bytes of message bodies not yet committed.
  std::size_t pending(session_id id) const {
    const auto it = per_session_.find(id);
    return it == per_session_.end() ? 0 : it->second;
  }
  std::size_t pending_bytes() const { return pending_bytes_; }

  void drain_into(std::vector<store_job>& out) {
    if (jobs_.empty()) return;
    if (out.empty()) {
      out.swap(jobs_);
      return;
    }
    for (auto& job : jobs_) out.push_back(std::move(job));
    jobs_.clear();
  }

 private:
  reply_gate& gate_;
  std::vector<store_job> jobs_;
  std::unordered_map<std::uint64_t, store_waiter> waiters_;
  std::unordered_map<session_id, std::size_t> per_session_;
  std::size_t pending_bytes_ = 0;
  std::uint64_t next_ticket_ = 1;
};

}  // namespace parley::registry
