#include "bench/workloads.hpp"

#include "bench/hardening.hpp"
#include "bench/irc_client.hpp"
#include "bench/p2p_link.hpp"
#include "bench/parley_client.hpp"
#include "bench/payload.hpp"

#include <sys/resource.h>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace parley::bench {

namespace {

using clock = std::chrono::steady_clock;

// A run whose setup (logins, private chats) takes longer than this has failed.
constexpr std::chrono::seconds setup_timeout{300};
// After sending stops, how long the messages still in flight may take to arrive.
constexpr std::chrono::seconds drain_period{2};
// idle: the logins' traffic (presence fan-out) has died down once no byte arrived for this long;
// the server's memory is read then, or after max_quiet_polls anyway.
constexpr std::chrono::milliseconds quiet_poll{200};
constexpr int max_quiet_polls = 50;
// login-storm: fresh connections logging in at once; past this the storm is behind, and a tick
// is skipped (and counted) rather than piling up connections.
constexpr std::size_t max_storm_in_progress = 1024;
// Error descriptions printed on stderr; the rest are only counted.
constexpr std::uint64_t max_errors_printed = 10;
constexpr double nanos_per_second = 1e9;
constexpr std::uint64_t nanos_per_micro = 1000;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
          .count());
}

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

// Ten thousand connections need more than the usual soft limit of 1024 descriptors.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) std::perror("parley-bench: setrlimit");
}

void progress(const std::string& text) { std::cerr << "parley-bench: " << text << '\n'; }

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

int run_workload(const options& opts) {
  raise_open_file_limit();
  if (opts.workload == workload::offline) return run_offline(opts);
  if (opts.workload == workload::hangup) return run_hangup(opts);
  workload_runner runner(opts);
  return runner.run();
}

workload_runner::workload_runner(const options& opts)
    : opts_(opts), n_(opts.users), cpu_(opts.pid), payload_(make_payload_buffer(opts.payload)) {
  names_.reserve(n_);
  for (std::size_t i = 0; i < n_; ++i) names_.push_back(opts_.prefix + std::to_string(i));
  users_.resize(n_);
  for (std::size_t i = 0; i + 1 < n_; i += 2) {
    users_[i].partner = i + 1;
    users_[i + 1].partner = i;
  }
  if (opts_.workload == workload::broadcast) {
    expected_kind_ = message_kind::broadcast;
    broadcast_expected_.assign(opts_.senders * n_, 0);
    broadcast_remaining_.assign(opts_.senders * opts_.inflight, 0);
  } else if (opts_.workload == workload::private_chat) {
    expected_kind_ = message_kind::private_text;
  }
}

workload_runner::~workload_runner() = default;

bool workload_runner::resolve_server() {
  if (opts_.tls && !loop_.enable_tls(setup_failure_)) return false;
  std::error_code ec;
  auto address = asio::ip::make_address(opts_.host, ec);
  if (ec) {
    asio::ip::tcp::resolver resolver(io_);
    const auto results = resolver.resolve(opts_.host, std::to_string(opts_.port), ec);
    if (ec || results.empty()) {
      setup_failure_ = "cannot resolve " + opts_.host;
      return false;
    }
    server_ = *results.begin();
    return true;
  }
  server_ = asio::ip::tcp::endpoint(address, opts_.port);
  return true;
}

int workload_runner::run() {
  setup_start_ = clock::now();
  if (opts_.pid) {
    rss_before_kib_ = read_rss_kib(*opts_.pid);
    if (!rss_before_kib_) progress("cannot read /proc/" + std::to_string(*opts_.pid) + "/status");
  }
  if (resolve_server() && (opts_.workload != workload::private_chat || open_private_listener())) {
    progress(std::string("logging in ") + std::to_string(n_) + " users on " +
             server_.address().to_string() + ":" + std::to_string(server_.port()));
    clients_.resize(n_);
    if (opts_.proto == protocol::parley) parley_clients_.resize(n_);
    // idle reports connect time and memory for the logins; the other workloads their traffic.
    if (opts_.workload == workload::idle) cpu_.start();
    setup_deadline_.expires_after(setup_timeout);
    setup_deadline_.async_wait([this](std::error_code ec) {
      if (!ec)
        setup_failed("setup took longer than " + std::to_string(setup_timeout.count()) + " s");
    });
    login_next();
    io_.run();
  }
  std::cout << report() << std::endl;
  return exit_code();
}

