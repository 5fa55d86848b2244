#include "swarm/template.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>

namespace swarm {
namespace {

constexpr bool is_alnum_or_underscore(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// '-', '.' and ':' are allowed inside a name for `{section:critiques}`-style keys, but not as
// its first character, so that prose such as "{...}" or "{-}" is never taken for a placeholder.
constexpr bool is_name_char(char c) noexcept {
  return is_alnum_or_underscore(c) || c == '-' || c == '.' || c == ':';
}

/// If a placeholder `{name}` starts at `open` (which holds '{'), returns its name; else empty.
std::string_view placeholder_at(std::string_view tmpl, std::size_t open) noexcept {
  std::size_t end = open + 1;
  if (end >= tmpl.size() || !is_alnum_or_underscore(tmpl[end])) return {};
  while (end < tmpl.size() && is_name_char(tmpl[end])) ++end;
  if (end >= tmpl.size() || tmpl[end] != '}') return {};
  return tmpl.substr(open + 1, end - open - 1);
}

/// The single pass shared by filling and sizing: `emit` receives, in order, every piece of the
/// output. A '{' that does not open a known placeholder is emitted alone and scanning resumes
/// right after it, so `{{name}}` still substitutes the inner `{name}` as str.replace would.
template <typename Lookup, typename Emit>
void scan(std::string_view tmpl, const Lookup& lookup, Emit&& emit) {
  std::size_t pos = 0;
  while (pos < tmpl.size()) {
    const std::size_t open = tmpl.find('{', pos);
    if (open == std::string_view::npos) break;
    emit(tmpl.substr(pos, open - pos));
    const std::string_view name = placeholder_at(tmpl, open);
    const std::optional<std::string_view> value = name.empty() ? std::nullopt : lookup(name);
    if (value) {
      emit(*value);
      pos = open + name.size() + 2;
    } else {
      emit(tmpl.substr(open, 1));
      pos = open + 1;
    }
  }
  emit(tmpl.substr(std::min(pos, tmpl.size())));
}

// Two passes (size, then copy) so the output is allocated exactly once whatever the values.
template <typename Lookup>
std::string fill_with(std::string_view tmpl, const Lookup& lookup) {
  std::size_t size = 0;
  scan(tmpl, lookup, [&size](std::string_view piece) { size += piece.size(); });
  std::string out;
  out.reserve(size);
  scan(tmpl, lookup, [&out](std::string_view piece) { out.append(piece); });
  return out;
}

}  // namespace

std::string fill_template(std::string_view tmpl, const TemplateValues& values) {
  const auto lookup = [&values](std::string_view name) -> std::optional<std::string_view> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
  return fill_with(tmpl, lookup);
}

std::string fill_template(
    std::string_view tmpl,
    std::initializer_list<std::pair<std::string_view, std::string_view>> values) {
  // A handful of pairs: a linear search beats building a map. The first pair with a given
  // name wins, as when the same list initialises a std::map.
  const auto lookup = [&values](std::string_view name) -> std::optional<std::string_view> {
    const auto it = std::find_if(values.begin(), values.end(),
                                 [name](const auto& kv) { return kv.first == name; });
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
  return fill_with(tmpl, lookup);
}

std::vector<std::string> template_placeholders(std::string_view tmpl) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while ((pos = tmpl.find('{', pos)) != std::string_view::npos) {
    const std::string_view name = placeholder_at(tmpl, pos);
    if (!name.empty()) {
      // Templates have few distinct placeholders; a linear dedup keeps first-appearance order.
      if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
      pos += name.size() + 2;
    } else {
      ++pos;
    }
  }
  return names;
}

}  // namespace swarm
