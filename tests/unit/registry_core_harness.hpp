// Test harness for the registry core: the real SQLite store, the real Argon2id hashing (at its
// test cost), a fake clock moved by hand, and every frame the core emits decoded back into a
// structured message in a per-session inbox. It plays the shell's part: hash jobs and store jobs
// run synchronously (unless held; store jobs through the worker's own execute()), and a session
// the core ends is then disconnected. It plays the peer's part too: stored messages are
// confirmed as they arrive (unless auto_confirm is off).
#pragma once

#include "registry/auth/password_hash.hpp"
#include "registry/auth/resume_ticket.hpp"
#include "registry/auth/token.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/store/sqlite_store.hpp"
#include "registry/store/store_worker.hpp"
#include "shared/proto/codec.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace parley::registry::testing {

using messages = std::vector<proto::server_message>;

inline std::string to_text(const proto::server_message& message) {
  std::ostringstream out;
  const auto code = [](auto e) { return static_cast<int>(e); };
  std::visit(
      [&]<class M>(const M& m) {
        if constexpr (std::is_same_v<M, proto::server_hello>) {
          out << "server_hello(" << m.version << ")";
        } else if constexpr (std::is_same_v<M, proto::login_reply>) {
          out << "login_reply(" << code(m.result) << ")";
        } else if constexpr (std::is_same_v<M, proto::delivery>) {
          out << "delivery(" << m.from.value << ", " << m.text.value << ", " << code(m.kind) << ")";
        } else if constexpr (std::is_same_v<M, proto::presence>) {
          out << "presence(" << m.user.value << ", " << code(m.online) << ")";
        } else if constexpr (std::is_same_v<M, proto::presence_batch>) {
          out << "presence_batch(";
          for (const auto& c : m.changes.items)
            out << (c.online ? '+' : '-') << c.user.value << ' ';
          out << ")";
        } else if constexpr (std::is_same_v<M, proto::command_reply>) {
          out << "command_reply(" << code(m.result) << ", '" << m.subject.value << "')";
        } else if constexpr (std::is_same_v<M, proto::user_list>) {
          out << "user_list(" << code(m.query) << ", [";
          for (const auto& name : m.names.items) out << name.value << ' ';
          out << "], final=" << code(m.final_chunk) << ")";
        } else if constexpr (std::is_same_v<M, proto::session_end>) {
          out << "session_end(" << code(m.reason) << ")";
        } else if constexpr (std::is_same_v<M, proto::private_offer>) {
          out << "private_offer(" << m.from.value << ")";
        } else if constexpr (std::is_same_v<M, proto::private_expect>) {
          // Tokens are secrets: tests compare them, failure messages do not print them.
          out << "private_expect(" << m.peer.value << ", <token>)";
        } else if constexpr (std::is_same_v<M, proto::private_expect_from>) {
          out << "private_expect_from(" << m.peer.value << ", <token>, " << m.address.value << ")";
        } else if constexpr (std::is_same_v<M, proto::private_granted>) {
          out << "private_granted(" << m.peer.value << ", " << m.address.value << ", " << m.port
              << ", <token>)";
        } else if constexpr (std::is_same_v<M, proto::private_expect_keyed>) {
          out << "private_expect_keyed(" << m.peer.value << ", <token>, " << m.address.value
              << ", <key>)";
        } else if constexpr (std::is_same_v<M, proto::private_granted_keyed>) {
          out << "private_granted_keyed(" << m.peer.value << ", " << m.address.value << ", "
              << m.port << ", <token>, <key>)";
        } else if constexpr (std::is_same_v<M, proto::private_declined>) {
          out << "private_declined(" << m.peer.value << ")";
        } else if constexpr (std::is_same_v<M, proto::stored_end>) {
          out << "stored_end";
        } else if constexpr (std::is_same_v<M, proto::session_ticket>) {
          out << "session_ticket(<ticket>)";
        } else if constexpr (std::is_same_v<M, proto::resume_reply>) {
          out << "resume_reply(" << code(m.result) << ")";
        } else if constexpr (std::is_same_v<M, proto::stored_message>) {
          out << "stored_message(#" << m.id << ", " << m.from.value << ", " << m.text.value << ")";
        } else {
          out << "server message #" << message.index();
        }
      },
      message);
  return out.str();
}