// ---------------------------------------------------------------- setup

void workload_runner::login_next() {
  // At most --connect-batch logins under way: the next starts as one completes.
  while (next_login_ < n_ && logins_in_progress_ < opts_.connect_batch &&
         phase_ == phase::logging_in) {
    const std::size_t user = next_login_++;
    ++logins_in_progress_;
    if (opts_.proto == protocol::parley) {
      auto client = std::make_unique<parley_client>(loop_, events(), user);
      parley_clients_[user] = client.get();
      std::optional<std::uint16_t> private_port;
      if (private_listener_) private_port = private_listener_->local_endpoint().port();
      client->start(server_, names_[user], opts_.password, private_port);
      clients_[user] = std::move(client);
    } else {
      auto client = std::make_unique<irc_client>(loop_, events(), user);
      client->start(server_, names_[user], opts_.workload == workload::broadcast);
      clients_[user] = std::move(client);
    }
    users_[user].sender = clients_[user].get();
  }
}

void workload_runner::on_ready(std::size_t user) {
  if (user >= n_) {
    // A login-storm connection is in: it logs straight out again.
    auto& slot = storm_slots_[user - n_];
    if (counted(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(slot.started.time_since_epoch())
                .count())))
      login_histogram_.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - slot.started)
              .count()));
    slot.client->logout();
    return;
  }
  if (phase_ == phase::logging_in) {
    --logins_in_progress_;
    if (++ready_ == n_) return all_logged_in();
    login_next();
  } else if (phase_ == phase::opening_chats) {
    if (++chats_ready_ == n_) {
      progress(std::to_string(n_ / 2) + " private chats open");
      start_traffic();
    }
  }
}

void workload_runner::all_logged_in() {
  connect_seconds_ = seconds_since(setup_start_);
  progress(std::to_string(n_) + " users logged in in " + fixed(connect_seconds_, 2) + " s");
  if (opts_.workload == workload::idle) {
    phase_ = phase::settling;
    setup_deadline_.cancel();
    return settle(loop_.bytes_read(), max_quiet_polls);
  }
  if (opts_.workload == workload::private_chat) return open_private_chats();
  start_traffic();
}

bool workload_runner::open_private_listener() {
  // The generator plays every peer: one listener, announced as every user's private-chat port,
  // on the address the registry connections come from.
  std::error_code ec;
  auto listener = std::make_unique<asio::ip::tcp::acceptor>(io_);
  const asio::ip::tcp::endpoint local(server_.address(), 0);
  listener->open(local.protocol(), ec);
  if (!ec) listener->bind(local, ec);
  if (!ec) listener->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    setup_failure_ = "cannot listen for private chats: " + ec.message();
    return false;
  }
  private_listener_ = std::move(listener);
  accept_private_chats();
  return true;
}

void workload_runner::accept_private_chats() {
  private_listener_->async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
    if (phase_ == phase::done) return;
    if (ec) return note_error("accepting a private chat: " + ec.message());
    auto link = std::make_unique<p2p_link>(loop_, events());
    link->adopt(std::move(socket));
    links_.push_back(std::move(link));
    accept_private_chats();
  });
}

void workload_runner::open_private_chats() {
  phase_ = phase::opening_chats;
  progress("opening " + std::to_string(n_ / 2) + " private chats");
  // The even user of each pair asks; the odd one says y (in on_private).
  for (std::size_t a = 0; a < n_; a += 2) {
    users_[a].chat_keys =
        std::make_shared<const peer::crypto::chat_keypair>(peer::crypto::chat_keypair::generate());
    parley_clients_[a]->send(
        proto::private_invite{names_[a + 1], users_[a].chat_keys->public_part()});
  }
}

namespace {
std::string key_bytes(const proto::chat_public_key& key) { return {key.begin(), key.end()}; }
}  // namespace

