// The workloads: who logs in, who sends what to whom, when measuring starts and stops, and the
// one result line. A single io_context on this one thread drives every connection.
//
// A sender keeps `inflight` messages in flight, where in flight means sent and not yet received
// by its target: the generator is both ends, so the definition is the same for Parley and IRC.
// Every text carries (sender, sequence, send time), so the receiver measures the one-way latency
// and sees misdelivery (wrong recipient or sender) and loss (a gap in a sender's sequence, or a
// message still outstanding when the drain period ends).
#pragma once

#include "bench/chat_client.hpp"
#include "bench/event_loop.hpp"
#include "bench/latency_histogram.hpp"
#include "bench/options.hpp"
#include "bench/p2p_link.hpp"
#include "bench/proc_stats.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::bench {

class parley_client;
class p2p_link;

// Runs the workload the options name; prints its result line. Returns the exit code.
int run_workload(const options& opts);

class workload_runner final : private client_events {
 public:
  explicit workload_runner(const options& opts);
  ~workload_runner() override;
  int run();

 private:
  enum class phase { logging_in, opening_chats, warming_up, measuring, draining, settling, done };

  struct user_state {
    std::size_t partner = no_user;    // direct, latency, private, login-storm
    chat_client* sender = nullptr;    // what this user sends on (a private chat, or its client)
    std::uint64_t next_sequence = 0;  // of the next message this user sends
    std::uint64_t expected = 0;       // the next sequence expected from the partner
    std::size_t in_flight = 0;
    // private: this user's key pair for its chat (made when it asks, or answers y).
    std::shared_ptr<const peer::crypto::chat_keypair> chat_keys;
  };

  struct storm_slot {
    std::unique_ptr<parley_client> client;
    std::size_t name_index = 0;
    std::chrono::steady_clock::time_point started;
    bool busy = false;
  };

  // What the clients report to: this runner.
  client_events& events() { return *this; }

  // client_events
  void on_ready(std::size_t user) override;
  void on_message(std::size_t user, std::string_view from, std::string_view text,
                  message_kind kind) override;
  void on_error(std::size_t user, std::string_view what) override;
  void on_lost(std::size_t user, std::string_view why) override;
  void on_reply(std::size_t user, proto::outcome result) override;
  void on_private(std::size_t user, const proto::server_message& message) override;
  void on_logged_out(std::size_t user) override;
  void on_p2p_open(p2p_link& link, const proto::chat_public_key& requester_key) override;

  // Setup.
  bool resolve_server();
  bool open_private_listener();
  void accept_private_chats();
  void login_next();
  void all_logged_in();
  void open_private_chats();
  // A private_expect_keyed for `user`, the chat's target.
  void expect_chat(std::size_t user, const proto::private_expect_keyed& expect);
  void setup_failed(std::string_view why);

  // Traffic.
  void start_traffic();
  void begin_measuring();
  void end_measuring();
  void check_drained();
  void finish();
  void top_up(std::size_t sender);
  void send_one(std::size_t sender);
  void complete(std::size_t sender, std::uint64_t sequence);

  // idle: the server's memory once the traffic of the logins has died down.
  void settle(std::uint64_t last_bytes_read, int quiet_polls_left);

  // login-storm.
  void storm_tick();
  void start_storm_login();
  void end_storm_login(std::size_t slot);

  void note_error(std::string_view what);
  bool counted(std::uint64_t sent_ns) const;
  double measured_seconds() const;
  std::string report() const;
  int exit_code() const;

  options opts_;
  std::size_t n_;  // users
  asio::io_context io_{1};
  event_loop loop_{io_};
  asio::ip::tcp::endpoint server_;
  asio::steady_timer phase_timer_{io_};
  asio::steady_timer setup_deadline_{io_};
  asio::steady_timer storm_timer_{io_};
  std::unique_ptr<asio::ip::tcp::acceptor> private_listener_;
  cpu_meter cpu_;

  std::vector<std::string> names_;
  std::vector<user_state> users_;
  std::vector<std::unique_ptr<chat_client>> clients_;
  std::vector<parley_client*> parley_clients_;  // the same objects, when speaking Parley
  std::vector<std::unique_ptr<p2p_link>> links_;
  struct expected_chat {
    std::size_t target = no_user;
    p2p_secrets secrets;
  };
  // By the requester's key, as its bytes.
  std::unordered_map<std::string, expected_chat> expected_chats_;
  std::unordered_map<std::string, p2p_link*> early_opens_;  // links whose open came first
  std::string payload_;
  message_kind expected_kind_ = message_kind::direct;

  // broadcast: per (sender, receiver) the next sequence expected, and per (sender, slot) the
  // receivers a message in flight still waits for.
  std::vector<std::uint64_t> broadcast_expected_;
  std::vector<std::uint32_t> broadcast_remaining_;

  phase phase_ = phase::logging_in;
  bool sending_ = false;
  std::size_t next_login_ = 0;
  std::size_t logins_in_progress_ = 0;
  std::size_t ready_ = 0;
  std::size_t chats_ready_ = 0;
  std::chrono::steady_clock::time_point setup_start_;
  double connect_seconds_ = 0;
  // idle: from the start until the last byte arrived (the logins' presence notices included).
  double settled_seconds_ = 0;
  std::uint64_t measure_start_ns_ = 0;
  std::uint64_t measure_end_ns_ = UINT64_MAX;
  std::string setup_failure_;

  std::vector<storm_slot> storm_slots_;
  std::deque<std::size_t> storm_free_names_;
  std::size_t storm_next_name_ = 0;
  std::size_t storm_in_progress_ = 0;
  std::uint64_t storm_ticks_ = 0;
  std::chrono::steady_clock::time_point storm_start_;
  std::uint64_t logins_ = 0;
  std::uint64_t logins_skipped_ = 0;
  latency_histogram login_histogram_;

  latency_histogram histogram_;
  std::uint64_t delivered_ = 0;
  std::uint64_t outstanding_ = 0;  // deliveries sent for and not received yet
  std::uint64_t errors_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t misdelivered_ = 0;
  std::uint64_t errors_printed_ = 0;
  std::optional<std::uint64_t> rss_before_kib_;
  std::optional<std::uint64_t> rss_after_kib_;
};

}  // namespace parley::bench
