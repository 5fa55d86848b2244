#include "python_json.hpp"

#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "swarm/json_limits.hpp"
#include "unicode.hpp"

namespace swarm::detail {
namespace {

constexpr bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';  // json's whitespace, no more
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct Failure {};  // unwinds to read_python_json(); the message is already set

/// A recursive-descent reader in the order of CPython's scanner (json/scanner.py), so the same
/// documents are accepted and errors name the same positions. Recursion is bounded by the depth
/// limit.
class Reader {
 public:
  Reader(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

  PyJsonValue document() {
    if (s_.starts_with("\xEF\xBB\xBF")) fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    skip_ws();
    PyJsonValue out;
    if (peek() == '[') {
      out.elements.emplace();
      array(out.compact, 1, &*out.elements);
    } else {
      value(out.compact, 0);
    }
    skip_ws();
    if (pos_ != s_.size()) fail("Extra data", pos_);
    return out;
  }

  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  [[noreturn]] void fail(std::string_view what, std::size_t at) {
    // Python's JSONDecodeError: line and column 1-based, char 0-based, all in code points.
    const std::string_view before = s_.substr(0, at);
    std::size_t line = 1;
    for (const char c : before) line += c == '\n' ? 1 : 0;
    const auto nl = before.rfind('\n');
    const std::size_t column =
        nl == std::string_view::npos ? code_points(before) + 1 : code_points(before.substr(nl));
    error_ = fmt::format("{}: line {} column {} (char {})", what, line, column, code_points(before));
    throw Failure{};
  }

  [[noreturn]] void too_deep() {
    error_ = json_depth_reason(max_depth_);
    throw Failure{};
  }

  [[nodiscard]] char peek() const noexcept { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= s_.size(); }
  void skip_ws() noexcept {
    while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
  }
  bool literal(std::string_view word, std::string& out) {
    if (s_.substr(pos_, word.size()) != word) return false;
    out.append(word);
    pos_ += word.size();
    return true;
  }

  void value(std::string& out, int depth) {
    if (at_end()) fail("Expecting value", pos_);
    const char c = s_[pos_];
    if (c == '"') return string(out);
    if (c == '{') return object(out, depth + 1);
    if (c == '[') return array(out, depth + 1, nullptr);
    if (literal("null", out) || literal("true", out) || literal("false", out)) return;
    if (number(out)) return;
    if (literal("NaN", out) || literal("Infinity", out) || literal("-Infinity", out)) return;
    fail("Expecting value", pos_);
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? as json's NUMBER_RE; what follows a partial
  // match (a '.' without digits) is left to the caller, as Python does.
  bool number(std::string& out) {
    std::size_t p = pos_;
    if (p < s_.size() && s_[p] == '-') ++p;
    if (p >= s_.size() || !is_digit(s_[p])) return false;
    if (s_[p] == '0') {
      ++p;
    } else {
      while (p < s_.size() && is_digit(s_[p])) ++p;
    }
    if (p + 1 < s_.size() && s_[p] == '.' && is_digit(s_[p + 1])) {
      p += 2;
      while (p < s_.size() && is_digit(s_[p])) ++p;
    }
    if (p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
      std::size_t q = p + 1;
      if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
      if (q < s_.size() && is_digit(s_[q])) {
        while (q < s_.size() && is_digit(s_[q])) ++q;
        p = q;
      }
    }
    out.append(s_.substr(pos_, p - pos_));
    pos_ = p;
    return true;
  }

  void string(std::string& out) {
    const std::size_t start = pos_++;
    for (;;) {
      if (at_end()) fail("Unterminated string starting at", start);
      const char c = s_[pos_];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) fail("Invalid control character at", pos_);
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) fail("Unterminated string starting at", start);
        const char e = s_[pos_ + 1];
        if (e == 'u') {
          for (std::size_t k = 2; k < 6; ++k) {
            if (pos_ + k >= s_.size() || !is_hex(s_[pos_ + k])) {
              fail("Invalid \\uXXXX escape", pos_ + 1);
            }
          }
          pos_ += 6;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          fail("Invalid \\escape", pos_);
        }
        pos_ += 2;
        continue;
      }
      ++pos_;
    }
    ++pos_;
    out.append(s_.substr(start, pos_ - start));
  }

  void object(std::string& out, int depth) {
    if (depth >= max_depth_) too_deep();
    ++pos_;
    // Keys as written: the last of equal keys wins at the first one's place, as in a dict.
    std::vector<std::pair<std::string, std::string>> members;
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      out.append("{}");
      return;
    }
    for (;;) {
      if (peek() != '"') fail("Expecting property name enclosed in double quotes", pos_);
      std::string key;
      string(key);
      skip_ws();
      if (peek() != ':') fail("Expecting ':' delimiter", pos_);
      ++pos_;
      skip_ws();
      std::string member;
      value(member, depth);
      bool replaced = false;
      for (auto& [k, v] : members) {
        if (k == key) {
          v = std::move(member);
          replaced = true;
          break;
        }
      }
      if (!replaced) members.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      if (peek() != ',') fail("Expecting ',' delimiter", pos_);
      ++pos_;
      skip_ws();
    }
    out.push_back('{');
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(members[i].first).push_back(':');
      out.append(members[i].second);
    }
    out.push_back('}');
  }

  void array(std::string& out, int depth, std::vector<std::string>* elements) {
    if (depth >= max_depth_) too_deep();
    ++pos_;
    out.push_back('[');
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      out.push_back(']');
      return;
    }
    for (bool first = true;; first = false) {
      if (!first) out.push_back(',');
      std::string element;
      value(element, depth);
      out.append(element);
      if (elements != nullptr) elements->push_back(std::move(element));
      skip_ws();
      if (peek() == ']') {
        ++pos_;
        break;
      }
      if (peek() != ',') fail("Expecting ',' delimiter", pos_);
      ++pos_;
      skip_ws();
    }
    out.push_back(']');
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int max_depth_;
  std::string error_;
};

void dump(const nlohmann::ordered_json& v, std::string& out) {
  using nlohmann::ordered_json;
  switch (v.type()) {
    case ordered_json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        out.append(ordered_json(key).dump(-1, ' ', false, ordered_json::error_handler_t::replace));
        out.push_back(':');
        dump(item, out);
      }
      out.push_back('}');
      return;
    }
    case ordered_json::value_t::array: {
      out.push_back('[');
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out.push_back(',');
        dump(v[i], out);
      }
      out.push_back(']');
      return;
    }
    case ordered_json::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isnan(d)) {
        out.append("NaN");
        return;
      }
      if (std::isinf(d)) {
        out.append(d > 0 ? "Infinity" : "-Infinity");
        return;
      }
      break;
    }
    default:
      break;
  }
  out.append(v.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

}  // namespace

std::optional<PyJsonValue> read_python_json(std::string_view text, std::string& error,
                                            int max_depth) {
  Reader reader(text, max_depth);
  try {
    return reader.document();
  } catch (const Failure&) {
    error = reader.error();
    return std::nullopt;
  }
}

std::string dump_python_json(const nlohmann::ordered_json& value) {
  std::string out;
  dump(value, out);
  return out;
}

}  // namespace swarm::detail
