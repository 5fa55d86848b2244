#pragma once
/// @file record_hash.hpp
/// The input fingerprint of an output line: a 64-bit hash of everything in an input record
/// that shapes its request (id, prompt, messages, params; for batch lines custom_id, url and
/// body), over a canonical form (the parsed JSON re-serialised with sorted keys), so spacing
/// and key order in the input file do not matter but any edit does. Every output line carries
/// it ("input_hash"), so --resume can tell an edited prompt or another input from the one the
/// output was made from. XXH3 (libxxhash): stable across builds and machines, unlike
/// std::hash, because the value is stored in files.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::cli {

struct InputRecord;

/// The fingerprint of `record`; never 0 (0 means "no fingerprint").
std::uint64_t record_hash(const InputRecord& record);

/// XXH3 of `text` (never 0): the blackboard's log names the --config it was made with.
std::uint64_t text_hash(std::string_view text);

/// The 16 lower-case hex digits an output line stores.
std::string format_record_hash(std::uint64_t hash);

/// Reads format_record_hash()'s text; nullopt if it is not 16 hex digits (or is 0).
std::optional<std::uint64_t> parse_record_hash(std::string_view text);

}  // namespace swarm::cli