void workload_runner::expect_chat(std::size_t user, const proto::private_expect_keyed& expect) {
  if (expect.peer.value != names_[users_[user].partner])
    return setup_failed("private chat expected from " + expect.peer.value + " by " + names_[user]);
  const auto key = key_bytes(expect.peer_key);
  expected_chat chat{user, p2p_secrets{expect.peer.value, names_[user], expect.token.value,
                                       users_[user].chat_keys, expect.peer_key}};
  // The dialer's open may have come first, on its own connection.
  const auto early = early_opens_.find(key);
  if (early != early_opens_.end()) {
    p2p_link* link = early->second;
    early_opens_.erase(early);
    users_[user].sender = link;
    return link->answer(user, chat.secrets);
  }
  expected_chats_.emplace(key, std::move(chat));
}

void workload_runner::on_private(std::size_t user, const proto::server_message& message) {
  if (user >= n_) return;
  if (const auto* offer = std::get_if<proto::private_offer>(&message)) {
    const bool from_partner = offer->from.value == names_[users_[user].partner];
    if (!from_partner) {
      note_error("private chat offered by " + offer->from.value);
      parley_clients_[user]->send(proto::private_answer{offer->from, 0});
      return;
    }
    users_[user].chat_keys =
        std::make_shared<const peer::crypto::chat_keypair>(peer::crypto::chat_keypair::generate());
    parley_clients_[user]->send(
        proto::private_consent{offer->from, users_[user].chat_keys->public_part()});
  } else if (const auto* expect = std::get_if<proto::private_expect_keyed>(&message)) {
    expect_chat(user, *expect);
  } else if (const auto* granted = std::get_if<proto::private_granted_keyed>(&message)) {
    std::error_code ec;
    const auto address = asio::ip::make_address(granted->address.value, ec);
    if (ec) return setup_failed("private chat granted at a bad address " + granted->address.value);
    auto link = std::make_unique<p2p_link>(loop_, events());
    users_[user].sender = link.get();
    link->dial(user, {address, granted->port},
               p2p_secrets{names_[user], granted->peer.value, granted->token.value,
                           users_[user].chat_keys, granted->peer_key});
    links_.push_back(std::move(link));
  } else if (const auto* declined = std::get_if<proto::private_declined>(&message)) {
    setup_failed("private chat declined by " + declined->peer.value);
  } else if (std::holds_alternative<proto::private_expect>(message) ||
             std::holds_alternative<proto::private_expect_from>(message) ||
             std::holds_alternative<proto::private_granted>(message)) {
    setup_failed("the registry answered a keyed request with an unkeyed message");
  }
}

void workload_runner::on_p2p_open(p2p_link& link, const proto::chat_public_key& requester_key) {
  const auto key = key_bytes(requester_key);
  const auto expected = expected_chats_.find(key);
  if (expected == expected_chats_.end()) {
    early_opens_.emplace(key, &link);
    return;
  }
  const auto chat = std::move(expected->second);
  expected_chats_.erase(expected);
  users_[chat.target].sender = &link;
  link.answer(chat.target, chat.secrets);
}

void workload_runner::setup_failed(std::string_view why) {
  if (phase_ == phase::done) return;
  if (setup_failure_.empty()) setup_failure_ = why;
  progress("setup failed: " + std::string(why));
  finish();
}

// ---------------------------------------------------------------- traffic

void workload_runner::start_traffic() {
  setup_deadline_.cancel();
  phase_ = phase::warming_up;
  sending_ = true;
  if (opts_.workload == workload::login_storm) {
    storm_start_ = clock::now();
    storm_tick();
  }
  const std::size_t senders = opts_.workload == workload::broadcast ? opts_.senders : n_;
  for (std::size_t s = 0; s < senders; ++s) top_up(s);
  if (opts_.warmup_s <= 0) return begin_measuring();
  progress("warming up for " + fixed(opts_.warmup_s, 1) + " s");
  phase_timer_.expires_after(
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(opts_.warmup_s)));
  phase_timer_.async_wait([this](std::error_code ec) {
    if (!ec) begin_measuring();
  });
}

