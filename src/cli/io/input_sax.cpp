#include "io/input_sax.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace swarm::cli::detail {
namespace {

using nlohmann::json;

// nlohmann's SAX interface: every callback returns false to stop the parse (a decline). Only a
// top-level string, or a flat top-level object of "id" and "prompt", gets through.
class PlainLine {
 public:
  explicit PlainLine(InputRecord& out) : out_(out) {}

  bool null() { return id_value(json(nullptr)); }
  bool boolean(bool) { return false; }
  bool number_integer(json::number_integer_t v) { return id_value(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return id_value(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return id_value(json(v)); }
  bool string(std::string& s) {
    if (depth_ == 0) {  // the whole line is the prompt
      out_.prompt = std::move(s);
      return !out_.prompt.empty();
    }
    if (key_ == Key::prompt) {
      out_.prompt = std::move(s);
      return !out_.prompt.empty();
    }
    return id_value(json(std::move(s)));
  }
  bool binary(json::binary_t&) { return false; }
  bool start_object(std::size_t) { return depth_++ == 0; }
  bool end_object() {
    --depth_;
    return seen_prompt_;
  }
  bool start_array(std::size_t) { return false; }
  bool end_array() { return false; }
  bool key(std::string& k) {
    if (k == "prompt" && !seen_prompt_) {
      seen_prompt_ = true;
      key_ = Key::prompt;
      return true;
    }
    if (k == "id" && !seen_id_) {
      seen_id_ = true;
      key_ = Key::id;
      return true;
    }
    return false;  // another key, or one repeated (the DOM keeps the last; not decided here)
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  enum class Key : std::uint8_t { none, id, prompt };

  // A scalar other than the prompt: only the id may be one (null: no id, as the DOM reads it).
  bool id_value(json v) {
    if (depth_ == 0 || key_ != Key::id) return false;
    if (!v.is_null()) out_.id = std::move(v);
    return true;
  }

  InputRecord& out_;
  int depth_ = 0;
  Key key_ = Key::none;
  bool seen_id_ = false;
  bool seen_prompt_ = false;
};

}  // namespace

bool parse_plain_line(std::string_view text, InputRecord& out) {
  out.clear_content();
  PlainLine reader(out);
  return json::sax_parse(text.begin(), text.end(), &reader, json::input_format_t::json,
                         /*strict=*/true);
}

}  // namespace swarm::cli::detail
