// The registry core driven by fuzz input, with the shell's part played here: a script of steps
// (a connection, a message from one, a hash job answered, a disconnect, time passing, a tick),
// each decoded from the input, run against the real core on a ":memory:" SQLite store, and the
// invariants checked on every effect and after every step. Everything that talks to the core
// is in this one class, so a change of the core's interface is one change here.
//
// The model kept beside the core is only what the shell can see: which sessions are connected,
// which the core has ended, which have been welcomed (and under which name). Invariants:
// - every frame goes to a connected session the core has not ended before this call; it decodes
//   (and so is valid), and a session_end is the session's last frame, sent with its end;
// - no session ends twice; ends and hash jobs are only for connected sessions, tickets unique;
// - a welcome is for a name that is not online on another session; presence, deliveries,
//   replies and private-chat frames go to welcomed sessions only; presence of a user coming
//   online is about a welcomed user, never told to that user itself;
// - the core counts the same sessions and online users as the model, and logged_in() agrees
//   with it for every session;
// - every session not yet ended has a deadline, and after a tick none is due any more;
// - a call about an unknown session, or an answer to a job whose session has gone, has no
//   effects; at shutdown every session ends.
#pragma once

#include "registry/core/registry_core.hpp"
#include "registry/core/storage.hpp"
#include "registry/store/sqlite_store.hpp"
#include "registry/store/store_worker.hpp"
#include "shared/proto/codec.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace parley::fuzz {

using registry::effects;
using registry::hash_done;
using registry::hash_job;
using registry::session_id;
using registry::time_point;

