#pragma once
// How scatter-gather turns input records into requests: plain prompts travel as their text (the
// pool builds the body, as before); batch lines and prompt lines with "messages" or "params"
// travel as request envelopes (swarm::encode_request) so that what the user wrote is what the
// server gets. The passthrough rules are in README.md ("Request passthrough").

#include <string>

#include "io/input.hpp"
#include "options.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/work.hpp"
#include "swarm/pool.hpp"

namespace swarm::cli {

/// Root, after validate(): refuses flag and input combinations that could not be sent as
/// written (a --prompt template with batch or "messages" lines, --batch-size with request
/// lines, "messages" without --protocol chat). Throws InputError naming the file and line.
void check_request_input(const Options& options, const InputReader& reader,
                         const std::string& item_template);

/// Root, after validate(), for inputs whose lines are used as prompt text (pipeline items,
/// tree-reduce items): refuses lines with "messages" or "params", which would otherwise be
/// dropped silently, and batch lines without text (embeddings, list prompts, images only).
/// Throws InputError naming the file and line.
void check_text_items(const InputReader& reader);

/// Collective: the CallOptions every rank gives the pattern; prompts_are_requests when the
/// root's input has request lines (`reader` is the root's, nullptr elsewhere).
CallOptions request_call(mpi::Communicator comm, const InputReader* reader, bool stream = false);

/// Root: the Work of `record`, moving its prompt or body out. With `envelopes`, batch lines get
/// the CLI's documented fills (--model replaces "model"; --max-tokens and --temperature are
/// added only where the body has none; embeddings get neither) and prompt lines carry their
/// messages and params; without, the prompt text (through `item_template` if not empty).
mpi::Work make_work(InputRecord& record, const std::string& item_template, const Options& options,
                    bool envelopes);

}  // namespace swarm::cli
