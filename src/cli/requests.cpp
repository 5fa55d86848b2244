#include "requests.hpp"

#include <utility>

#include "io/input_error.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/request.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {

void check_request_input(const Options& o, const InputReader& reader,
                         const std::string& item_template) {
  if (!item_template.empty() && reader.batch()) {
    throw InputError(reader.name(), reader.first_request_line(),
                     "OpenAI batch lines are sent as written, so --prompt/--prompt-file "
                     "templates do not apply to them: drop the template");
  }
  if (!item_template.empty() && reader.first_messages_line() != 0) {
    throw InputError(reader.name(), reader.first_messages_line(),
                     "a \"messages\" line is sent as written, so --prompt/--prompt-file "
                     "templates do not apply to it: use \"prompt\" lines or drop the template");
  }
  if (o.batch_size > 1 && reader.first_request_line() != 0) {
    throw InputError(reader.name(), reader.first_request_line(),
                     "--batch-size sends prompts as lists in shared requests, which cannot carry "
                     "this line's body, messages or params: drop --batch-size");
  }
  if (o.protocol != "chat" && reader.first_messages_line() != 0) {
    throw InputError(reader.name(), reader.first_messages_line(),
                     "\"messages\" need --protocol chat");
  }
}

void check_text_items(const InputReader& reader) {
  if (!reader.batch() && reader.first_request_line() != 0) {
    throw InputError(reader.name(), reader.first_request_line(),
                     "\"messages\" and \"params\" lines are requests, which only --pattern "
                     "scatter-gather sends; items here are prompt text");
  }
  if (reader.first_textless_line() != 0) {
    throw InputError(reader.name(), reader.first_textless_line(),
                     "this batch line has no text prompt (embeddings, a list prompt or no text "
                     "in the last user message) to use as an item");
  }
}

CallOptions request_call(mpi::Communicator comm, const InputReader* reader, bool stream) {
  std::string requests = reader != nullptr && reader->first_request_line() != 0 ? "1" : "";
  mpi::broadcast_string(requests, comm);
  return CallOptions{.prompts_are_requests = !requests.empty(), .stream = stream};
}

mpi::Work make_work(InputRecord& record, const std::string& item_template, const Options& o,
                    bool envelopes) {
  std::string prompt = item_template.empty()
                           ? std::move(record.prompt)
                           : fill_template(item_template, {{"item", record.prompt}});
  if (!envelopes) return mpi::Work{record.index, std::move(prompt), std::nullopt};
  if (!record.batch) {
    return mpi::Work{record.index,
                     encode_request(PromptRequest{std::move(prompt), std::move(record.messages),
                                                  std::move(record.params)}),
                     std::nullopt};
  }
  nlohmann::json body = std::move(record.body);
  if (!o.model.empty()) body["model"] = o.model;  // an explicit --model names the served model
  if (record.url != kEmbeddingsUrl) {
    if (o.max_tokens && !body.contains("max_tokens") && !body.contains("max_completion_tokens")) {
      body["max_tokens"] = *o.max_tokens;
    }
    if (o.temperature && !body.contains("temperature")) body["temperature"] = *o.temperature;
  }
  return mpi::Work{record.index, encode_request(Request{record.url, std::move(body)}),
                   std::nullopt};
}

}  // namespace swarm::cli
