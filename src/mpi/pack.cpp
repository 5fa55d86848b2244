#include "pack.hpp"

namespace swarm::mpi::detail {

void put_response(ByteWriter& w, const Response& r) {
  w.put<std::uint8_t>(r.success ? 1 : 0);
  w.put<std::int64_t>(r.agent_index);
  w.put<std::int32_t>(r.http_status);
  w.put<double>(r.latency.count());
  w.put<std::int32_t>(r.attempts);
  w.put<std::int64_t>(r.usage.prompt_tokens);
  w.put<std::int64_t>(r.usage.completion_tokens);
  w.put<std::int64_t>(r.usage.total_tokens);
  w.put_string(r.text);
  w.put_string(r.error);
  w.put_string(r.finish_reason);
}

Response get_response(ByteReader& in) {
  Response r;
  r.success = in.get<std::uint8_t>() != 0;
  r.agent_index = in.get<std::int64_t>();
  r.http_status = in.get<std::int32_t>();
  r.latency = std::chrono::duration<double>(in.get<double>());
  r.attempts = in.get<std::int32_t>();
  r.usage.prompt_tokens = in.get<std::int64_t>();
  r.usage.completion_tokens = in.get<std::int64_t>();
  r.usage.total_tokens = in.get<std::int64_t>();
  r.text = in.get_string();
  r.error = in.get_string();
  r.finish_reason = in.get_string();
  return r;
}

void put_work(ByteWriter& w, const Work& item) {
  w.put<std::uint64_t>(item.index);
  w.put<std::int64_t>(item.max_tokens.value_or(-1));
  w.put_string(item.prompt);
}

Work get_work(ByteReader& in) {
  Work item;
  item.index = in.get<std::uint64_t>();
  if (const auto m = in.get<std::int64_t>(); m >= 0) item.max_tokens = m;
  item.prompt = in.get_string();
  return item;
}

}  // namespace swarm::mpi::detail
