// libFuzzer target: the hostfile parser. Any byte string is either endpoints or a HostfileError;
// what it accepts must survive the trip through format_hostfile() in both forms (the seed's tab
// format is what aswarm-health writes) and read back identically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "swarm/hostfile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<swarm::Endpoint> endpoints;
  try {
    std::istringstream in(text);
    endpoints = swarm::parse_hostfile(in, "fuzz", [](const std::string&) {});
  } catch (const swarm::HostfileError&) {
    return 0;
  }
  for (const auto format : {swarm::HostfileFormat::columns, swarm::HostfileFormat::seed_tabs}) {
    std::istringstream again(swarm::format_hostfile(endpoints, format));
    const auto back = swarm::parse_hostfile(again, "formatted", [](const std::string&) {});
    if (back != endpoints) std::abort();  // the round trip changed an endpoint
  }
  return 0;
}
