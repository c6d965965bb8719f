// How the core's lines look on the screen or to a program: the optional `[HH:MM] ` stamp, a
// colour per user name, the bell for a message meant for you, the send time of an offline
// message as a hint, or (--json) one JSON object per event. Pure: the time is passed in.
#pragma once

#include "peer/core/effects.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::peer {

// What the user chose (options, peer.toml) and what the output can show.
struct presentation {
  bool timestamps = false;  // `[HH:MM] ` (local time) before every line after login
  bool colour = false;      // a message or presence line in its user's colour (a terminal,
                            // without NO_COLOR)
  bool bell = false;        // a bell for a direct or private message (a terminal)
  bool sent_time = false;   // a hint line with an offline message's send time (a terminal)
};

using wall_clock = std::chrono::system_clock;

// A line as shown: the text lines to print (the line, then its hint, if any) and whether to
// ring the bell.
struct shown_line {
  std::vector<std::string> lines;
  bool bell = false;
};

shown_line present(const print_line& line, const presentation& how, wall_clock::time_point now,
                   bool logged_in);

// `(sent 14:02)`, or with the day when it was not today (`(sent 3 Dec 14:02)`), or the year when
// it was not this year (`(sent 3 Dec 2025 14:02)`); local time.
std::string sent_time_hint(wall_clock::time_point sent, wall_clock::time_point now);

// The SGR colour (30-37 or 90-97) a name is shown in: the same name, the same colour, in every
// peer; never red (31, 91), which reads as an error, nor black or white.
int name_colour(std::string_view name);

// --json: the version of the event format; it changes only when a field changes meaning or
// goes away (new kinds and fields do not change it).
inline constexpr int json_version = 1;

// --json: the event for one line, a prompt that asks for something (nothing for the command
// prompt or none), and the end of the program. Each is one line of JSON, without '\n'.
std::string json_line_event(const print_line& line, wall_clock::time_point now);
std::optional<std::string> json_prompt_event(const prompt& asked, wall_clock::time_point now);
std::string json_exit_event(int code, wall_clock::time_point now);

}  // namespace parley::peer
