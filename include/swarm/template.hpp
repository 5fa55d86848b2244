#pragma once
/// @file template.hpp
/// Prompt templates: `{name}` placeholders filled from named values.
///
/// Every occurrence of a known placeholder is replaced (like Python's `str.replace`); unknown
/// `{...}` stays as written, so JSON braces in a prompt survive. Unlike chained `str.replace`,
/// the fill is a single pass: text inserted for one placeholder (an agent's answer containing
/// "{level}", say) is never itself substituted.

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarm {

/// Name -> value; names are given without braces ("responses", not "{responses}").
using TemplateValues = std::map<std::string, std::string, std::less<>>;

/// Returns `tmpl` with each `{name}` whose name is in `values` replaced by its value.
std::string fill_template(std::string_view tmpl, const TemplateValues& values);

/// Convenience overload: `fill_template(t, {{"item", s}, {"level", "2"}})`.
std::string fill_template(
    std::string_view tmpl,
    std::initializer_list<std::pair<std::string_view, std::string_view>> values);

/// Names of the `{name}` placeholders in `tmpl`, in order of first appearance, without
/// duplicates. A name starts with a letter, digit or `_` and continues with those or `-`, `.`,
/// `:` (so `{section:critiques}` is one; `{...}`, `{ x }` and `{"json": 1}` are not).
std::vector<std::string> template_placeholders(std::string_view tmpl);

}  // namespace swarm
