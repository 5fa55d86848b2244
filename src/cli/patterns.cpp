#include "patterns.hpp"

#include "drivers.hpp"

namespace swarm::cli {
namespace {

constexpr PatternDriver kPatterns[] = {
    {.name = "broadcast", .validate = validate_broadcast, .run = run_broadcast},
    {.name = "scatter-gather", .validate = validate_scatter_gather, .run = run_scatter_gather},
    {.name = "tree-reduce", .run = run_tree_reduce},
    {.name = "blackboard", .validate = validate_blackboard, .run = run_blackboard},
    {.name = "pipeline", .validate = validate_pipeline, .run = run_pipeline},
    {.name = "embed", .validate = validate_embed, .run = run_embed},
    {.name = "uncertainty", .validate = validate_uncertainty, .run = run_uncertainty},
    {.name = "fan-out-fan-in", .validate = validate_fan_out, .run = run_fan_out},
};

}  // namespace

std::span<const PatternDriver> pattern_drivers() noexcept {
  return kPatterns;
}

const PatternDriver* find_pattern(std::string_view name) noexcept {
  for (const PatternDriver& p : kPatterns) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace swarm::cli
