#include "shared/proto/text.hpp"

#include "shared/proto/messages.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace parley::proto {
namespace {

bool is_visible_ascii(unsigned char c) { return c >= 0x21 && c <= 0x7e; }

// Length of the UTF-8 sequence at text[i] and its code point, or 0 if it is not well formed.
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2, code_point = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, code_point = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, code_point = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3f);
  }
  if (code_point < min || code_point > 0x10ffff) return 0;
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;
  return length;
}

// Bidirectional embedding, override and isolate controls: they reorder what follows on the line.
bool is_bidi_control(char32_t cp) {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
         cp == 0x200f || cp == 0x061c;
}

void append_hex_byte(std::string& out, unsigned char c) {
  char buffer[5];
  std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
  out += buffer;
}

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_bytes) return false;
  for (unsigned char c : name)
    if (!is_visible_ascii(c)) return false;
  return true;
}

bool is_valid_new_password(std::string_view password) {
  if (password.empty() || password.size() > max_password_bytes) return false;
  for (unsigned char c : password)
    if (!is_visible_ascii(c)) return false;
  return true;
}

bool is_valid_token(std::string_view token) {
  if (token.size() != private_token_chars) return false;
  for (char c : token)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_valid_utf8(std::string_view text) {
  char32_t cp = 0;
  for (std::size_t i = 0; i < text.size();) {
    // Most text is ASCII: eight bytes at a time while none has its high bit set. Every message
    // body is checked when decoded and again when its delivery is encoded, so this is on the
    // registry's hot path.
    while (i + sizeof(std::uint64_t) <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, sizeof word);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += sizeof word;
    }
    if (i >= text.size()) break;
    const auto length = utf8_sequence(text, i, cp);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool has_ascii_control(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char32_t cp = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto length = utf8_sequence(text, i, cp);
    if (length == 0) {
      append_hex_byte(out, c);
      ++i;
      continue;
    }
    if (length == 1) {
      if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
        out.push_back(static_cast<char>(c));
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == 0x1b) {
        out += "\\e";
      } else {
        append_hex_byte(out, c);
      }
    } else if (cp >= 0x80 && cp <= 0x9f) {
      // C1 controls: some terminals take U+009B as CSI.
      append_hex_byte(out, static_cast<unsigned char>(cp));
    } else if (is_bidi_control(cp)) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(cp));
      out += buffer;
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

}  // namespace parley::proto