// Shorthands for expected messages.
inline proto::server_message login(proto::login_result r) { return proto::login_reply{r}; }
inline proto::server_message reply(proto::outcome r, std::string subject = {}) {
  return proto::command_reply{r, std::move(subject)};
}
inline proto::server_message ended(proto::end_reason r) { return proto::session_end{r}; }
// What one login or logout alone in its turn sends: a batch of one.
inline proto::server_message presence(std::string user, bool online) {
  proto::presence_batch batch;
  batch.changes.items.push_back(
      proto::presence{std::move(user), static_cast<std::uint8_t>(online)});
  return batch;
}
// A batch of several changes: "+luke", "-leia".
inline proto::server_message presence_changes(std::vector<std::string> changes) {
  proto::presence_batch batch;
  for (const auto& c : changes)
    batch.changes.items.push_back(
        proto::presence{c.substr(1), static_cast<std::uint8_t>(c.front() == '+')});
  return batch;
}
inline proto::server_message delivery(std::string from, std::string text,
                                      proto::delivery_kind kind) {
  return proto::delivery{std::move(from), std::move(text), kind};
}
// A stored message as the inbox keeps it: the harness records its id apart (stored_ids) and
// zeroes it and its time here, so tests compare what the user sees.
inline proto::server_message stored(std::string from, std::string text) {
  return proto::stored_message{0, std::move(from), std::move(text), 0};
}
// The end of the stored messages that follow every welcome.
inline proto::server_message mailbox_end() { return proto::stored_end{}; }
// A welcome with an empty mailbox.
inline messages welcomed() { return {login(proto::login_result::welcome), mailbox_end()}; }
inline proto::server_message offer(std::string from) {
  return proto::private_offer{std::move(from)};
}
inline proto::server_message declined(std::string peer) {
  return proto::private_declined{std::move(peer)};
}
inline proto::server_message names(proto::user_query query, std::vector<std::string> list,
                                   bool final_chunk = true) {
  proto::user_list l;
  l.query = query;
  for (auto& n : list) l.names.items.emplace_back(std::move(n));
  l.final_chunk = final_chunk ? 1 : 0;
  return l;
}

// A fixed, millisecond-aligned start: the store keeps milliseconds.
inline time_point start_time() { return from_unix_ms(1'700'000'000'000); }

// One pre-made Argon2id hash at test cost, to seed accounts without a login each.
inline const std::string& seed_hash(const std::string& password) {
  static std::map<std::string, std::string> made;
  auto it = made.find(password);
  if (it == made.end()) {
    REQUIRE(auth::initialize());
    auto hash = auth::hash_password(password, auth::hash_cost::test);
    REQUIRE(hash);
    it = made.emplace(password, *hash).first;
  }
  return it->second;
}

class harness {
 public:
  explicit harness(core_config config = test_config(), const std::string& path = ":memory:")
      : config_(config) {
    REQUIRE(auth::initialize());
    auto opened = sqlite_store::open(path);
    REQUIRE_MESSAGE(opened.store, opened.error);
    store_ = std::move(opened.store);
  }

  static core_config test_config() {
    core_config c;
    c.block_duration = std::chrono::seconds(60);
    c.idle_timeout = std::chrono::seconds(600);
    c.login_deadline = std::chrono::seconds(30);
    c.max_failed_attempts = 3;
    c.max_offline_per_recipient = 1000;
    c.max_private_offers = 16;
    // The registry's own token source, as the issue asks: the core tests use the real thing.
    c.new_token = auth::random_token;
    return c;
  }

  // SPEC 11: tickets on, with the registry's own ticket source and digest.
  static core_config resume_config() {
    core_config c = test_config();
    c.resume.new_ticket = auth::random_ticket;
    c.resume.digest_ticket = auth::digest_ticket;
    return c;
  }

  // Accounts created straight in the store; call before the core first exists.
  void seed_account(const std::string& name, const std::string& password) {
    REQUIRE_FALSE(core_);
    REQUIRE(store_->add_account(name, seed_hash(password), now));
  }

  core& registry() {
    if (!core_) core_ = std::make_unique<core>(config_, store_->load());
    return *core_;
  }
  sqlite_store& store() { return *store_; }

  // The account as the database has it now.
  account_record stored(const std::string& name) {
    for (auto& account : store_->load().accounts)
      if (account.name == name) return account;
    FAIL("no account " << name << " in the database");
    return {};
  }

