#include "bench/hardening.hpp"

#include "bench/chat_client.hpp"
#include "bench/event_loop.hpp"
#include "bench/latency_histogram.hpp"
#include "bench/parley_client.hpp"
#include "bench/payload.hpp"
#include "bench/proc_stats.hpp"
#include "bench/stream.hpp"
#include "bench/wire.hpp"
#include "shared/proto/codec.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace parley::bench {

namespace {

using clock = std::chrono::steady_clock;

// Setup (creating the accounts) taking longer than this has failed.
constexpr std::chrono::seconds setup_timeout{300};
// offline: after sending stops, how long the acknowledgements and chat messages in flight may
// take to arrive.
constexpr std::chrono::seconds offline_drain{5};
// hangup: a victim login still under way when measuring ends gets this long to be answered; the
// registry's own login deadline (30 s by default) closes it before.
constexpr std::chrono::seconds victim_drain{40};
constexpr std::uint64_t max_errors_printed = 10;
constexpr std::uint64_t nanos_per_micro = 1000;
constexpr double nanos_per_second = 1e9;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
          .count());
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

void progress(const std::string& text) { std::cerr << "parley-bench: " << text << '\n'; }

clock::duration seconds(double s) {
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

// What both runners share: the loop, the server's address, the phases' timers, the error count
// and the measured interval.
class runner_base : protected client_events {
 protected:
  explicit runner_base(const options& opts) : opts_(opts), cpu_(opts.pid) {}

  bool resolve() {
    if (opts_.tls && !loop_.enable_tls(failure_)) return false;
    std::error_code ec;
    const auto address = asio::ip::make_address(opts_.host, ec);
    if (ec) {
      failure_ = "--host must be an IP address for this workload";
      return false;
    }
    server_ = asio::ip::tcp::endpoint(address, opts_.port);
    return true;
  }

  void arm_setup_deadline() {
    setup_deadline_.expires_after(setup_timeout);
    setup_deadline_.async_wait([this](std::error_code ec) {
      if (!ec) fail_setup("setup took longer than " + std::to_string(setup_timeout.count()) + " s");
    });
  }

  void fail_setup(std::string_view why) {
    if (failure_.empty()) failure_ = why;
    progress("setup failed: " + std::string(why));
    stop();
  }

  void note_error(std::string_view what) {
    ++errors_;
    if (errors_printed_ < max_errors_printed) {
      ++errors_printed_;
      progress("error: " + std::string(what));
    }
  }

  bool counted(std::uint64_t sent_ns) const {
    return measure_start_ns_ != 0 && sent_ns >= measure_start_ns_ && sent_ns < measure_end_ns_;
  }

  double measured_seconds() const {
    if (measure_start_ns_ == 0 || measure_end_ns_ == UINT64_MAX) return 0;
    return static_cast<double>(measure_end_ns_ - measure_start_ns_) / nanos_per_second;
  }

  double per_second(std::uint64_t count) const {
    const double s = measured_seconds();
    return s > 0 ? static_cast<double>(count) / s : 0.0;
  }

  // Warm-up (if any), then measuring for --duration, then on_measured().
  void start_phases() {
    setup_deadline_.cancel();
    if (opts_.warmup_s <= 0) return begin_measuring();
    progress("warming up for " + fixed(opts_.warmup_s, 1) + " s");
    phase_timer_.expires_after(seconds(opts_.warmup_s));
    phase_timer_.async_wait([this](std::error_code ec) {
      if (!ec) begin_measuring();
    });
  }

  void begin_measuring() {
    progress("measuring for " + fixed(opts_.duration_s, 1) + " s");
    measure_start_ns_ = now_ns();
    cpu_.start();
    on_measuring();
    phase_timer_.expires_after(seconds(opts_.duration_s));
    phase_timer_.async_wait([this](std::error_code ec) {
      if (ec) return;
      measure_end_ns_ = now_ns();
      cpu_.stop();
      if (opts_.pid) rss_kib_ = read_rss_kib(*opts_.pid);
      on_measured();
    });
  }

  // After `within`, stop whatever is still under way.
  void drain_for(std::chrono::seconds within) {
    phase_timer_.expires_after(within);
    phase_timer_.async_wait([this](std::error_code ec) {
      if (!ec) stop();
    });
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    on_stop();
    io_.stop();
  }

  // A report's first words; false (and the line complete) when set-up failed.
  bool report_head(std::ostringstream& line, const char* workload) const {
    line << "workload=" << workload << " proto=parley";
    if (opts_.tls) line << " tls=1";
    if (failure_.empty()) return true;
    line << " status=setup_failed errors=" << errors_ + 1;
    return false;
  }

  void server_figures(std::ostringstream& line) const {
    if (rss_kib_) line << " server_rss_kib=" << *rss_kib_;
    if (const auto cpu = cpu_.server_percent()) line << " server_cpu_pct=" << fixed(*cpu, 1);
    line << " gen_cpu_pct=" << fixed(cpu_.own_percent(), 1);
  }

  virtual void on_measuring() = 0;
  virtual void on_measured() = 0;
  virtual void on_stop() = 0;

  options opts_;
  asio::io_context io_{1};
  event_loop loop_{io_};
  asio::ip::tcp::endpoint server_;
  asio::steady_timer phase_timer_{io_};
  asio::steady_timer setup_deadline_{io_};
  cpu_meter cpu_;
  std::optional<std::uint64_t> rss_kib_;
  std::string failure_;
  std::uint64_t errors_ = 0;
  std::uint64_t errors_printed_ = 0;
  std::uint64_t measure_start_ns_ = 0;
  std::uint64_t measure_end_ns_ = UINT64_MAX;
  bool stopped_ = false;
};

// ---------------------------------------------------------------- offline

class offline_runner final : private runner_base {
 public:
  explicit offline_runner(const options& opts)
      : runner_base(opts),
        payload_(make_payload_buffer(opts.payload)),
        chat_payload_(make_payload_buffer(opts.payload)) {
    names_ = {opts.prefix + "s", opts.prefix + "c0", opts.prefix + "c1"};
    for (std::size_t i = 0; i < opts.recipients; ++i)
      names_.push_back(opts.prefix + "o" + std::to_string(i));
    clients_.resize(names_.size());
  }

  int run() {
    if (resolve()) {
      progress("creating " + std::to_string(opts_.recipients) + " offline recipients on " +
               server_.address().to_string() + ":" + std::to_string(server_.port()));
      arm_setup_deadline();
      create_next();
      io_.run();
    }
    std::cout << report() << std::endl;
    return exit_code();
  }

 private:
  static constexpr std::size_t sender = 0;
  static constexpr std::size_t first_recipient = 3;

  bool is_chatter(std::size_t user) const { return user == 1 || user == 2; }

  void start_client(std::size_t user) {
    clients_[user] = std::make_unique<parley_client>(loop_, events(), user);
    clients_[user]->start(server_, names_[user], opts_.password);
  }
  client_events& events() { return *this; }

  // Each recipient logs in once (the account is created) and out again.
  void create_next() {
    while (next_create_ < names_.size() && creating_ < opts_.connect_batch) {
      ++creating_;
      start_client(next_create_++);
    }
  }

  void on_ready(std::size_t user) override {
    if (user >= first_recipient) return clients_[user]->logout();
    if (++ready_ == first_recipient) {
      progress("sender and chatting pair logged in");
      sending_ = true;
      top_up_offline();
      for (std::size_t c = 1; c <= 2; ++c) send_chat(c);
      start_phases();
    }
  }

  void on_logged_out(std::size_t user) override {
    if (user < first_recipient) return;
    // Kept (closed) rather than destroyed: this runs inside the client's own callback.
    --creating_;
    if (++created_ == opts_.recipients) {
      progress(std::to_string(created_) + " recipients created and offline");
      for (std::size_t u = 0; u < first_recipient; ++u) start_client(u);
      return;
    }
    create_next();
  }

  void top_up_offline() {
    while (sending_ && unacknowledged_.size() < opts_.inflight) {
      const std::size_t to = first_recipient + next_recipient_++ % opts_.recipients;
      unacknowledged_.push_back(now_ns());
      clients_[sender]->send_direct(names_[to], payload_);
    }
  }

  // The chatter's next DM, at least --chat-interval-us after its previous one.
  void next_chat(std::size_t chatter) {
    if (opts_.chat_interval_us == 0) return send_chat(chatter);
    auto& timer = chat_timers_[chatter - 1];
    timer.expires_at(chat_sent_at_[chatter - 1] +
                     std::chrono::microseconds(opts_.chat_interval_us));
    timer.async_wait([this, chatter](std::error_code ec) {
      if (!ec) send_chat(chatter);
    });
  }

  void send_chat(std::size_t chatter) {
    if (!sending_) return;
    chat_sent_at_[chatter - 1] = std::chrono::steady_clock::now();
    const std::size_t partner = chatter == 1 ? 2 : 1;
    write_stamp(chat_payload_,
                stamp{static_cast<std::uint32_t>(chatter), chat_sequence_[chatter]++, now_ns()});
    ++chat_in_flight_;
    clients_[chatter]->send_direct(names_[partner], chat_payload_);
  }

  void on_reply(std::size_t user, proto::outcome result) override {
    if (is_chatter(user)) {
      if (result != proto::outcome::message_delivered)
        note_error(names_[user] + ": a chat DM answered outcome " +
                   std::to_string(static_cast<int>(result)));
      return;
    }
    if (user != sender) return note_error("a reply to a recipient");
    if (unacknowledged_.empty()) return note_error("an acknowledgement for no DM");
    const std::uint64_t sent = unacknowledged_.front();
    unacknowledged_.pop_front();
    switch (result) {
      case proto::outcome::message_stored:
        if (counted(sent)) {
          ++stored_;
          ack_histogram_.record((now_ns() - sent) / nanos_per_micro);
        }
        break;
      case proto::outcome::store_failed: ++store_failed_; break;
      case proto::outcome::mailbox_full: ++mailbox_full_; break;
      default:
        note_error("an offline DM answered outcome " + std::to_string(static_cast<int>(result)));
    }
    top_up_offline();
    check_drained();
  }

  void on_message(std::size_t user, std::string_view from, std::string_view text,
                  message_kind kind) override {
    const std::uint64_t received = now_ns();
    const auto s = read_stamp(text);
    const std::size_t partner = user == 1 ? 2 : 1;
    if (!is_chatter(user) || kind != message_kind::direct || !s || s->sender != partner ||
        from != names_[partner] || s->sequence + 1 != chat_sequence_[partner]) {
      ++misdelivered_;
      return;
    }
    --chat_in_flight_;
    if (counted(s->sent_ns)) {
      ++chat_delivered_;
      chat_histogram_.record((received - s->sent_ns) / nanos_per_micro);
    }
    // The partner's next one, in the same closed loop.
    next_chat(partner);
    check_drained();
  }

  void on_error(std::size_t user, std::string_view what) override {
    note_error(names_[user] + ": " + std::string(what));
  }

  void on_lost(std::size_t user, std::string_view why) override {
    if (stopped_) return;
    if (!sending_ && measure_end_ns_ == UINT64_MAX)
      return fail_setup(names_[user] + ": " + std::string(why));
    note_error(names_[user] + ": " + std::string(why));
  }

  void on_measuring() override {}
  void on_measured() override {
    sending_ = false;
    drain_for(offline_drain);
    check_drained();
  }
  void check_drained() {
    if (!sending_ && measure_end_ns_ != UINT64_MAX && unacknowledged_.empty() &&
        chat_in_flight_ == 0)
      stop();
  }
  void on_stop() override {
    for (auto& timer : chat_timers_) timer.cancel();
    for (auto& client : clients_)
      if (client) client->close();
  }

  std::string report() const {
    std::ostringstream line;
    if (!report_head(line, "offline")) return line.str();
    line << " recipients=" << opts_.recipients << " inflight=" << opts_.inflight
         << " chat_interval_us=" << opts_.chat_interval_us
         << " duration_s=" << fixed(measured_seconds(), 2) << " stored=" << stored_
         << " offline_rate_per_s=" << fixed(per_second(stored_), 1)
         << " store_failed=" << store_failed_ << " mailbox_full=" << mailbox_full_
         << " ack_p50_us=" << ack_histogram_.percentile(0.50)
         << " ack_p99_us=" << ack_histogram_.percentile(0.99) << " delivered=" << chat_delivered_
         << " rate_per_s=" << fixed(per_second(chat_delivered_), 1)
         << " p50_us=" << chat_histogram_.percentile(0.50)
         << " p99_us=" << chat_histogram_.percentile(0.99) << " max_us=" << chat_histogram_.max()
         << " errors=" << errors_ << " unacknowledged=" << unacknowledged_.size()
         << " lost=" << chat_in_flight_ << " misdelivered=" << misdelivered_;
    server_figures(line);
    return line.str();
  }

  int exit_code() const {
    if (!failure_.empty() || errors_ > 0 || misdelivered_ > 0 || !unacknowledged_.empty() ||
        chat_in_flight_ > 0 || mailbox_full_ > 0)
      return exit_failed;
    if (stored_ == 0 || chat_delivered_ == 0) {
      progress("nothing was stored or delivered in the measured interval");
      return exit_failed;
    }
    return exit_ok;
  }

  std::vector<std::string> names_;  // sender, the two chatters, then the recipients
  std::vector<std::unique_ptr<parley_client>> clients_;
  std::string payload_;
  std::string chat_payload_;
  std::size_t next_create_ = first_recipient;
  std::size_t creating_ = 0;
  std::size_t created_ = 0;
  std::size_t ready_ = 0;
  bool sending_ = false;
  std::size_t next_recipient_ = 0;
  std::deque<std::uint64_t> unacknowledged_;  // send times, oldest first: replies come in order
  std::uint64_t chat_sequence_[3] = {0, 0, 0};
  asio::steady_timer chat_timers_[2] = {asio::steady_timer{io_}, asio::steady_timer{io_}};
  std::chrono::steady_clock::time_point chat_sent_at_[2]{};
  std::uint64_t chat_in_flight_ = 0;
  std::uint64_t stored_ = 0;
  std::uint64_t store_failed_ = 0;
  std::uint64_t mailbox_full_ = 0;
  std::uint64_t chat_delivered_ = 0;
  std::uint64_t misdelivered_ = 0;
  latency_histogram ack_histogram_;
  latency_histogram chat_histogram_;
};

// ---------------------------------------------------------------- hangup

// One flood connection: hello, a fresh name and a password in one write, and once the registry
// has answered the name (so it has read the password behind it), gone.
class flood_client final : private stream::handler {
 public:
  class owner {
   public:
    virtual ~owner() = default;
    virtual void on_hung_up(flood_client& c, bool answered) = 0;
  };

  flood_client(event_loop& loop, owner& o) : stream_(loop, *this), owner_(o) {}

  void start(const asio::ip::tcp::endpoint& registry, const asio::ip::address& from,
             std::string name, const std::string& password) {
    name_ = std::move(name);
    password_ = &password;
    stream_.connect(registry, from, /*tls=*/true);
  }
  bool is_idle() const { return stream_.is_idle(); }
  void close() { stream_.close(); }

 private:
  void on_connected() override {
    auto& out = stream_.out();
    out += proto::encode_frame(proto::client_hello{proto::protocol_version, "parley-bench/flood"});
    out += proto::encode_frame(proto::login_name{name_});
    out += proto::encode_frame(proto::login_password{*password_});
  }
  std::size_t on_bytes(std::string_view data) override {
    bool answered = false;
    std::optional<std::uint32_t> oversized;
    const auto used = wire::split_frames(
        data,
        [&](std::string_view body) {
          const auto decoded = proto::decode_server(body);
          if (decoded.message && std::holds_alternative<proto::login_reply>(*decoded.message))
            answered = true;
          return !answered;
        },
        oversized);
    if (answered || oversized) {
      stream_.close();
      owner_.on_hung_up(*this, answered);
    }
    return used;
  }
  void on_closed(std::string_view) override { owner_.on_hung_up(*this, false); }

  stream stream_;
  owner& owner_;
  std::string name_;
  const std::string* password_ = nullptr;
};

class hangup_runner final : private runner_base, private flood_client::owner {
 public:
  explicit hangup_runner(const options& opts)
      : runner_base(opts), victim_name_(opts.prefix + "v") {}

  int run() {
    std::error_code ec;
    flood_from_ = asio::ip::make_address(opts_.flood_from, ec);
    if (resolve()) {
      progress("creating the victim's account " + victim_name_ + " on " +
               server_.address().to_string() + ":" + std::to_string(server_.port()));
      arm_setup_deadline();
      victim_ = std::make_unique<parley_client>(loop_, events(), 0);
      victim_->start(server_, victim_name_, opts_.password);
      io_.run();
    }
    std::cout << report() << std::endl;
    return exit_code();
  }

 private:
  client_events& events() { return *this; }
  flood_client::owner& flood_owner() { return *this; }

  // The victim.
  void on_ready(std::size_t) override {
    if (!setup_done_) return victim_->logout();
    const auto took = clock::now() - attempt_started_;
    answered_.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
    victim_->logout();
  }
  void on_logged_out(std::size_t) override {
    if (!setup_done_) {
      setup_done_ = true;
      progress("flooding from " + opts_.flood_from + ", " + std::to_string(opts_.connect_batch) +
               " connections at once");
      flooding_ = true;
      for (std::size_t i = 0; i < opts_.connect_batch; ++i) flood_one();
      return start_phases();
    }
    attempt_done();
  }
  void on_lost(std::size_t, std::string_view why) override {
    if (stopped_) return;
    if (!setup_done_) return fail_setup(victim_name_ + ": " + std::string(why));
    // Closed by the registry (its login deadline) before a welcome: a login not answered.
    ++victim_failed_;
    const auto took = clock::now() - attempt_started_;
    failed_.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
    progress("the victim's login was closed unanswered after " +
             fixed(std::chrono::duration<double>(took).count(), 1) + " s: " + std::string(why));
    attempt_done();
  }
  void on_error(std::size_t, std::string_view what) override { note_error(what); }
  void on_message(std::size_t, std::string_view, std::string_view, message_kind) override {}

  void attempt_done() {
    attempt_running_ = false;
    if (!victim_attempts_wanted_) return stop();
    // Not from inside the finished client's own callback.
    asio::post(io_, [this] {
      if (victim_attempts_wanted_ && !stopped_) victim_attempt();
    });
  }
  void victim_attempt() {
    attempt_running_ = true;
    ++victim_attempts_;
    attempt_started_ = clock::now();
    // Each attempt a fresh connection; the finished ones are kept (closed) until the end, as
    // their last callbacks may still be queued.
    victim_->close();
    old_victims_.push_back(std::move(victim_));
    victim_ = std::make_unique<parley_client>(loop_, events(), 0);
    victim_->start(server_, victim_name_, opts_.password);
  }

  // The flood.
  void flood_one() {
    if (!flooding_) return;
    flood_client* slot = nullptr;
    // A finished connection whose last operation has completed is reused.
    for (std::size_t i = 0; i < idle_flood_.size(); ++i) {
      if (!idle_flood_[i]->is_idle()) continue;
      slot = idle_flood_[i].get();
      busy_flood_.push_back(std::move(idle_flood_[i]));
      idle_flood_[i] = std::move(idle_flood_.back());
      idle_flood_.pop_back();
      break;
    }
    if (!slot) {
      busy_flood_.push_back(std::make_unique<flood_client>(loop_, flood_owner()));
      slot = busy_flood_.back().get();
    }
    slot->start(server_, flood_from_, opts_.prefix + "h" + std::to_string(flood_started_++),
                opts_.password);
  }
  void on_hung_up(flood_client& c, bool answered) override {
    if (answered) {
      ++flood_answered_;
      if (measure_start_ns_ != 0 && measure_end_ns_ == UINT64_MAX) ++flood_counted_;
    } else {
      ++flood_refused_;
    }
    for (std::size_t i = 0; i < busy_flood_.size(); ++i) {
      if (busy_flood_[i].get() != &c) continue;
      idle_flood_.push_back(std::move(busy_flood_[i]));
      busy_flood_[i] = std::move(busy_flood_.back());
      busy_flood_.pop_back();
      break;
    }
    // The next one once this callback has returned (the finished one may be reused).
    asio::post(io_, [this] { flood_one(); });
  }

  void on_measuring() override {
    victim_attempts_wanted_ = true;
    victim_attempt();
  }
  void on_measured() override {
    flooding_ = false;
    victim_attempts_wanted_ = false;
    for (auto& c : busy_flood_) c->close();
    if (!attempt_running_) return stop();
    progress("waiting for the victim's login under way");
    drain_for(victim_drain);
  }
  void on_stop() override {
    if (attempt_running_) ++victim_unanswered_;
    if (victim_) victim_->close();
    for (auto& c : busy_flood_) c->close();
  }

  std::string report() const {
    std::ostringstream line;
    if (!report_head(line, "hangup")) return line.str();
    line << " flood_from=" << opts_.flood_from << " flood_batch=" << opts_.connect_batch
         << " duration_s=" << fixed(measured_seconds(), 2)
         << " flood_connections=" << flood_counted_
         << " flood_rate_per_s=" << fixed(per_second(flood_counted_), 1)
         << " flood_total=" << flood_answered_ << " flood_refused=" << flood_refused_
         << " victim_attempts=" << victim_attempts_ << " victim_logins=" << answered_.count()
         << " victim_login_p50_us=" << answered_.percentile(0.50)
         << " victim_login_max_us=" << answered_.max() << " victim_failed=" << victim_failed_
         << " victim_failed_max_us=" << failed_.max() << " victim_unanswered=" << victim_unanswered_
         << " errors=" << errors_;
    server_figures(line);
    return line.str();
  }

  int exit_code() const {
    if (!failure_.empty() || errors_ > 0) return exit_failed;
    return victim_attempts_ > 0 ? exit_ok : exit_failed;
  }

  std::string victim_name_;
  asio::ip::address flood_from_;
  std::unique_ptr<parley_client> victim_;
  std::vector<std::unique_ptr<parley_client>> old_victims_;
  std::vector<std::unique_ptr<flood_client>> busy_flood_;
  std::vector<std::unique_ptr<flood_client>> idle_flood_;
  bool setup_done_ = false;
  bool flooding_ = false;
  bool victim_attempts_wanted_ = false;
  bool attempt_running_ = false;
  clock::time_point attempt_started_;
  std::uint64_t victim_attempts_ = 0;
  std::uint64_t victim_failed_ = 0;
  std::uint64_t victim_unanswered_ = 0;
  std::uint64_t flood_started_ = 0;
  std::uint64_t flood_answered_ = 0;
  std::uint64_t flood_counted_ = 0;
  std::uint64_t flood_refused_ = 0;
  latency_histogram answered_;
  latency_histogram failed_;
};

}  // namespace

int run_offline(const options& opts) {
  offline_runner runner(opts);
  return runner.run();
}

int run_hangup(const options& opts) {
  hangup_runner runner(opts);
  return runner.run();
}

}  // namespace parley::bench