// Reads the input a byte at a time; past its end every read is 0.
class byte_reader {
 public:
  explicit byte_reader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return at_ >= bytes_.size(); }
  std::uint8_t u8() { return done() ? 0 : static_cast<std::uint8_t>(bytes_[at_++]); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  // Up to `most` bytes, as many as the next byte says.
  std::string_view chunk(std::size_t most) {
    const std::size_t wanted = u8() % (most + 1);
    const std::size_t size = std::min(wanted, bytes_.size() - std::min(at_, bytes_.size()));
    const auto piece = bytes_.substr(std::min(at_, bytes_.size()), size);
    at_ += size;
    return piece;
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz: core invariant broken: %s\n", what.c_str());
  std::abort();
}
inline void require(bool holds, const std::string& what) {
  if (!holds) broken(what);
}

// The first byte of each step, modulo 16 (core_driver::step): 0-1 connect, 2-7 a message, 8-9
// a hash job answered, 10-11 a disconnect, 12 time passes, 13 a tick, 14 both, 15 a shutdown
// (when the next byte is a multiple of 4).
namespace step_code {
inline constexpr std::uint8_t connect = 0, message = 2, hash_done = 8, store_done = 9,
                              disconnect = 10, advance = 12, tick = 13, advance_and_tick = 14,
                              shutdown = 15;
// The message step's second byte below this: raw bytes for the decoder follow, not a message
// built from the vocabulary.
inline constexpr std::uint8_t raw_below = 16;
}  // namespace step_code

class core_driver {
 public:
  // Accounts that exist from the start, with their passwords; other names are new users.
  static constexpr std::array<const char*, 3> known_names = {"yoda", "luke", "leia"};
  static constexpr std::array<const char*, 6> names = {"yoda", "luke",  "leia",
                                                       "han",  "vader", "r2d2"};
  static constexpr std::array<const char*, 4> passwords = {"jedi", "wrong", "sith", ""};

  // PARLEY_FUZZ_TRACE=1 in the environment prints every step and frame (to read a finding).
  core_driver() : trace_(std::getenv("PARLEY_FUZZ_TRACE") != nullptr) {
    spdlog::set_level(spdlog::level::off);
    auto opened = registry::sqlite_store::open(":memory:");
    require(opened.store != nullptr, "the :memory: store opens: " + opened.error);
    store_ = std::move(opened.store);
    for (const char* name : known_names)
      require(store_->add_account(name, fake_hash("jedi"), now_), "an account can be seeded");
    registry::core_config config;
    config.block_duration = std::chrono::seconds(60);
    config.idle_timeout = std::chrono::seconds(600);
    config.login_deadline = std::chrono::seconds(30);
    config.max_failed_attempts = 3;
    // Small bounds, so that short inputs reach them.
    config.max_offline_per_recipient = 3;
    config.max_private_offers = 2;
    // Deterministic, so that an input always does the same; 32 lowercase hex digits.
    config.new_token = [this] {
      char token[proto::private_token_chars + 1];
      std::snprintf(token, sizeof token, "%032llx", static_cast<unsigned long long>(++tokens_));
      return std::string(token);
    };
    config.mailbox_page_rows = 2;
    // SPEC 11's tickets, deterministic too; the digest only has to be a function of the ticket.
    config.resume.new_ticket = [this] {
      proto::resume_ticket ticket{};
      ticket[0] = static_cast<std::uint8_t>(++resume_tickets_);
      ticket[1] = static_cast<std::uint8_t>(resume_tickets_ >> 8);
      return ticket;
    };
    config.resume.digest_ticket = [](const proto::resume_ticket& ticket) {
      registry::ticket_digest digest{};
      for (std::size_t i = 0; i < digest.size(); ++i)
        digest[i] = static_cast<std::uint8_t>(ticket[i] ^ 0x5a);
      return digest;
    };
    core_ = std::make_unique<registry::core>(config, store_->load());
  }

  // Decodes one step from `in` and runs it.
  void step(byte_reader& in) {
    namespace code = step_code;
    const std::uint8_t op = in.u8() % 16;
    if (op < code::message) {
      connect(in);
    } else if (op < code::hash_done) {
      message(in);
    } else if (op == code::store_done) {
      answer_writes(in.u8() % 8 + 1);
    } else if (op < code::disconnect) {
      answer_hash(in);
    } else if (op < code::advance) {
      disconnect(in);
    } else if (op == code::advance) {
      advance(in);
    } else if (op == code::tick) {
      tick();
    } else if (op == code::advance_and_tick) {
      advance(in);
      tick();
    } else if (in.u8() % 4 == 0) {
      // Shutdown is rare: it ends everything, and the rest of the input would do little.
      shutdown();
    }
    check_counts();
  }

  // The end of the input: the registry stops, every connection closes.
  void finish() {
    shutdown();
    while (!connected_.empty()) disconnect_id(connected_.begin()->first);
    check_counts();
    // Only sessions waiting for their resume (SPEC 11) are left: their tickets outlive the
    // registry, and the next start restores them from the store.
    require(core_->sessions() <= waiting_.size() && core_->online_users() <= waiting_.size(),
            "no session is left once every connection has closed, but those waiting for a "
            "resume");
    // Store answers after every session has gone send nothing and end nothing.
    while (!writes_.empty()) {
      std::vector<registry::store_done> answers;
      answers.push_back(registry::execute(*store_, writes_.front()));
      writes_.pop_front();
      effects out;
      core_->on_store_done(answers, now_, out);
      require(out.sends.empty() && out.ends.empty() && out.hashes.empty(),
              "a store answer after every session has gone sends nothing");
      for (auto& job : out.writes) writes_.push_back(std::move(job));
    }
    // Answers that come after their sessions have gone change nothing.
    for (const auto& job : pending_) {
      effects out;
      core_->on_hash_done(compute(job, 0), now_, out);
      require(out.empty(), "an answer for a session that has gone has no effects");
    }
  }

 private:
  struct session_model {
    std::string address;
    std::string last_name;  // the latest login_name this session sent
    std::optional<std::string> online_as;
    bool ended = false;
    bool hello_answered = false;
    bool entered = false;   // the core has reported its login (effects::logins)
    bool ticketed = false;  // it was given a resume ticket (SPEC 11)
  };

  static std::string fake_hash(std::string_view password) {
    return "fake-argon2id$" + std::string(password);
  }

  // A hash job as the pool would answer it (`mode` 2: the hashing failed; 3: a rehash at
  // another cost came with a verified password).
  static hash_done compute(const hash_job& job, std::uint8_t mode) {
    hash_done done{job.session, job.ticket, false, {}};
    if (job.what == hash_job::kind::verify) {
      done.ok = job.stored_hash == fake_hash(job.password);
      if (done.ok && mode == 3) done.hash = fake_hash(job.password);
    } else if (mode != 2) {
      done.ok = true;
      done.hash = fake_hash(job.password);
    }
    return done;
  }

  // A connected session, or (for the last choice) an id the core does not know.
  session_id pick_session(byte_reader& in) {
    const std::size_t choice = in.u8() % (connected_.size() + 1);
    if (choice == connected_.size()) return unknown_id;
    auto it = connected_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(choice));
    return it->first;
  }

  // ------------------------------------------------------------------ the steps

  void connect(byte_reader& in) {
    static constexpr std::array<const char*, 3> addresses = {"127.0.0.1", "127.0.0.2", "::1"};
    const session_id id = next_id_++;
    connected_[id].address = addresses[in.u8() % addresses.size()];
    effects out;
    core_->on_connect(id, connected_[id].address, now_, out);
    apply(out, "connect");
  }

  proto::client_message build_message(byte_reader& in) {
    const auto name = [&] { return std::string(names[in.u8() % names.size()]); };
    const auto password = [&] { return std::string(passwords[in.u8() % passwords.size()]); };
    const auto text = [&] {
      static constexpr std::array<const char*, 3> texts = {"hello", "h\xc3\xa9llo", "x"};
      return std::string(texts[in.u8() % texts.size()]);
    };
    // One of a few keys: the core only relays them, and which reaches whom is what matters.
    const auto chat_key = [&] {
      proto::chat_public_key key;
      key.fill(static_cast<std::uint8_t>(in.u8() % 4));
      return key;
    };
    switch (in.u8() % std::variant_size_v<proto::client_message>) {
      case 0: {
        // Mostly the right version; sometimes another.
        const std::uint8_t v = in.u8();
        return proto::client_hello{
            v < 240 ? proto::protocol_version : static_cast<std::uint16_t>(v), "fuzz"};
      }
      case 1: return proto::login_name{name()};
      case 2: return proto::login_password{password()};
      case 3: return proto::direct_message{name(), text()};
      case 4: return proto::broadcast_message{text()};
      case 5: return proto::who_else{};
      case 6: return proto::who_else_since{static_cast<std::uint64_t>(in.u8()) * in.u8() * 10};
      case 7: return proto::block_user{name()};
      case 8: return proto::unblock_user{name()};
      case 9: return proto::logout_request{};
      case 10: return proto::activity{};
      case 11: return proto::private_listen{static_cast<std::uint16_t>(in.u16() | 1)};
      case 12: return proto::private_request{name()};
      case 14: return proto::stored_received{in.u8()};
      case 15: return proto::private_invite{name(), chat_key()};
      case 16: return proto::private_consent{name(), chat_key()};
      case 17: {
        // A ticket some session was given (most often, under its user's name or another's),
        // or one nobody was.
        const std::uint8_t pick = in.u8();
        const std::uint8_t name_choice = in.u8();
        std::string who = name();
        proto::resume_ticket ticket{};
        if (pick < 192 && !issued_.empty()) {
          const auto& [user, given] = issued_[pick % issued_.size()];
          ticket = given;
          if (name_choice >= 64) who = user;
        } else {
          ticket[0] = pick;
        }
        return proto::resume_session{who, ticket};
      }
      default: return proto::private_answer{name(), static_cast<std::uint8_t>(in.u8() & 1)};
    }
  }

  void message(byte_reader& in) {
    const session_id id = pick_session(in);
    std::optional<proto::client_message> m;
    if (in.u8() < step_code::raw_below) {
      // Raw bytes through the real decoder: whatever it lets through reaches the core.
      auto decoded = proto::decode_client(in.chunk(64));
      if (decoded.message) m = std::move(*decoded.message);
    } else {
      m = build_message(in);
    }
    // Only what the codec would let through reaches the core.
    if (!m || proto::validate(*m)) return;
    if (auto* name = std::get_if<proto::login_name>(&*m); name && connected_.contains(id))
      connected_[id].last_name = name->name.value;
    if (auto* resume = std::get_if<proto::resume_session>(&*m); resume && connected_.contains(id))
      connected_[id].last_name = resume->name.value;
    effects out;
    core_->on_message(id, *m, now_, out);
    if (id == unknown_id) require(out.empty(), "a message from an unknown session has no effects");
    apply(out, "message");
  }

  void answer_hash(byte_reader& in) {
    if (pending_.empty()) return;
    const std::size_t index = in.u8() % pending_.size();
    const hash_job job = pending_[index];
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
    const std::uint8_t mode = in.u8() % 5;
    hash_done done = compute(job, mode);
    // 4: an answer with another ticket (an abandoned attempt's, say) is not this job's.
    if (mode == 4) done.ticket += 1000;
    effects out;
    core_->on_hash_done(done, now_, out);
    if (!connected_.contains(job.session))
      require(out.empty(), "an answer for a session that has gone has no effects");
    apply(out, "hash_done");
  }

  void disconnect(byte_reader& in) {
    const session_id id = pick_session(in);
    if (id == unknown_id) {
      effects out;
      core_->on_disconnect(id, now_, out);
      require(out.empty(), "the disconnect of an unknown session has no effects");
      return;
    }
    disconnect_id(id);
  }

  void disconnect_id(session_id id) {
    // A session with a ticket may wait for its resume (SPEC 11): still online in the core.
    if (const auto& s = connected_[id]; s.online_as && s.ticketed) waiting_.insert(*s.online_as);
    effects out;
    core_->on_disconnect(id, now_, out);
    connected_.erase(id);
    apply(out, "disconnect");
  }

  void advance(byte_reader& in) {
    const std::uint8_t kind = in.u8();
    const std::uint8_t amount = in.u8();
    if (kind < 128) {
      now_ += std::chrono::milliseconds(amount * 10);
    } else if (kind < 224) {
      now_ += std::chrono::seconds(amount);
    } else {
      // Past the idle timeout (and the lockout, and a token's life) at once.
      now_ += std::chrono::seconds(600 + amount);
    }
  }

  void tick() {
    effects out;
    core_->on_tick(now_, out);
    apply(out, "tick");
    if (const auto next = core_->next_deadline())
      require(*next > now_, "after a tick no deadline is due any more");
  }

  void shutdown() {
    effects out;
    core_->on_shutdown(now_, out);
    apply(out, "shutdown");
    // Ends wait behind the sessions' unanswered writes: the store answers them all.
    answer_writes(SIZE_MAX);
    for (const auto& [id, s] : connected_)
      require(s.ended, "every session ends at shutdown (#" + std::to_string(id) + ")");
  }

  // ------------------------------------------------------------------ the shell's part

  void apply(const effects& out, const char* during) {
    const std::string where = std::string(" (during ") + during + ")";
    if (trace_) {
      std::fprintf(stderr, "%s at %lld ms: %zu sends, %zu ends, %zu hash jobs\n", during,
                   static_cast<long long>(registry::to_unix_ms(now_)), out.sends.size(),
                   out.ends.size(), out.hashes.size());
    }
    std::set<session_id> ending;
    for (const auto& end : out.ends) {
      require(connected_.contains(end.session), "an end is for a connected session" + where);
      require(!connected_[end.session].ended, "no session ends twice" + where);
      require(ending.insert(end.session).second, "no session ends twice in one call" + where);
    }
    for (const session_id id : out.logins) {
      require(connected_.contains(id), "a login is for a connected session" + where);
      require(!connected_[id].ended, "no login for an ended session" + where);
      require(!connected_[id].entered, "a session logs in once" + where);
      connected_[id].entered = true;
    }
    std::set<session_id> said_goodbye;
    for (const auto& send : out.sends) check_send(send, ending, said_goodbye, where);
    for (const auto& end : out.ends) {
      session_model& s = connected_[end.session];
      s.ended = true;
      s.online_as.reset();
    }
    for (const auto& job : out.hashes) {
      require(connected_.contains(job.session), "a hash job is for a connected session" + where);
      require(!connected_[job.session].ended, "no hash job for an ended session" + where);
      require(tickets_.insert(job.ticket).second, "every hash job has its own ticket" + where);
      pending_.push_back(job);
    }
    // Store jobs are answered by a step of their own (answer_writes), in order, like the worker.
    for (const auto& job : out.writes) writes_.push_back(job);
  }

  // The store worker's part: the oldest `count` jobs run on the store and are answered in one
  // batch (until none is left for SIZE_MAX: answers may ask for more).
  void answer_writes(std::size_t count) {
    while (!writes_.empty() && count > 0) {
      std::vector<registry::store_done> answers;
      while (!writes_.empty() && answers.size() < count) {
        answers.push_back(registry::execute(*store_, writes_.front()));
        writes_.pop_front();
      }
      if (count != SIZE_MAX) count -= answers.size();
      effects out;
      core_->on_store_done(answers, now_, out);
      apply(out, "store_done");
    }
  }

  void check_send(const effects::send& send, const std::set<session_id>& ending,
                  std::set<session_id>& said_goodbye, const std::string& where) {
    require(connected_.contains(send.to), "a frame goes to a connected session" + where);
    session_model& s = connected_[send.to];
    require(!s.ended, "no frame after a session's end" + where);
    require(!said_goodbye.contains(send.to), "session_end is a session's last frame" + where);
    require(send.frame != nullptr && send.frame->size() >= proto::frame_header_bytes,
            "a frame has its header" + where);
    const std::string_view body = std::string_view(*send.frame).substr(proto::frame_header_bytes);
    require(proto::read_frame_length(reinterpret_cast<const unsigned char*>(send.frame->data())) ==
                body.size(),
            "the frame header holds the body length" + where);
    auto decoded = proto::decode_server(body);
    require(decoded.message.has_value(), "every frame decodes: " + decoded.error + where);
    const auto& m = *decoded.message;
    if (trace_)
      std::fprintf(stderr, "  to #%llu: message #%zu\n", static_cast<unsigned long long>(send.to),
                   m.index());
    if (trace_ && std::holds_alternative<proto::login_reply>(m))
      std::fprintf(stderr, "    login_reply %d\n",
                   static_cast<int>(std::get<proto::login_reply>(m).result));

    const bool welcomed = s.online_as.has_value();
    if (const auto* reply = std::get_if<proto::login_reply>(&m)) {
      if (reply->result == proto::login_result::welcome) {
        require(!welcomed, "a session is welcomed once" + where);
        require(s.entered, "a welcome is for a session whose login was reported" + where);
        require(!s.last_name.empty(), "a welcome follows a login name" + where);
        // A session that logged out while its frames wait for the store has its end (and so
        // its model's online_as) still to come, but its name is free in the core already.
        for (const auto& [id, other] : connected_)
          require(other.online_as != s.last_name || (id != send.to && !core_->logged_in(id)),
                  "a welcome is for a name not online elsewhere: " + s.last_name + where);
        s.online_as = s.last_name;
        ever_online_.insert(s.last_name);
      }
    } else if (std::holds_alternative<proto::server_hello>(m)) {
      require(!s.hello_answered, "one server_hello per session" + where);
      s.hello_answered = true;
    } else if (std::holds_alternative<proto::session_end>(m)) {
      require(ending.contains(send.to), "a session_end comes with the session's end" + where);
      said_goodbye.insert(send.to);
    } else if (const auto* resume = std::get_if<proto::resume_reply>(&m)) {
      require(!welcomed, "a resume answer is for a session not logged in" + where);
      require(!s.last_name.empty(), "a resume answer follows a resume_session" + where);
      if (resume->result == proto::resume_result::not_resumable) {
        require(ending.contains(send.to), "a refused resume ends the session" + where);
      } else {
        require(s.entered, "a resumed session's login was reported" + where);
        s.online_as = s.last_name;
        s.ticketed = true;
        ever_online_.insert(s.last_name);
      }
    } else if (const auto* ticket = std::get_if<proto::session_ticket>(&m)) {
      require(welcomed, "a ticket is for a logged-in session" + where);
      s.ticketed = true;
      issued_.emplace_back(*s.online_as, ticket->ticket);
    } else {
      // presence, delivery, command_reply, user_list and the private-chat frames.
      require(welcomed,
              "only a logged-in session gets message #" + std::to_string(m.index()) + where);
      if (const auto* p = std::get_if<proto::presence>(&m); p && p->online == 1) {
        require(p->user.value != *s.online_as, "no one is told of their own login" + where);
        bool online = false;
        for (const auto& [id, other] : connected_) online |= other.online_as == p->user.value;
        // A frame that waited behind the recipient's writes (released by a store answer) was
        // made earlier: its user was online then, and may have left since (at shutdown no
        // logout follows).
        online |= where == " (during store_done)" && ever_online_.contains(p->user.value);
        // A user waiting for its resume is online without a connection.
        online |= waiting_.contains(p->user.value);
        require(online, "a login notice is about a user online now: " + p->user.value + where);
      }
    }
  }

  void check_counts() const {
    // Sessions waiting for their resume have no connection: at most one per name.
    require(core_->sessions() >= connected_.size() &&
                core_->sessions() <= connected_.size() + waiting_.size(),
            "the core counts the connected sessions, and those waiting for a resume");
    std::size_t online = 0;
    bool some_not_ended = false;
    for (const auto& [id, s] : connected_) {
      online += s.entered && !s.ended ? 1 : 0;
      some_not_ended |= !s.ended;
      // The welcome may wait behind the session's writes (a failed attempt's lockout row), and
      // a session that has logged out while its frames wait is offline in the core before its
      // end reaches the shell: so logged_in() is checked against the reported login only.
      require(!core_->logged_in(id) || (s.entered && !s.ended),
              "logged_in() only after its login was reported and before an end (#" +
                  std::to_string(id) + ")");
      require(!s.online_as.has_value() || s.entered,
              "a welcomed session's login was reported (#" + std::to_string(id) + ")");
    }
    require(core_->online_users() <= online + waiting_.size(),
            "the core counts no more online users than sessions it reported logged in");
    // (A session whose end waits behind its unanswered store jobs has none: it is ending.)
    if (some_not_ended && writes_.empty())
      require(core_->next_deadline().has_value(), "every session not ended has a deadline");
  }

  static constexpr session_id unknown_id = 1'000'000'000;

  bool trace_ = false;
  std::unique_ptr<registry::sqlite_store> store_;
  std::unique_ptr<registry::core> core_;
  time_point now_ = registry::from_unix_ms(1'700'000'000'000);
  session_id next_id_ = 1;
  std::uint64_t tokens_ = 0;
  std::map<session_id, session_model> connected_;
  std::vector<hash_job> pending_;
  std::deque<registry::store_job> writes_;
  std::set<std::string> ever_online_;  // every name that has been welcomed
  std::set<std::uint64_t> tickets_;
  // SPEC 11: the tickets sessions were given (user, ticket), and the users who may be waiting
  // for their resume (they had a ticket when their connection went).
  std::uint64_t resume_tickets_ = 0;
  std::vector<std::pair<std::string, proto::resume_ticket>> issued_;
  std::set<std::string> waiting_;
};

