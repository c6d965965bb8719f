// The commands of a logged-in session: each typed command to what it sends or does locally,
// help, and Tab completion.
#include "peer/core/peer_core.hpp"

#include "peer/core/texts.hpp"
#include "shared/util/overloaded.hpp"

#include <type_traits>
#include <utility>

namespace parley::peer {
namespace {

// The help line of one command: its usage padded to a column, the summary, then its aliases.
std::string help_line(const command_info& info) {
  // Wide enough for the longest usage, `message <user> <message>`, and two spaces.
  constexpr std::size_t usage_column = 26;
  auto usage = usage_of(info);
  if (usage.size() < usage_column) usage.resize(usage_column, ' ');
  auto line = usage + std::string(info.summary);
  for (std::size_t i = 0; i < info.aliases.size(); ++i)
    line += (i == 0 ? " (also: " : ", ") + std::string(info.aliases[i]);
  if (!info.aliases.empty()) line += ")";
  return line;
}

}  // namespace

void peer_core::handle_command(const input& item, effects& out) {
  if (item.too_long) {
    out.print(texts::message_too_long);
    return ask(phase::logged_in, out);
  }
  if (is_blank(item.line)) return ask(phase::logged_in, out);
  const auto parsed = parse_command(item.line);
  if (const auto* error = std::get_if<parse_error>(&parsed)) {
    out.print(describe(*error));
    if (*error == parse_error::invalid_command)
      if (auto hint = invalid_command_hint(item.line)) out.print(*hint);
    return ask(phase::logged_in, out);
  }
  execute(std::get<command>(parsed), item.line, out);
  if (!busy() && phase_ != phase::done) ask(phase::logged_in, out);
}

bool peer_core::refuse_without_registry(effects& out) {
  if (!registry_lost_ && !reconnecting_) return false;
  out.print(texts::not_connected);
  if (reconnecting_) out.print(texts::not_connected_hint);
  return true;
}

void peer_core::report_activity(effects& out) {
  // The registry only learns that the user is active: private traffic never goes through it,
  // and nothing waits for an answer.
  if (reconnecting_) {
    activity_owed_ = true;
    return;
  }
  if (!registry_lost_) out.sends.emplace_back(std::in_place_type<proto::activity>);
}

void peer_core::execute(const command& cmd, std::string_view line, effects& out) {
  if (needs_registry_answer(cmd) && refuse_without_registry(out)) return;
  std::visit(
      overloaded{
          [&](const message_command& c) {
            pending_target_ = c.to;
            request(proto::direct_message{proto::name_string(c.to), proto::text_string(c.text)},
                    awaiting::reply, line, out);
          },
          [&](const broadcast_command& c) {
            request(proto::broadcast_message{proto::text_string(c.text)}, awaiting::reply, line,
                    out);
          },
          [&](const whoelse_command&) {
            request(proto::who_else{}, awaiting::user_list, line, out);
          },
          [&](const whoelsesince_command& c) {
            request(proto::who_else_since{c.seconds}, awaiting::user_list, line, out);
          },
          [&](const block_command& c) {
            request(proto::block_user{proto::name_string(c.user)}, awaiting::reply, line, out);
          },
          [&](const unblock_command& c) {
            request(proto::unblock_user{proto::name_string(c.user)}, awaiting::reply, line, out);
          },
          [&](const logout_command&) { log_out(out); },
          [&](const startprivate_command& c) {
            if (private_chats_.may_request(c.user, out))
              request(private_chats_.invite(c.user), awaiting::reply, line, out);
          },
          [&](const private_command& c) {
            if (private_chats_.send(c.to, c.text, out)) report_activity(out);
          },
          [&](const stopprivate_command& c) {
            if (!private_chats_.stop(c.user, out)) return;
            report_activity(out);
            check_last_chat(out);
          },
          [&](const verify_command& c) {
            private_chats_.verify(c.user, out);
            // Like private: a well-formed command that does not go to the registry.
            if (private_chats_.is_open(c.user)) report_activity(out);
          },
          [&](const help_command& c) {
            if (c.topic.empty()) {
              for (const auto& info : command_table()) out.print(help_line(info));
              return;
            }
            const auto* info = find_command(c.topic);
            if (!info) return;
            out.print(texts::usage(usage_of(*info)));
            out.print(info->summary);
            for (const auto alias : info->aliases) out.print(texts::also_called(alias));
            out.print(texts::example(info->example));
          },
      },
      cmd);
}

std::vector<std::string> peer_core::completions(std::string_view before,
                                                std::string_view word) const {
  std::vector<std::string> matches;
  if (phase_ != phase::logged_in) return matches;
  const auto command_names = [&] {
    for (const auto& info : command_table())
      if (info.name.starts_with(word)) matches.emplace_back(info.name);
    return matches;
  };
  if (before.empty()) return command_names();
  // Only the word right after a command that takes a user (`<command> <partial name>`), or
  // after help, which takes a command.
  if (before.back() != ' ') return matches;
  const auto name = before.substr(0, before.size() - 1);
  if (name == "help") return command_names();
  const auto* info = find_command(name);
  if (!info || !info->user_argument) return matches;
  for (auto it = known_names_.lower_bound(word); it != known_names_.end(); ++it) {
    if (!std::string_view(*it).starts_with(word)) break;
    matches.push_back(*it);
  }
  return matches;
}

}  // namespace parley::peer
