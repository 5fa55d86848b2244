#include "reply_sax.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::protocol {
namespace {

using nlohmann::json;

/// Where the reader is: the containers it reads fields from, and those it only skips.
enum class Frame : std::uint8_t { top, choices, choice, message, usage, details, list, skip };

/// The fields it reads, one bit each, so a second occurrence is seen (the DOM keeps the last
/// one, and deciding that here is not worth the code: such replies are declined).
enum Field : std::uint32_t {
  kNone = 0,
  kId = 1U << 0,
  kModel = 1U << 1,
  kChoices = 1U << 2,
  kUsage = 1U << 3,
  kMessage = 1U << 4,
  kText = 1U << 5,
  kFinish = 1U << 6,
  kContent = 1U << 7,
  kReasoning = 1U << 8,
  kReasoningContent = 1U << 9,
  kPromptTokens = 1U << 10,
  kCompletionTokens = 1U << 11,
  kTotalTokens = 1U << 12,
  kDetails = 1U << 13,
  kReasoningTokens = 1U << 14,
  kResponse = 1U << 15,  // /generate: "response" (the seed's servers), or else
  kTopText = 1U << 16,   // "text": a string, or a list whose first element is one (vLLM's demo)
};

/// Far below kMaxJsonDepth: deeper replies go to the DOM decoder, which applies the limit.
constexpr std::size_t kMaxDepth = 64;

/// nlohmann's SAX interface: every callback returns false to stop the parse (a decline).
class ReplyReader {
 public:
  explicit ReplyReader(Protocol protocol)
      : chat_(protocol == Protocol::chat), generate_(protocol == Protocol::generate) {}

