// Benchmark (issue 8): the streaming pipeline (run_pipeline_items) against stage-by-stage
// execution of the same three stages. Reported, never asserted.
//
//   mpiexec -n R build/bench/bench_pipeline HOSTFILE [items=1000] [repeats=3]
//
// The stages s1, s2, s3 use the agents tagged role=s1, role=s2, role=s3 (bench/pipeline_bench.sh
// starts a mock with those roles, one of them slower). Every agent of a stage answers every item
// (the pipeline's semantics) and the stage keeps the first answer, so a stage's capacity in items
// per second is set by its agents' latency and server-side concurrency, not by how many it has.
//
// Stage-by-stage: s1 over all items, then s2 over s1's outputs, then s3 over s2's; each is a
// single-stage run_pipeline_items, and the slowest of the three is what streaming should approach.
// Streaming: one run_pipeline_items over the three stages. Each figure is the median of `repeats`
// runs; one short streaming run first opens the connections and reads /v1/models.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "swarm/mpi/environment.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/swarm.hpp"

namespace {

using swarm::mpi::ItemsResult;
using swarm::mpi::Stage;

constexpr int kStages = 3;

Stage tagged_stage(int k) {
  Stage s;
  s.name = fmt::format("s{}", k + 1);
  s.prompt_template = s.name + " {input}";
  s.tag_key = "role";
  s.tag_value = s.name;
  s.transform = swarm::mpi::transforms::first();  // keeps prompts short from stage to stage
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Wall time of one collective run, from a common start (barrier) to the root's return.
template <typename Run>
double timed(const swarm::mpi::Communicator& world, Run&& run) {
  world.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::string> outputs(const ItemsResult& r, std::size_t& failed) {
  std::vector<std::string> out;
  for (const auto& item : r.items) {
    if (!item.success) ++failed;
    out.push_back(item.output);  // a failed item goes on as "" and fails again downstream
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator world;
  if (argc < 2) {
    if (world.is_root()) fmt::print(stderr, "usage: bench_pipeline HOSTFILE [items] [repeats]\n");
    return 2;
  }
  const long n_items = argc > 2 ? std::atol(argv[2]) : 1000;
  const int repeats = std::max(1, argc > 3 ? std::atoi(argv[3]) : 3);
  auto swarm = swarm::mpi::Swarm::from_hostfile(world, argv[1]);
  const swarm::CallOptions call{.max_tokens = 16};

  std::vector<Stage> stages;
  std::vector<std::size_t> agents;  // by_tag on every rank: selections are made collectively
  for (int k = 0; k < kStages; ++k) {
    stages.push_back(tagged_stage(k));
    agents.push_back(swarm.by_tag(stages[k].tag_key, stages[k].tag_value).size());
  }
  std::vector<std::string> items;
  if (world.is_root()) {
    for (long i = 0; i < n_items; ++i) items.push_back(fmt::format("item {}", i));
  }
  const auto stream = [&](const std::vector<std::string>& in) {
    return swarm::mpi::run_pipeline_items(swarm, stages, in, {.reuse_agents = false, .call = call});
  };

  const auto warm = static_cast<std::ptrdiff_t>(std::min<std::size_t>(items.size(), 32));
  stream(std::vector<std::string>(items.begin(), items.begin() + warm));  // root: 32 items

  std::vector<std::vector<double>> alone(kStages);
  std::vector<double> by_stage;
  std::vector<double> streaming;
  std::size_t failed_by_stage = 0;
  std::size_t failed_streaming = 0;
  std::size_t mismatched = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    std::vector<std::string> flow = items;  // significant on the root only
    double total = 0.0;
    for (int k = 0; k < kStages; ++k) {
      ItemsResult r;
      const double t = timed(world, [&] {
        r = swarm::mpi::run_pipeline_items(swarm, {stages[k]}, flow,
                                           {.reuse_agents = false, .call = call});
      });
      alone[k].push_back(t);
      total += t;
      std::size_t failed = 0;
      flow = outputs(r, failed);
      if (k == kStages - 1) failed_by_stage += failed;
    }
    by_stage.push_back(total);

    ItemsResult r;
    streaming.push_back(timed(world, [&] { r = stream(items); }));
    const auto out = outputs(r, failed_streaming);
    for (std::size_t i = 0; i < out.size(); ++i) mismatched += out[i] != flow[i] ? 1 : 0;
  }

  if (world.is_root()) {
    std::vector<double> stage_s;
    for (const auto& a : alone) stage_s.push_back(median(a));
    const auto slowest = std::max_element(stage_s.begin(), stage_s.end()) - stage_s.begin();
    const double s = median(streaming);
    const double b = median(by_stage);
    fmt::print("pipeline: {} items, {} stages, {} rank(s), median of {} run(s)\n", n_items, kStages,
               world.size(), repeats);
    for (int k = 0; k < kStages; ++k) {
      fmt::print("  stage {} alone    {:7.3f} s  ({} agents){}\n", stages[k].name, stage_s[k],
                 agents[k], k == slowest ? "  <- slowest" : "");
    }
    fmt::print("  stage-by-stage    {:7.3f} s\n", b);
    fmt::print("  streaming         {:7.3f} s\n", s);
    fmt::print("  streaming / slowest stage alone  {:.2f}  (target <= 1.3)\n",
               s / stage_s[slowest]);
    fmt::print("  speed-up, stage-by-stage / streaming  {:.2f}x\n", b / s);
    fmt::print("  failed items: stage-by-stage {}, streaming {}; outputs differing {}\n",
               failed_by_stage, failed_streaming, mismatched);
  }
  return 0;
}
