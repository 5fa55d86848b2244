// Sub-pools. They copy only an index map; the engine, its caps, its connections and the model
// metadata stay shared, and index k of a sub-pool always resolves through the map to the k-th
// endpoint of the sub-pool (never the parent's k-th).

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

#include "pool_shared.hpp"

namespace swarm {

AgentPool AgentPool::by_tag(std::string_view key, std::string_view value) const {
  std::vector<std::uint32_t> map;
  for (const auto index : *map_) {
    const auto& tags = shared_->engine.endpoints()[index].tags;
    const auto it = tags.find(key);
    if (it != tags.end() && it->second == value) map.push_back(index);
  }
  return AgentPool(shared_, std::move(map));
}

AgentPool AgentPool::select(std::span<const std::size_t> indices) const {
  std::vector<std::uint32_t> map;
  map.reserve(indices.size());
  for (const auto i : indices) map.push_back(engine_index(i));
  return AgentPool(shared_, std::move(map));
}

AgentPool AgentPool::slice(std::size_t start, std::size_t stop) const {
  start = std::min(start, size());
  stop = std::clamp(stop, start, size());
  return AgentPool(shared_, std::vector<std::uint32_t>(map_->begin() + static_cast<long>(start),
                                                       map_->begin() + static_cast<long>(stop)));
}

AgentPool AgentPool::sample(std::size_t n, std::uint64_t seed) const {
  n = std::min(n, size());
  std::vector<std::uint32_t> pool = *map_;
  // Partial Fisher-Yates with an explicitly seeded engine: the same seed picks the same agents
  // on every rank and every run (std::shuffle's algorithm is implementation-defined).
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t span = pool.size() - i;
    const std::size_t j = i + static_cast<std::size_t>(rng() % span);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(n);
  return AgentPool(shared_, std::move(pool));
}

}  // namespace swarm