void workload_runner::begin_measuring() {
  phase_ = phase::measuring;
  progress("measuring for " + fixed(opts_.duration_s, 1) + " s");
  measure_start_ns_ = now_ns();
  cpu_.start();
  phase_timer_.expires_after(
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(opts_.duration_s)));
  phase_timer_.async_wait([this](std::error_code ec) {
    if (!ec) end_measuring();
  });
}

void workload_runner::end_measuring() {
  measure_end_ns_ = now_ns();
  cpu_.stop();
  if (opts_.pid) rss_after_kib_ = read_rss_kib(*opts_.pid);
  sending_ = false;
  storm_timer_.cancel();
  phase_ = phase::draining;
  phase_timer_.expires_after(drain_period);
  phase_timer_.async_wait([this](std::error_code ec) {
    if (!ec) finish();
  });
  check_drained();
}

void workload_runner::check_drained() {
  if (phase_ == phase::draining && outstanding_ == 0 && storm_in_progress_ == 0) finish();
}

void workload_runner::finish() {
  if (phase_ == phase::done) return;
  phase_ = phase::done;
  sending_ = false;
  // Whatever is still in flight now never arrived.
  lost_ += outstanding_;
  outstanding_ = 0;
  for (auto& client : clients_)
    if (client) client->close();
  for (auto& link : links_) link->close();
  for (auto& slot : storm_slots_) slot.client->close();
  if (private_listener_) private_listener_->close();
  io_.stop();
}

bool workload_runner::counted(std::uint64_t sent_ns) const {
  return sent_ns >= measure_start_ns_ && sent_ns < measure_end_ns_ && measure_start_ns_ != 0;
}

void workload_runner::top_up(std::size_t sender) {
  auto& u = users_[sender];
  while (sending_ && u.in_flight < opts_.inflight) send_one(sender);
}

void workload_runner::send_one(std::size_t sender) {
  auto& u = users_[sender];
  const std::uint64_t sequence = u.next_sequence++;
  write_stamp(payload_, stamp{static_cast<std::uint32_t>(sender), sequence, now_ns()});
  ++u.in_flight;
  if (opts_.workload == workload::broadcast) {
    broadcast_remaining_[sender * opts_.inflight + sequence % opts_.inflight] =
        static_cast<std::uint32_t>(n_ - 1);
    outstanding_ += n_ - 1;
    u.sender->send_broadcast(payload_);
  } else {
    ++outstanding_;
    u.sender->send_direct(names_[u.partner], payload_);
  }
}

void workload_runner::complete(std::size_t sender, std::uint64_t sequence) {
  --outstanding_;
  auto& u = users_[sender];
  if (opts_.workload == workload::broadcast) {
    // Deliveries of one sender reach each receiver in order, so its messages complete in order
    // and the in-flight ones occupy distinct slots.
    auto& remaining = broadcast_remaining_[sender * opts_.inflight + sequence % opts_.inflight];
    if (--remaining == 0) --u.in_flight;
  } else {
    --u.in_flight;
  }
}

void workload_runner::on_message(std::size_t user, std::string_view from, std::string_view text,
                                 message_kind kind) {
  const std::uint64_t received_ns = now_ns();
  const auto s = read_stamp(text);
  // Not a text this run sent to this user, from this sender, this way.
  const auto misdelivered = [this](std::string_view why) {
    ++misdelivered_;
    if (errors_printed_ < max_errors_printed) {
      ++errors_printed_;
      progress("misdelivered: " + std::string(why));
    }
  };
  if (user >= n_) return misdelivered("a text to a login-storm connection");
  if (!s || s->sender >= n_) return misdelivered("a text without a valid stamp");
  const std::size_t sender = s->sender;
  if (s->sequence >= users_[sender].next_sequence)
    return misdelivered("a sequence number never sent");
  if (!from.empty() && from != names_[sender])
    return misdelivered("sender " + std::string(from) + " with the stamp of " + names_[sender]);
  if (kind != expected_kind_) return misdelivered("a text of the wrong kind");
  std::uint64_t* expected = nullptr;
  if (opts_.workload == workload::broadcast) {
    if (sender == user || sender >= opts_.senders)
      return misdelivered("a broadcast from a user who does not broadcast, or to its sender");
    expected = &broadcast_expected_[sender * n_ + user];
  } else {
    if (users_[user].partner != sender) return misdelivered("a text from someone not the partner");
    expected = &users_[user].expected;
  }
  if (s->sequence < *expected) return misdelivered("a duplicate or reordered text");
  // Every sequence skipped is a message this receiver will never get.
  for (std::uint64_t q = *expected; q < s->sequence; ++q) {
    ++lost_;
    complete(sender, q);
  }
  *expected = s->sequence + 1;
  complete(sender, s->sequence);
  if (counted(s->sent_ns)) {
    ++delivered_;
    histogram_.record((received_ns - s->sent_ns) / nanos_per_micro);
  }
  top_up(sender);
  if (phase_ == phase::draining) check_drained();
}

