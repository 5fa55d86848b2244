#include "wire.hpp"

namespace swarm::mpi::detail {

void put(ByteWriter& w, const Response& r) {
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
  w.put<std::uint8_t>(static_cast<std::uint8_t>(r.kind));
  w.put_string(r.finish_reason);
  w.put<std::int64_t>(r.usage.reasoning_tokens);
  w.put_string(r.reasoning);
  w.put_string(r.response_id);
  w.put_string(r.model);
  w.put_string(r.body);
  w.put<double>(r.ttft.count());
  w.put<std::uint64_t>(r.itl.size());
  for (const float gap : r.itl) w.put<float>(gap);
}

void get(ByteReader& in, Response& r) {
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
  r.kind = static_cast<FailureKind>(in.get<std::uint8_t>());
  r.finish_reason = in.get_string();
  r.usage.reasoning_tokens = in.get<std::int64_t>();
  r.reasoning = in.get_string();
  r.response_id = in.get_string();
  r.model = in.get_string();
  r.body = in.get_string();
  r.ttft = std::chrono::duration<double>(in.get<double>());
  r.itl.clear();
  // No resize from the count: a corrupt count must end in get()'s logic_error, not bad_alloc.
  for (auto n = in.get<std::uint64_t>(); n > 0; --n) r.itl.push_back(in.get<float>());
}

void put(ByteWriter& w, const Work& item) {
  w.put<std::uint64_t>(item.index);
  w.put<std::int64_t>(item.max_tokens.value_or(-1));
  w.put_string(item.prompt);
}

void get(ByteReader& in, Work& item) {
  item.index = in.get<std::uint64_t>();
  item.max_tokens.reset();
  if (const auto m = in.get<std::int64_t>(); m >= 0) item.max_tokens = m;
  item.prompt = in.get_string();
}

void put(ByteWriter& w, const Endpoint& e) {
  w.put_string(e.host);
  w.put<std::uint16_t>(e.port);
  w.put<std::uint8_t>(static_cast<std::uint8_t>(e.scheme));
  w.put_string(e.base_path);
  w.put<std::uint64_t>(e.tags.size());
  for (const auto& [key, value] : e.tags) {
    w.put_string(key);
    w.put_string(value);
  }
}

void get(ByteReader& in, Endpoint& e) {
  e.host = in.get_string();
  e.port = in.get<std::uint16_t>();
  e.scheme = static_cast<Scheme>(in.get<std::uint8_t>());
  e.base_path = in.get_string();
  e.tags.clear();
  for (auto n = in.get<std::uint64_t>(); n > 0; --n) {
    std::string key = in.get_string();
    e.tags.emplace(std::move(key), in.get_string());
  }
}

void put(ByteWriter& w, const BoardEntry& e) {
  w.put<std::uint32_t>(e.round);
  w.put<std::uint32_t>(e.section);
  w.put<std::int64_t>(e.agent);
  w.put<std::uint32_t>(e.seq);
  w.put_string(e.text);
}

void get(ByteReader& in, BoardEntry& e) {
  e.round = in.get<std::uint32_t>();
  e.section = in.get<std::uint32_t>();
  e.agent = in.get<std::int64_t>();
  e.seq = in.get<std::uint32_t>();
  e.text = in.get_string();
}

void put(ByteWriter& w, const Outcome& o) {
  w.put<std::uint8_t>(o.success ? 1 : 0);
  w.put_string(o.output);
  w.put_string(o.error);
}

void get(ByteReader& in, Outcome& o) {
  o.success = in.get<std::uint8_t>() != 0;
  o.output = in.get_string();
  o.error = in.get_string();
}

void put(ByteWriter& w, const FarmTask& t) {
  w.put<std::uint64_t>(t.id);
  w.put<std::uint32_t>(t.priority);
  w.put<std::uint64_t>(t.targets.size());
  for (const auto& target : t.targets) {
    w.put<std::uint64_t>(target.agent);
    w.put<std::uint32_t>(target.pos);
  }
  w.put_string(t.prompt);
}

void get(ByteReader& in, FarmTask& t) {
  t.id = in.get<std::uint64_t>();
  t.priority = in.get<std::uint32_t>();
  t.targets.clear();
  for (auto n = in.get<std::uint64_t>(); n > 0; --n) {
    FarmTarget& target = t.targets.emplace_back();
    target.agent = in.get<std::uint64_t>();
    target.pos = in.get<std::uint32_t>();
  }
  t.prompt = in.get_string();
}

void put(ByteWriter& w, const FarmResult& r) {
  w.put<std::uint64_t>(r.id);
  w.put<std::uint32_t>(r.pos);
  put(w, r.response);
}

void get(ByteReader& in, FarmResult& r) {
  r.id = in.get<std::uint64_t>();
  r.pos = in.get<std::uint32_t>();
  get(in, r.response);
}

void put(ByteWriter& w, const Answer& a) {
  w.put<std::uint64_t>(a.seq);
  put(w, a.response);
}

void get(ByteReader& in, Answer& a) {
  a.seq = in.get<std::uint64_t>();
  get(in, a.response);
}

void put(ByteWriter& w, const Returned& r) {
  put(w, r.work);
  put(w, r.last);
}

void get(ByteReader& in, Returned& r) {
  get(in, r.work);
  get(in, r.last);
}

void put(ByteWriter& w, const Chunk& c) {
  w.put<std::uint64_t>(c.backlog);
  put(w, c.work);
}

void get(ByteReader& in, Chunk& c) {
  c.backlog = in.get<std::uint64_t>();
  get(in, c.work);
}

std::vector<char> pack_buckets(const std::vector<std::vector<Work>>& buckets,
                               std::vector<std::size_t>& counts) {
  ByteWriter w;
  counts.clear();
  for (const auto& bucket : buckets) {
    const std::size_t before = w.size();
    for (const auto& item : bucket) put(w, item);
    counts.push_back(w.size() - before);
  }
  return std::move(w.bytes());
}

}  // namespace swarm::mpi::detail