  // A registry restart on the same database: sessions are gone, durable state stays.
  void restart() {
    core_.reset();
    inbox_.clear();
  }

  // ---------------------------------------------------------------- the shell's part

  // Hash jobs run at once unless held; held ones wait in `held` for run_held().
  bool hold_hashes = false;
  std::deque<hash_job> held;
  // Ends are followed by on_disconnect, as the shell does after flushing.
  bool disconnect_ended = true;
  std::vector<effects::end> ends;
  effects last;  // the raw effects of the latest call, for frame sharing checks
  // Store jobs are answered at once unless held; held ones wait in `held_writes` for
  // answer_writes().
  bool hold_writes = false;
  std::deque<store_job> held_writes;
  // The peer's part: every stored message is confirmed as it arrives.
  bool auto_confirm = true;
  // The ids of the stored messages each session received, in order.
  std::map<session_id, std::vector<std::uint64_t>> stored_ids;

  void apply(effects& out) {
    last = out;
    std::vector<std::pair<session_id, std::uint64_t>> confirm;
    for (const auto& send : out.sends) {
      // Checked without an assertion per frame: some tests send hundreds of thousands.
      if (!send.frame || send.frame->size() < proto::frame_header_bytes)
        FAIL("the core sent an empty frame");
      const std::string_view body = std::string_view(*send.frame).substr(4);
      if (proto::read_frame_length(reinterpret_cast<const unsigned char*>(send.frame->data())) !=
          body.size())
        FAIL("frame length does not match its body");
      auto decoded = proto::decode_server(body);
      if (!decoded.message) FAIL("the core sent a frame that does not decode: " << decoded.error);
      if (auto* m = std::get_if<proto::stored_message>(&*decoded.message)) {
        stored_ids[send.to].push_back(m->id);
        if (auto_confirm) confirm.emplace_back(send.to, m->id);
        m->id = 0;
        m->sent_at_ms = 0;
      }
      inbox_[send.to].push_back(std::move(*decoded.message));
    }
    auto jobs = std::move(out.hashes);
    auto finished = std::move(out.ends);
    // Queued before anything below calls into the core again: the worker runs jobs in the order
    // the core asked for them.
    for (auto& job : out.writes) held_writes.push_back(std::move(job));
    out.writes.clear();
    for (auto& job : jobs) {
      if (hold_hashes)
        held.push_back(std::move(job));
      else
        run(job);
    }
    for (auto& end : finished) {
      ends.push_back(end);
      if (disconnect_ended) disconnect(end.session);
    }
    if (!hold_writes) answer_writes();
    for (const auto& [id, stored_id] : confirm)
      send_unchecked(id, proto::stored_received{stored_id});
  }

  // Runs every held store job, in order, and hands the answers to the core in one call (as the
  // worker does with a batch).
  void answer_writes(std::size_t at_most = SIZE_MAX) {
    std::vector<store_done> answers;
    while (!held_writes.empty() && answers.size() < at_most) {
      answers.push_back(execute(*store_, held_writes.front()));
      held_writes.pop_front();
    }
    if (answers.empty()) return;
    effects out;
    registry().on_store_done(answers, now, out);
    apply(out);
  }

  hash_done compute(const hash_job& job) {
    hash_done done{job.session, job.ticket, false, {}};
    if (job.what == hash_job::kind::verify) {
      done.ok = auth::verify_password(job.stored_hash, job.password);
    } else if (auto hash = auth::hash_password(job.password, auth::hash_cost::test)) {
      done.ok = true;
      done.hash = *hash;
    }
    return done;
  }

  void run(const hash_job& job) { finish_hash(compute(job)); }

  void finish_hash(const hash_done& done) {
    effects out;
    registry().on_hash_done(done, now, out);
    end_of_call(out);
  }

  // Every call below is a turn of the shell's loop of its own, ended as the shell does (the
  // turn's presence notices go out), unless a test ends turns itself with end_turn().
  bool end_turns = true;
  void end_turn() {
    effects out;
    registry().on_turn_end(now, out);
    apply(out);
  }
  void end_of_call(effects& out) {
    apply(out);
    if (end_turns && registry().turn_end_pending()) end_turn();
  }