void workload_runner::on_reply(std::size_t user, proto::outcome result) {
  switch (result) {
    case proto::outcome::message_delivered:
    case proto::outcome::broadcast_sent:
    case proto::outcome::private_requested: return;
    default:
      on_error(user, "the registry answered outcome " + std::to_string(static_cast<int>(result)));
  }
}

void workload_runner::note_error(std::string_view what) {
  ++errors_;
  if (errors_printed_ < max_errors_printed) {
    ++errors_printed_;
    progress("error: " + std::string(what));
  }
}

void workload_runner::on_error(std::size_t user, std::string_view what) {
  const std::string who = user < n_ ? names_[user] : "a login-storm connection";
  note_error(who + ": " + std::string(what));
}

void workload_runner::on_lost(std::size_t user, std::string_view why) {
  if (phase_ == phase::done) return;
  if (user >= n_ && user != no_user) {
    note_error("login-storm connection: " + std::string(why));
    return end_storm_login(user - n_);
  }
  const std::string who = user < n_ ? names_[user] : "an unmatched private chat";
  if (phase_ == phase::logging_in || phase_ == phase::opening_chats || phase_ == phase::settling)
    return setup_failed(who + ": " + std::string(why));
  // The run goes on; this user's messages in flight count as lost at the end.
  note_error(who + ": " + std::string(why));
}

// ---------------------------------------------------------------- idle

void workload_runner::settle(std::uint64_t last_bytes_read, int quiet_polls_left) {
  phase_timer_.expires_after(quiet_poll);
  phase_timer_.async_wait([this, last_bytes_read, quiet_polls_left](std::error_code ec) {
    if (ec) return;
    const std::uint64_t now_read = loop_.bytes_read();
    if (now_read != last_bytes_read && quiet_polls_left > 0)
      return settle(now_read, quiet_polls_left - 1);
    cpu_.stop();
    if (opts_.pid) rss_after_kib_ = read_rss_kib(*opts_.pid);
    // The logins' presence notices all read: the end of the work the logins caused.
    settled_seconds_ =
        std::max(connect_seconds_,
                 std::chrono::duration<double>(loop_.last_read_at() - setup_start_).count());
    finish();
  });
}

// ---------------------------------------------------------------- login-storm

void workload_runner::storm_tick() {
  if (!sending_) return;
  if (storm_in_progress_ < max_storm_in_progress) {
    start_storm_login();
  } else {
    ++logins_skipped_;
  }
  // Ticks at fixed times from the start, so a late tick does not slow the rate down.
  ++storm_ticks_;
  const auto next =
      storm_start_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                         static_cast<double>(storm_ticks_) / opts_.rate));
  storm_timer_.expires_at(next);
  storm_timer_.async_wait([this](std::error_code ec) {
    if (!ec) storm_tick();
  });
}

void workload_runner::start_storm_login() {
  // A slot whose last connection is completely finished is reused; else a new one.
  std::size_t slot = storm_slots_.size();
  for (std::size_t i = 0; i < storm_slots_.size(); ++i) {
    if (!storm_slots_[i].busy && storm_slots_[i].client->is_idle()) {
      slot = i;
      break;
    }
  }
  if (slot == storm_slots_.size())
    storm_slots_.push_back(
        {std::make_unique<parley_client>(loop_, events(), n_ + slot), 0, {}, false});
  auto& s = storm_slots_[slot];
  // Existing accounts first (a login), else a fresh one (the account is created).
  if (!storm_free_names_.empty()) {
    s.name_index = storm_free_names_.front();
    storm_free_names_.pop_front();
  } else {
    s.name_index = storm_next_name_++;
  }
  s.busy = true;
  s.started = clock::now();
  ++storm_in_progress_;
  s.client->start(server_, opts_.prefix + "l" + std::to_string(s.name_index), opts_.password);
}

