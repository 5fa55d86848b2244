#pragma once
// The sub-pool flags of every pattern (--select-tag, --exclude-agents, --select-agents, --slice,
// --sample) and the score functions of --aggregate best-of/top-k (--score).

#include <cstddef>
#include <string>
#include <utility>

#include "options.hpp"
#include "swarm/aggregators.hpp"

namespace swarm::mpi {
class Swarm;
}  // namespace swarm::mpi

namespace swarm::cli {

/// --slice START:STOP over `size` agents as Python's [start:stop]: either bound may be empty or
/// negative (counted from the end); the result is clamped to [0, size]. Throws
/// std::invalid_argument naming the flag if `spec` is not of that form.
std::pair<std::size_t, std::size_t> parse_slice(const std::string& spec, std::size_t size);

/// Collective: the view of `swarm` the flags select, in the order of SelectFlags (tag, exclude,
/// select, slice, sample with `seed`); `swarm` itself when none is given. Throws
/// std::invalid_argument (the same on every rank) for an agent index out of range or an empty
/// selection.
mpi::Swarm select_agents(const mpi::Swarm& swarm, const SelectFlags& flags, std::uint64_t seed);

/// The score of --score SPEC: "length" (code points of the text), "json:KEY" (the number at KEY
/// of the text's JSON object), "regex:PATTERN" (the number in the first capture group of
/// PATTERN's first match, RE2 syntax). An answer without one scores NaN (ranked last). Throws
/// std::invalid_argument for an unknown SPEC or a pattern RE2 rejects or that has no group.
ScoreFn score_function(const std::string& spec);

/// AggregateParams for the flags (the score function built from --score when given).
AggregateParams aggregate_params(const AggregateFlags& flags);

}  // namespace swarm::cli
