// Text rules shared by both sides: user names, passwords, UTF-8 bodies, and how received text is
// made safe to print on a terminal.
#pragma once

#include <string>
#include <string_view>

namespace parley::proto {

// 1..32 visible ASCII characters (0x21..0x7e): no spaces, no control characters.
bool is_valid_name(std::string_view name);

// 1..max visible ASCII characters: what a password stored by the registry may be.
bool is_valid_new_password(std::string_view password);

// A private-chat token: exactly private_token_chars lowercase hex digits.
bool is_valid_token(std::string_view token);

// Well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// True if the text holds a byte below 0x20 or 0x7f.
bool has_ascii_control(std::string_view text);

// The text with everything a terminal could act on written out as escapes, so received text can
// never move the cursor, clear the screen or forge a line: C0 controls except tab, DEL and the C1
// controls as \xNN (\n, \r and \e for the common ones), bidirectional overrides as \uNNNN, and
// bytes that are not UTF-8 as \xNN.
std::string escape_for_terminal(std::string_view text);

}  // namespace parley::proto