void workload_runner::on_logged_out(std::size_t user) {
  if (user < n_) return;
  auto& slot = storm_slots_[user - n_];
  if (counted(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(slot.started.time_since_epoch())
              .count())))
    ++logins_;
  end_storm_login(user - n_);
}

void workload_runner::end_storm_login(std::size_t slot) {
  auto& s = storm_slots_[slot];
  if (!s.busy) return;
  s.busy = false;
  s.client->close();
  storm_free_names_.push_back(s.name_index);
  --storm_in_progress_;
  check_drained();
}

// ---------------------------------------------------------------- result

double workload_runner::measured_seconds() const {
  if (measure_start_ns_ == 0 || measure_end_ns_ == UINT64_MAX) return 0;
  return static_cast<double>(measure_end_ns_ - measure_start_ns_) / nanos_per_second;
}

std::string workload_runner::report() const {
  std::ostringstream line;
  line << "workload=" << to_string(opts_.workload) << " proto=" << to_string(opts_.proto);
  if (opts_.tls) line << " tls=1";
  const auto server_memory_and_cpu = [&] {
    if (!opts_.pid) return;
    if (rss_after_kib_) line << " server_rss_kib=" << *rss_after_kib_;
    if (const auto cpu = cpu_.server_percent()) line << " server_cpu_pct=" << fixed(*cpu, 1);
  };
  if (!setup_failure_.empty()) {
    line << " status=setup_failed errors=" << errors_ + 1;
    return line.str();
  }
  if (opts_.workload == workload::idle) {
    line << " clients=" << n_ << " connect_s=" << fixed(connect_seconds_, 2)
         << " settled_s=" << fixed(settled_seconds_, 2) << " errors=" << errors_;
    if (rss_after_kib_) {
      line << " server_rss_kib=" << *rss_after_kib_;
      if (rss_before_kib_) {
        const double grown =
            static_cast<double>(*rss_after_kib_) - static_cast<double>(*rss_before_kib_);
        line << " rss_per_client_kib=" << fixed(grown / static_cast<double>(n_), 2);
      }
    }
    line << " gen_cpu_pct=" << fixed(cpu_.own_percent(), 1);
    return line.str();
  }
  const double seconds = measured_seconds();
  const auto per_second = [seconds](std::uint64_t count) {
    return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
  };
  if (opts_.workload == workload::login_storm) {
    line << " rate=" << fixed(opts_.rate, 1) << " duration_s=" << fixed(seconds, 2)
         << " logins=" << logins_ << " login_rate_per_s=" << fixed(per_second(logins_), 1)
         << " login_p50_us=" << login_histogram_.percentile(0.50)
         << " login_p99_us=" << login_histogram_.percentile(0.99)
         << " logins_skipped=" << logins_skipped_;
  } else {
    line << " users=" << n_ << " inflight=" << opts_.inflight;
    if (opts_.workload == workload::broadcast) line << " senders=" << opts_.senders;
    line << " duration_s=" << fixed(seconds, 2);
  }
  line << " delivered=" << delivered_ << " rate_per_s=" << fixed(per_second(delivered_), 1)
       << " p50_us=" << histogram_.percentile(0.50) << " p99_us=" << histogram_.percentile(0.99)
       << " max_us=" << histogram_.max() << " errors=" << errors_ << " lost=" << lost_
       << " misdelivered=" << misdelivered_;
  server_memory_and_cpu();
  line << " gen_cpu_pct=" << fixed(cpu_.own_percent(), 1);
  return line.str();
}

int workload_runner::exit_code() const {
  if (!setup_failure_.empty() || errors_ > 0 || lost_ > 0 || misdelivered_ > 0) return exit_failed;
  if (opts_.workload == workload::idle) return exit_ok;
  if (delivered_ == 0) {
    progress("nothing was delivered in the measured interval");
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace parley::bench