  void run_held() {
    while (!held.empty()) {
      auto job = std::move(held.front());
      held.pop_front();
      run(job);
    }
  }

  // ---------------------------------------------------------------- a peer's part

  time_point now = start_time();

  session_id open(const std::string& address = "127.0.0.1") {
    const session_id id = next_id_++;
    effects out;
    registry().on_connect(id, address, now, out);
    end_of_call(out);
    return id;
  }

  void send(session_id id, const proto::client_message& message) {
    // Only what the codec would let through reaches the core.
    REQUIRE_FALSE(proto::validate(message));
    effects out;
    registry().on_message(id, message, now, out);
    end_of_call(out);
  }

  // Like send, for the harness's own confirmations (the session may have gone meanwhile).
  void send_unchecked(session_id id, const proto::client_message& message) {
    effects out;
    registry().on_message(id, message, now, out);
    apply(out);
  }

  void disconnect(session_id id) {
    effects out;
    registry().on_disconnect(id, now, out);
    end_of_call(out);
  }

  void advance(std::chrono::milliseconds by) { now += by; }

  void tick() {
    effects out;
    registry().on_tick(now, out);
    end_of_call(out);
  }

  void shutdown() {
    effects out;
    registry().on_shutdown(now, out);
    end_of_call(out);
  }

  // The shell's call once it listens (SPEC 11's restored sessions).
  void start() {
    effects out;
    registry().on_start(now, out);
    end_of_call(out);
  }

  // A connection that has said hello; its server_hello is consumed.
  session_id hello(const std::string& address = "127.0.0.1") {
    const session_id id = open(address);
    send(id, proto::client_hello{proto::protocol_version, "test"});
    REQUIRE(take(id) == messages{proto::server_hello{}});
    return id;
  }

  // A logged-in session (new or known account); the welcome and any offline messages stay in
  // its inbox unless `keep_inbox` is false.
  session_id login_as(const std::string& name, const std::string& password, bool keep_inbox = false,
                      const std::string& address = "127.0.0.1") {
    const session_id id = hello(address);
    send(id, proto::login_name{name});
    const auto asked = take(id);
    REQUIRE(asked.size() == 1);
    send(id, proto::login_password{password});
    if (!keep_inbox) {
      const auto got = take(id);
      REQUIRE(!got.empty());
      REQUIRE(got.front() == login(proto::login_result::welcome));
    }
    return id;
  }

  // Everything the session received since the last take, in order.
  messages take(session_id id) {
    auto it = inbox_.find(id);
    if (it == inbox_.end()) return {};
    messages got = std::move(it->second);
    inbox_.erase(it);
    return got;
  }

  // Drops what every session has received so far.
  void clear_inboxes() { inbox_.clear(); }

  std::optional<end_cause> end_of(session_id id) const {
    for (const auto& e : ends)
      if (e.session == id) return e.cause;
    return std::nullopt;
  }

 private:
  core_config config_;
  std::unique_ptr<sqlite_store> store_;
  std::unique_ptr<core> core_;
  session_id next_id_ = 1;
  std::map<session_id, messages> inbox_;
};

}  // namespace parley::registry::testing

namespace doctest {
template <>
struct StringMaker<parley::registry::time_point> {
  static String convert(parley::registry::time_point t) {
    return ("unix_ms " + std::to_string(parley::registry::to_unix_ms(t))).c_str();
  }
};
template <>
struct StringMaker<std::optional<parley::registry::time_point>> {
  static String convert(const std::optional<parley::registry::time_point>& t) {
    return t ? StringMaker<parley::registry::time_point>::convert(*t) : String("nullopt");
  }
};
template <>
struct StringMaker<std::optional<parley::registry::end_cause>> {
  static String convert(const std::optional<parley::registry::end_cause>& cause) {
    return cause ? String(parley::registry::describe(*cause)) : String("not ended");
  }
};
template <>
struct StringMaker<parley::proto::server_message> {
  static String convert(const parley::proto::server_message& m) {
    return parley::registry::testing::to_text(m).c_str();
  }
};
template <>
struct StringMaker<parley::registry::testing::messages> {
  static String convert(const parley::registry::testing::messages& list) {
    std::string text = "{";
    for (const auto& m : list) text += parley::registry::testing::to_text(m) + "; ";
    return (text + "}").c_str();
  }
};
}  // namespace doctest
