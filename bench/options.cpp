#include "bench/options.hpp"

#include "shared/proto/messages.hpp"
#include "shared/proto/text.hpp"

#include <CLI/CLI.hpp>
#include <asio/ip/address.hpp>

#include <iostream>
#include <map>

namespace parley::bench {

const char* to_string(workload w) {
  switch (w) {
    case workload::direct: return "direct";
    case workload::broadcast: return "broadcast";
    case workload::idle: return "idle";
    case workload::latency: return "latency";
    case workload::login_storm: return "login-storm";
    case workload::private_chat: return "private";
    case workload::offline: return "offline";
    case workload::hangup: return "hangup";
  }
  return "?";
}

const char* to_string(protocol p) { return p == protocol::parley ? "parley" : "irc"; }

namespace {

constexpr std::size_t default_users = 1000;
constexpr std::size_t default_idle_users = 10000;
// latency and login-storm measure exactly one pair of chatting users.
constexpr std::size_t chatting_pair = 2;

int bad_arguments(const std::string& why) {
  std::cerr << "parley-bench: " << why << " (see --help)\n";
  return exit_bad_arguments;
}

// The checks CLI11 cannot express: combinations, and what each workload and protocol allows.
std::optional<std::string> check(options& o, bool users_given, bool connect_batch_given,
                                 bool inflight_given) {
  if (o.port == 0) return "--port must be 1..65535";
  if (!users_given) o.users = o.workload == workload::idle ? default_idle_users : default_users;
  if (!connect_batch_given)
    o.connect_batch = o.proto == protocol::irc         ? default_irc_connect_batch
                      : o.workload == workload::hangup ? default_flood_batch
                                                       : default_parley_connect_batch;
  if (!inflight_given && o.workload == workload::offline) o.inflight = default_offline_inflight;
  // offline: one sender and one chatting pair; hangup: one victim (the flood is not users).
  if (o.workload == workload::offline) o.users = 3;
  if (o.workload == workload::hangup) o.users = 1;
  if (o.recipients == 0 || o.recipients > max_recipients)
    return "--recipients must be 1.." + std::to_string(max_recipients);
  {
    std::error_code ec;
    const auto from = asio::ip::make_address(o.flood_from, ec);
    if (ec || !from.is_loopback()) return "--flood-from must be a loopback address (127.0.0.0/8)";
  }
  // The unloaded latency: one pair, one message in flight.
  if (o.workload == workload::latency || o.workload == workload::login_storm) {
    o.users = chatting_pair;
    o.inflight = 1;
  }
  if (o.users == 0 || o.users > max_users) return "--users must be 1.." + std::to_string(max_users);
  if ((o.workload == workload::direct || o.workload == workload::private_chat) &&
      (o.users < 2 || o.users % 2 != 0))
    return "--users must be even and at least 2 for this workload (users chat in pairs)";
  if (o.workload == workload::broadcast && o.users < 2)
    return "--users must be at least 2 for broadcast";
  if (o.inflight == 0 || o.inflight > max_inflight)
    return "--inflight must be 1.." + std::to_string(max_inflight);
  if (o.connect_batch == 0 || o.connect_batch > max_connect_batch)
    return "--connect-batch must be 1.." + std::to_string(max_connect_batch);
  if (o.senders == 0 || (o.workload == workload::broadcast && o.senders > o.users))
    return "--senders must be 1..users";
  if (!(o.duration_s > 0) || o.duration_s > max_duration_seconds)
    return "--duration must be above 0 and at most " + std::to_string(max_duration_seconds);
  if (!(o.warmup_s >= 0) || o.warmup_s > max_duration_seconds) return "--warmup out of range";
  if (!(o.rate > 0) || o.rate > max_login_rate) return "--rate out of range";
  const std::size_t max_payload =
      o.proto == protocol::irc ? max_irc_payload_bytes : proto::max_text_bytes;
  if (o.payload < payload_stamp_bytes || o.payload > max_payload)
    return "--payload must be " + std::to_string(payload_stamp_bytes) + ".." +
           std::to_string(max_payload) + " bytes for this protocol";
  if (o.prefix.empty() || o.prefix.size() > max_prefix_bytes || !proto::is_valid_name(o.prefix))
    return "--prefix must be 1.." + std::to_string(max_prefix_bytes) + " visible ASCII characters";
  if (!proto::is_valid_new_password(o.password))
    return "--password must be 1..128 visible ASCII characters";
  if (o.proto == protocol::irc &&
      (o.workload == workload::login_storm || o.workload == workload::private_chat ||
       o.workload == workload::offline || o.workload == workload::hangup))
    return std::string("--workload ") + to_string(o.workload) + " speaks Parley only";
  return std::nullopt;
}

}  // namespace

std::variant<options, int> parse_options(int argc, const char* const* argv) {
  options o;
  CLI::App app{
      "parley-bench: a single-threaded load generator for the Parley registry (and IRC servers).\n"
      "Prints one line of key=value results on stdout; progress goes to stderr."};
  const std::map<std::string, workload> workloads{{"direct", workload::direct},
                                                  {"broadcast", workload::broadcast},
                                                  {"idle", workload::idle},
                                                  {"latency", workload::latency},
                                                  {"login-storm", workload::login_storm},
                                                  {"private", workload::private_chat},
                                                  {"offline", workload::offline},
                                                  {"hangup", workload::hangup}};
  const std::map<std::string, protocol> protocols{{"parley", protocol::parley},
                                                  {"irc", protocol::irc}};
  int pid = 0;
  std::string workload_name, proto_name = "parley";
  app.add_option("--workload", workload_name,
                 "direct|broadcast|idle|latency|login-storm|private|offline|hangup")
      ->required();
  app.add_option("--port", o.port, "the server's TCP port")->required();
  app.add_option("--host", o.host, "the server's address (default 127.0.0.1)");
  app.add_option("--proto", proto_name, "parley (default) or irc");
  app.add_flag("--tls", o.tls,
               "connect over TLS 1.3 (the registry's default; without it the registry must run "
               "with --no-tls; IRC: the server's TLS port); private chats are unaffected");
  auto* users = app.add_option("--users", o.users,
                               "users (default 1000; idle 10000; latency and login-storm: 2)");
  auto* inflight = app.add_option(
      "--inflight", o.inflight,
      "messages in flight per sender (default 4; offline: unacknowledged DMs, default " +
          std::to_string(default_offline_inflight) + ")");
  app.add_option("--recipients", o.recipients,
                 "offline: offline accounts the DMs go to, round robin (default 2000)");
  app.add_option("--chat-interval-us", o.chat_interval_us,
                 "offline: microseconds from one chat DM to the next of the same user, once the "
                 "previous has arrived (default 1000; 0: at once, a closed loop)");
  app.add_option("--flood-from", o.flood_from,
                 "hangup: the loopback address the flood connects from (default 127.0.0.2)");
  app.add_option("--senders", o.senders, "broadcast: users who broadcast (default 4)");
  app.add_option("--duration", o.duration_s, "measured seconds (default 10)");
  app.add_option("--warmup", o.warmup_s, "seconds of traffic before measuring (default 2)");
  app.add_option("--rate", o.rate, "login-storm: logins per second (default 20)");
  auto* connect_batch = app.add_option(
      "--connect-batch", o.connect_batch,
      "clients logging in (irc: registering) at once, 1.." + std::to_string(max_connect_batch) +
          " (default " + std::to_string(default_parley_connect_batch) +
          "; irc: " + std::to_string(default_irc_connect_batch) +
          "; hangup: flood connections under way, " + std::to_string(default_flood_batch) + ")");
  app.add_option("--payload", o.payload, "message text bytes (default 64, at least 40)");
  auto* pid_option = app.add_option("--pid", pid, "the server's PID: report its RSS and CPU");
  app.add_option("--prefix", o.prefix, "user names are <prefix><index> (default b)");
  app.add_option("--password", o.password, "every user's password (default benchpw)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return bad_arguments(e.what());
  }
  const auto w = workloads.find(workload_name);
  if (w == workloads.end())
    return bad_arguments(
        "unknown --workload '" + workload_name +
        "': direct, broadcast, idle, latency, login-storm, private, offline or hangup");
  o.workload = w->second;
  const auto p = protocols.find(proto_name);
  if (p == protocols.end())
    return bad_arguments("unknown --proto '" + proto_name + "': parley or irc");
  o.proto = p->second;
  if (pid_option->count() > 0) {
    if (pid <= 0) return bad_arguments("--pid must be a process id");
    o.pid = pid;
  }
  if (auto why = check(o, users->count() > 0, connect_batch->count() > 0, inflight->count() > 0))
    return bad_arguments(*why);
  return o;
}

}  // namespace parley::bench