// Writes the scripts core_driver reads, one call per step, for the seed corpus. A session is
// named by its place among the connected sessions, oldest first; names, passwords and texts by
// their index in core_driver's vocabulary.
class script_writer {
 public:
  using u8 = std::uint8_t;
  script_writer& connect(u8 address = 0) { return put({step_code::connect, address}); }
  script_writer& hello(u8 session) { return built(session, {0, 0}); }
  script_writer& name(u8 session, u8 name) { return built(session, {1, name}); }
  script_writer& password(u8 session, u8 password) { return built(session, {2, password}); }
  script_writer& direct(u8 session, u8 to, u8 text = 0) { return built(session, {3, to, text}); }
  script_writer& broadcast(u8 session, u8 text = 0) { return built(session, {4, text}); }
  script_writer& who_else(u8 session) { return built(session, {5}); }
  script_writer& who_else_since(u8 session, u8 a, u8 b) { return built(session, {6, a, b}); }
  script_writer& block(u8 session, u8 name) { return built(session, {7, name}); }
  script_writer& unblock(u8 session, u8 name) { return built(session, {8, name}); }
  script_writer& logout(u8 session) { return built(session, {9}); }
  script_writer& activity(u8 session) { return built(session, {10}); }
  script_writer& listen(u8 session) { return built(session, {11, 0x39, 0x30}); }
  script_writer& request(u8 session, u8 to) { return built(session, {12, to}); }
  script_writer& answer(u8 session, u8 requester, u8 yes) {
    return built(session, {13, requester, yes});
  }
  // A frame body for the real decoder (at most 64 bytes).
  script_writer& raw(u8 session, std::string_view body) {
    put({step_code::message, session, 0, static_cast<u8>(body.size())});
    bytes_.append(body);
    return *this;
  }
  // The job at `index` among those waiting, oldest first; `mode` as core_driver::compute.
  script_writer& hash_done(u8 index = 0, u8 mode = 0) {
    return put({step_code::hash_done, index, mode});
  }
  script_writer& disconnect(u8 session) { return put({step_code::disconnect, session}); }
  // The oldest `count` store jobs answered (1 to 8).
  script_writer& store_done(u8 count = 7) { return put({step_code::store_done, count}); }
  // resume_session with the `ticket`th ticket issued so far, under the name it was issued for.
  script_writer& resume(u8 session, u8 ticket = 0) { return built(session, {17, ticket, 255, 0}); }
  script_writer& advance_seconds(u8 seconds) { return put({step_code::advance, 128, seconds}); }
  script_writer& advance_past_idle() { return put({step_code::advance, 255, 0}); }
  script_writer& tick() { return put({step_code::tick}); }
  script_writer& shutdown() { return put({step_code::shutdown, 0}); }
  // A session that says hello, gives `name` and `password`, and has its hash answered.
  script_writer& log_in(u8 session, u8 name, u8 password = 0) {
    return hello(session).name(session, name).password(session, password).hash_done();
  }
  const std::string& bytes() const { return bytes_; }

 private:
  script_writer& put(std::initializer_list<u8> values) {
    for (const u8 v : values) bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  script_writer& built(u8 session, std::initializer_list<u8> message) {
    put({step_code::message, session, 255});
    return put(message);
  }
  std::string bytes_;
};

}  // namespace parley::fuzz