  bool null() { return scalar(); }
  bool boolean(bool) { return scalar(); }
  bool number_integer(json::number_integer_t v) { return integer(v); }
  bool number_unsigned(json::number_unsigned_t v) {
    // int_field's get<std::int64_t>() of a larger value wraps; leave that to the DOM decoder.
    if (v > static_cast<json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
    return integer(static_cast<std::int64_t>(v));
  }
  bool number_float(json::number_float_t, const json::string_t&) { return scalar(); }
  bool binary(json::binary_t&) { return scalar(); }
  bool string(json::string_t& value) {
    if (!frames_.empty() && frames_.back() == Frame::list) {
      if (element() == 0) *list_slot(list_field_) = std::move(value);
      return true;
    }
    if (std::string* slot = string_slot(); slot != nullptr) {
      *slot = std::move(value);
      return true;
    }
    return scalar();
  }

  bool start_object(std::size_t) { return start(true); }
  bool start_array(std::size_t) { return start(false); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }

  bool key(json::string_t& name) {
    const Field f = field_of(frames_.back(), name);
    if (f != kNone) {
      if ((seen_ & f) != 0) return false;
      seen_ |= f;
    }
    field_ = f;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  /// After a complete parse: whether the reply had the shape decode_chat/decode_completion
  /// accept, and if so its fields in `r`.
  bool finish(Response& r) {
    if (generate_) {
      // decode_generate's order: a usable "response", else a usable "text".
      if ((usable_ & kResponse) != 0) {
        r.text = std::move(response_);
      } else if ((usable_ & kTopText) != 0) {
        r.text = std::move(top_text_);
      } else {
        return false;
      }
      r.usage = usage_;
      r.success = true;
      return true;
    }
    if (!first_choice_ || (chat_ && (seen_ & kMessage) == 0)) return false;
    if (chat_) {
      // decode_chat's rules: `reasoning` or else `reasoning_content`; the text falls back to it.
      r.reasoning = reasoning_.empty() ? std::move(reasoning_content_) : std::move(reasoning_);
      r.text = content_.empty() ? r.reasoning : std::move(content_);
    } else {
      r.text = std::move(text_);
    }
    r.finish_reason = std::move(finish_reason_);
    r.usage = usage_;
    r.response_id = std::move(id_);
    r.model = std::move(model_);
    r.success = true;
    return true;
  }

 private:
  [[nodiscard]] Field field_of(Frame frame, std::string_view name) const {
    switch (frame) {
      case Frame::top:
        if (generate_) {
          if (name == "response") return kResponse;
          if (name == "text") return kTopText;
          return name == "usage" ? kUsage : kNone;
        }
        if (name == "id") return kId;
        if (name == "model") return kModel;
        if (name == "choices") return kChoices;
        if (name == "usage") return kUsage;
        return kNone;
      case Frame::choice:
        if (name == "finish_reason") return kFinish;
        if (chat_ && name == "message") return kMessage;
        if (!chat_ && name == "text") return kText;
        return kNone;
      case Frame::message:
        if (name == "content") return kContent;
        if (name == "reasoning") return kReasoning;
        if (name == "reasoning_content") return kReasoningContent;
        return kNone;
      case Frame::usage:
        if (name == "prompt_tokens") return kPromptTokens;
        if (name == "completion_tokens") return kCompletionTokens;
        if (name == "total_tokens") return kTotalTokens;
        if (name == "completion_tokens_details") return kDetails;
        return kNone;
      case Frame::details:
        return name == "reasoning_tokens" ? kReasoningTokens : kNone;
      case Frame::choices:
      case Frame::list:
      case Frame::skip:
        return kNone;
    }
    return kNone;
  }

  /// Where a /generate text field's string goes; it is usable from then on.
  std::string* list_slot(Field f) {
    usable_ |= f;
    return f == kResponse ? &response_ : &top_text_;
  }

  /// The pending field's string, if it is one (a field given as another type stays empty, as
  /// string_field() reads it).
  std::string* string_slot() {
    if (frames_.empty() || frames_.back() == Frame::skip || frames_.back() == Frame::choices) {
      return nullptr;
    }
    const Field f = std::exchange(field_, kNone);
    switch (f) {
      case kId: return &id_;
      case kModel: return &model_;
      case kText: return &text_;
      case kFinish: return &finish_reason_;
      case kContent: return &content_;
      case kReasoning: return &reasoning_;
      case kReasoningContent: return &reasoning_content_;
      case kResponse:
      case kTopText: return list_slot(f);
      default: field_ = f; return nullptr;  // scalar() decides
    }
  }

  /// A value that is not a string, or a string no field wants.
  bool scalar() {
    if (frames_.empty()) return false;  // the reply is not an object
    switch (frames_.back()) {
      case Frame::skip:
        return true;
      case Frame::choices:
        return element() != 0;  // a first choice that is not an object
      case Frame::list:
        element();
        return true;
      default:
        break;
    }
    const Field f = std::exchange(field_, kNone);
    // `choices` or `message` that is not a container: the DOM decoder fails such a reply.
    return f != kChoices && f != kMessage;
  }

  bool integer(std::int64_t v) {
    if (frames_.empty()) return false;
    if (frames_.back() == Frame::usage || frames_.back() == Frame::details) {
      switch (std::exchange(field_, kNone)) {
        case kPromptTokens: usage_.prompt_tokens = v; return true;
        case kCompletionTokens: usage_.completion_tokens = v; return true;
        case kTotalTokens: usage_.total_tokens = v; return true;
        case kReasoningTokens: usage_.reasoning_tokens = v; return true;
        default: return true;  // an untracked count, or details/usage given as a number
      }
    }
    return scalar();
  }

  bool start(bool object) {
    if (frames_.size() >= kMaxDepth) return false;
    if (frames_.empty()) {
      if (!object) return false;
      frames_.push_back(Frame::top);
      return true;
    }
    Frame next = Frame::skip;
    switch (frames_.back()) {
      case Frame::skip:
        break;
      case Frame::list:
        element();
        break;
      case Frame::choices:
        if (element() == 0) {
          if (!object) return false;
          first_choice_ = true;
          next = Frame::choice;
        }
        break;
      default:
        switch (const Field f = std::exchange(field_, kNone); f) {
          case kChoices:
            if (object) return false;
            next = Frame::choices;
            elements_ = 0;
            break;
          case kResponse:
          case kTopText:
            if (!object) {  // usable if its first element is a string
              next = Frame::list;
              list_field_ = f;
              elements_ = 0;
            }
            break;
          case kMessage:
            if (!object) return false;
            next = Frame::message;
            break;
          case kUsage:
            if (object) next = Frame::usage;  // an array: no usage, as decode_usage reads it
            break;
          case kDetails:
            if (object) next = Frame::details;
            break;
          default:
            break;  // any other field given as a container: string_field reads "", so skip
        }
    }
    frames_.push_back(next);
    return true;
  }

  bool end() {
    frames_.pop_back();
    return true;
  }

  /// The index of the next element of the array being read (choices, or a /generate list).
  std::size_t element() { return elements_++; }

  bool chat_;
  bool generate_;
  Field list_field_ = kNone;  // the /generate field whose list is open
  std::uint32_t usable_ = 0;  // /generate fields that hold a string
  std::vector<Frame> frames_;
  Field field_ = kNone;  // the key just read, until its value
  std::uint32_t seen_ = 0;
  std::size_t elements_ = 0;
  bool first_choice_ = false;
  std::string id_, model_, text_, finish_reason_, content_, reasoning_, reasoning_content_;
  std::string response_, top_text_;
  Usage usage_;
};

}  // namespace

bool decode_reply_fast(Protocol protocol, std::string_view body, Response& r) {
  ReplyReader reader(protocol);
  if (!json::sax_parse(body.begin(), body.end(), &reader)) return false;
  return reader.finish(r);
}

}  // namespace swarm::protocol
