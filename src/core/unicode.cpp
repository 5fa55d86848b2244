#include "unicode.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include <utf8proc.h>

namespace swarm::detail {
namespace {

constexpr std::int32_t kInvalid = -1;

/// One character of `s` at `pos`: its code point (kInvalid for a byte that does not start
/// valid UTF-8) and its length in bytes (at least 1).
struct Char {
  std::int32_t cp;
  std::size_t bytes;
};

Char decode(std::string_view s, std::size_t pos) noexcept {
  utf8proc_int32_t cp = 0;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + pos),
                                  static_cast<utf8proc_ssize_t>(s.size() - pos), &cp);
  if (n <= 0) return {kInvalid, 1};
  return {cp, static_cast<std::size_t>(n)};
}

/// Python's str.isspace() for one character: bidirectional class WS, B or S, or category Zs.
bool is_space(std::int32_t cp) noexcept {
  if (cp == kInvalid) return false;
  const utf8proc_property_t* p = utf8proc_get_property(cp);
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

/// Unicode's Cased property (Lowercase, Uppercase or Lt), approximated by the category and by
/// having a case mapping (which covers the Roman numerals and circled letters).
bool is_cased(std::int32_t cp) noexcept {
  if (cp == kInvalid) return false;
  const auto cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LU ||
         cat == UTF8PROC_CATEGORY_LT || utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp;
}

/// Unicode's Case_Ignorable property: categories Mn, Me, Cf, Lm, Sk, and the word-break classes
/// MidLetter, MidNumLet and Single_Quote (these few code points; utf8proc has no word-break
/// table).
bool is_case_ignorable(std::int32_t cp) noexcept {
  if (cp == kInvalid) return false;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  constexpr std::array<std::int32_t, 17> kWordBreakMid = {
      0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019,
      0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  for (const std::int32_t m : kWordBreakMid) {
    if (cp == m) return true;
  }
  return false;
}

/// Unicode's Final_Sigma context for the capital sigma at `i`: a cased letter before it and
/// none after it, case-ignorable characters skipped on both sides (what CPython checks).
bool final_sigma(const std::vector<Char>& chars, std::size_t i) noexcept {
  std::size_t j = i;
  bool cased_before = false;
  while (j > 0) {
    --j;
    if (is_case_ignorable(chars[j].cp)) continue;
    cased_before = is_cased(chars[j].cp);
    break;
  }
  if (!cased_before) return false;
  for (std::size_t k = i + 1; k < chars.size(); ++k) {
    if (is_case_ignorable(chars[k].cp)) continue;
    return !is_cased(chars[k].cp);
  }
  return true;
}

void append(std::string& out, std::int32_t cp) {
  std::array<utf8proc_uint8_t, 4> buf{};
  const auto n = utf8proc_encode_char(cp, buf.data());
  out.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
}

}  // namespace

std::size_t code_points(std::string_view s) noexcept {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos < s.size(); ++n) pos += decode(s, pos).bytes;
  return n;
}

std::string_view python_prefix(std::string_view s, std::size_t n) noexcept {
  std::size_t pos = 0;
  for (std::size_t k = 0; k < n && pos < s.size(); ++k) pos += decode(s, pos).bytes;
  return s.substr(0, pos);
}

std::string_view python_strip(std::string_view s) noexcept {
  while (!s.empty()) {
    const Char c = decode(s, 0);
    if (!is_space(c.cp)) break;
    s.remove_prefix(c.bytes);
  }
  while (!s.empty()) {
    // The last character starts at most 3 continuation bytes before the end.
    std::size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 &&
           (static_cast<unsigned char>(s[start]) & 0xC0U) == 0x80U) {
      --start;
    }
    const Char c = decode(s, start);
    if (start + c.bytes != s.size() || !is_space(c.cp)) break;
    s.remove_suffix(c.bytes);
  }
  return s;
}

std::string python_lower(std::string_view s) {
  std::vector<Char> chars;
  for (std::size_t pos = 0; pos < s.size();) {
    chars.push_back(decode(s, pos));
    pos += chars.back().bytes;
  }
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t i = 0; i < chars.size(); pos += chars[i].bytes, ++i) {
    const std::int32_t cp = chars[i].cp;
    if (cp == kInvalid) {
      out.push_back(s[pos]);
    } else if (cp == 0x0130) {  // SpecialCasing: LATIN CAPITAL I WITH DOT ABOVE -> i + U+0307
      out.push_back('i');
      append(out, 0x0307);
    } else if (cp == 0x03A3) {  // GREEK CAPITAL SIGMA: final or medial form
      append(out, final_sigma(chars, i) ? 0x03C2 : 0x03C3);
    } else {
      append(out, utf8proc_tolower(cp));
    }
  }
  return out;
}

}  // namespace swarm::detail
