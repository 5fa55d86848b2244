// Endpoint, parse_hostfile, Response, PoolOptions and AgentPool for Python.
//
// A pool family (a pool and its sub-pools) shares one engine that must be driven from one
// thread at a time, so every engine call holds the family's mutex; the GIL is released first
// (other Python threads, the asyncio loop included, run while the engine works) and the mutex
// taken afterwards, so a thread waiting for the mutex never holds the GIL.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "swarm/hostfile.hpp"
#include "swarm/pool.hpp"
#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace py = pybind11;
using swarm::AgentPool;
using swarm::Endpoint;
using swarm::Response;

namespace {

/// A pool plus the mutex its family shares.
struct PyPool {
  std::shared_ptr<std::mutex> mu;
  AgentPool pool;
};

/// Runs `fn(pool)` with the GIL released and the family's mutex held.
template <class Fn>
auto locked(PyPool& p, Fn&& fn) {
  py::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(*p.mu);
  return fn(p.pool);
}

swarm::CallOptions call_options(std::optional<std::int64_t> max_tokens, bool aggregation) {
  swarm::CallOptions c;
  c.max_tokens = max_tokens;
  c.aggregation = aggregation;
  return c;
}

py::dict usage_dict(const swarm::Usage& u) {
  py::dict d;
  d["prompt_tokens"] = u.prompt_tokens;
  d["completion_tokens"] = u.completion_tokens;
  d["total_tokens"] = u.total_tokens;
  d["reasoning_tokens"] = u.reasoning_tokens;
  return d;
}

void bind_endpoint(py::module_& m) {
  py::class_<Endpoint>(m, "AgentEndpoint", "One agent's address and key=value tags.")
      .def(py::init([](std::string host, int port, std::map<std::string, std::string> tags) {
             if (port < 1 || port > 65535) {
               throw py::value_error("port must be 1 to 65535, not " + std::to_string(port));
             }
             Endpoint e;
             e.host = std::move(host);
             e.port = static_cast<std::uint16_t>(port);
             for (auto& [k, v] : tags) e.tags.emplace(k, v);
             return e;
           }),
           py::arg("host"), py::arg("port") = 8000,
           py::arg("tags") = std::map<std::string, std::string>{})
      .def_readonly("host", &Endpoint::host)
      .def_property_readonly("port", [](const Endpoint& e) { return int{e.port}; })
      .def_property_readonly("tags",
                             [](const Endpoint& e) {
                               py::dict d;
                               for (const auto& [k, v] : e.tags) d[py::str(k)] = v;
                               return d;
                             })
      .def_property_readonly("url", &Endpoint::url)
      .def_readonly("base_path", &Endpoint::base_path)
      .def("__eq__", [](const Endpoint& a, const Endpoint& b) { return a == b; })
      .def("__hash__", [](const Endpoint& e) { return py::hash(py::str(e.url())); })
      .def("__repr__", [](const Endpoint& e) {
        return "AgentEndpoint(" + e.url() + (e.tags.empty() ? "" : ", tags") + ")";
      });

  // The C++ HostfileError carries `path:line: reason`; Python sees it as a ValueError.
  static py::exception<swarm::HostfileError> hostfile_error(m, "HostfileError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const swarm::HostfileError& e) {
      hostfile_error(e.what());
    }
  });
  m.def(
      "parse_hostfile",
      [](const std::filesystem::path& path) {
        std::vector<std::string> warnings;
        auto eps = swarm::parse_hostfile(path, [&](const std::string& w) { warnings.push_back(w); });
        if (!warnings.empty()) {
          auto warn = py::module_::import("warnings").attr("warn");
          for (const auto& w : warnings) warn(w);
        }
        return eps;
      },
      py::arg("path"),
      "Endpoints of a hostfile, in file order; HostfileError (a ValueError) names file:line.");
  m.def(
      "parse_hostfile_text",
      [](const std::string& text, const std::string& source_name) {
        std::istringstream in(text);
        return swarm::parse_hostfile(in, source_name, [](const std::string&) {});
      },
      py::arg("text"), py::arg("source_name") = "<string>");
}

void bind_response(py::module_& m) {
  py::class_<Response>(m, "Response", "One agent call's outcome; a failure is a value.")
      .def(py::init([](bool success, std::string text, std::optional<std::string> error,
                       std::int64_t agent_index) {
             Response r;
             r.success = success;
             r.text = std::move(text);
             r.error = error.value_or("");
             r.kind = success ? swarm::FailureKind::none : swarm::FailureKind::other;
             r.agent_index = agent_index;
             return r;
           }),
           py::arg("success"), py::arg("text") = "", py::arg("error") = py::none(),
           py::arg("agent_index") = -1)
      .def_readwrite("success", &Response::success)
      .def_readwrite("text", &Response::text)
      // The seed's Response.error is None unless the call failed.
      .def_property(
          "error",
          [](const Response& r) -> std::optional<std::string> {
            if (r.error.empty()) return std::nullopt;
            return r.error;
          },
          [](Response& r, std::optional<std::string> e) { r.error = e.value_or(""); })
      .def_readwrite("agent_index", &Response::agent_index)
      .def_property_readonly("kind", [](const Response& r) { return std::string(to_string(r.kind)); })
      .def_readonly("http_status", &Response::http_status)
      .def_property_readonly("latency", [](const Response& r) { return r.latency.count(); })
      .def_readonly("attempts", &Response::attempts)
      .def_property_readonly("usage", [](const Response& r) { return usage_dict(r.usage); })
      .def_readonly("finish_reason", &Response::finish_reason)
      .def_readonly("reasoning", &Response::reasoning)
      .def_readonly("model", &Response::model)
      .def("__eq__",
           [](const Response& a, const Response& b) {
             return a.success == b.success && a.text == b.text && a.error == b.error &&
                    a.agent_index == b.agent_index;
           })
      .def("__repr__", [](const Response& r) {
        py::str text = py::repr(py::str(r.text));
        py::object err = r.error.empty() ? py::object(py::none()) : py::str(r.error);
        return "Response(success=" + std::string(r.success ? "True" : "False") +
               ", text=" + std::string(text) + ", error=" + std::string(py::repr(err)) +
               ", agent_index=" + std::to_string(r.agent_index) + ")";
      });

  py::class_<swarm::Embedding>(m, "Embedding", "One embedding result.")
      .def_readonly("response", &swarm::Embedding::response)
      .def_readonly("vector", &swarm::Embedding::vector)
      .def_property_readonly("success",
                             [](const swarm::Embedding& e) { return e.response.success; });
}

/// Durations as float seconds for Python.
template <class T>
void seconds_property(py::class_<swarm::PoolOptions>& c, const char* name, T swarm::PoolOptions::*f) {
  c.def_property(
      name, [f](const swarm::PoolOptions& o) { return (o.*f).count(); },
      [f](swarm::PoolOptions& o, double s) { o.*f = swarm::Seconds{s}; });
}

void bind_options(py::module_& m) {
  py::class_<swarm::PoolOptions> c(m, "PoolOptions",
                                   "AgentPool settings (defaults with the environment applied).");
  c.def(py::init([] { return swarm::PoolOptions::from_environment(); }))
      .def_readwrite("concurrency", &swarm::PoolOptions::concurrency)
      .def_readwrite("per_agent_concurrency", &swarm::PoolOptions::per_agent_concurrency)
      .def_readwrite("retries", &swarm::PoolOptions::retries)
      .def_property(
          "protocol",
          [](const swarm::PoolOptions& o) { return std::string(swarm::to_string(o.protocol)); },
          [](swarm::PoolOptions& o, const std::string& p) {
            o.protocol = swarm::protocol_from_string(p);
          })
      .def_readwrite("model", &swarm::PoolOptions::model)
      .def_readwrite("system_prompt", &swarm::PoolOptions::system_prompt)
      .def_readwrite("temperature", &swarm::PoolOptions::temperature)
      .def_readwrite("max_tokens", &swarm::PoolOptions::max_tokens)
      .def_readwrite("max_tokens_aggregation", &swarm::PoolOptions::max_tokens_aggregation)
      .def_readwrite("model_max_context", &swarm::PoolOptions::model_max_context)
      .def_readwrite("context_buffer", &swarm::PoolOptions::context_buffer)
      .def_readwrite("dynamic_max_tokens", &swarm::PoolOptions::dynamic_max_tokens)
      .def_readwrite("batch_concurrency", &swarm::PoolOptions::batch_concurrency)
      .def_readwrite("api_key", &swarm::PoolOptions::api_key)
      .def_readwrite("ca_bundle", &swarm::PoolOptions::ca_bundle)
      .def_readwrite("use_proxy", &swarm::PoolOptions::use_proxy)
      .def_readwrite("seed", &swarm::PoolOptions::seed)
      .def_readwrite("cooldown_failures", &swarm::PoolOptions::cooldown_failures)
      .def_readwrite("failover", &swarm::PoolOptions::failover)
      .def_readwrite("failover_attempts", &swarm::PoolOptions::failover_attempts)
      .def_readwrite("hedge_quantile", &swarm::PoolOptions::hedge_quantile)
      .def("validate", &swarm::PoolOptions::validate);
  c.def_property(
      "batch_timeout_cap",
      [](const swarm::PoolOptions& o) -> std::optional<double> {
        if (!o.batch_timeout_cap) return std::nullopt;
        return o.batch_timeout_cap->count();
      },
      [](swarm::PoolOptions& o, std::optional<double> s) {
        o.batch_timeout_cap.reset();
        if (s) o.batch_timeout_cap = swarm::Seconds{*s};
      });
  seconds_property(c, "timeout", &swarm::PoolOptions::timeout);
  seconds_property(c, "connect_timeout", &swarm::PoolOptions::connect_timeout);
  seconds_property(c, "idle_timeout", &swarm::PoolOptions::idle_timeout);
  seconds_property(c, "backoff_base", &swarm::PoolOptions::backoff_base);
  seconds_property(c, "backoff_max", &swarm::PoolOptions::backoff_max);
  seconds_property(c, "timeout_per_sequence", &swarm::PoolOptions::timeout_per_sequence);
  seconds_property(c, "probe_interval", &swarm::PoolOptions::probe_interval);
  seconds_property(c, "give_up_after", &swarm::PoolOptions::give_up_after);
}

void bind_agent_pool(py::module_& m) {
  using MaxTokens = std::optional<std::int64_t>;
  py::class_<PyPool>(m, "CorePool", "swarm::AgentPool (blocking calls; see aswarm.AgentPool).")
      .def(py::init([](std::vector<Endpoint> endpoints, const swarm::PoolOptions& options) {
             return PyPool{std::make_shared<std::mutex>(),
                           AgentPool(std::move(endpoints), options)};
           }),
           py::arg("endpoints"), py::arg("options"))
      .def_property_readonly("size", [](const PyPool& p) { return p.pool.size(); })
      .def("endpoint", [](const PyPool& p, std::size_t i) { return p.pool.endpoint(i); })
      .def(
          "post",
          [](PyPool& p, std::size_t agent, const std::string& prompt, MaxTokens mt, bool agg) {
            if (agent >= p.pool.size()) throw py::index_error("agent index out of range");
            return locked(p, [&](AgentPool& a) { return a.post(agent, prompt, call_options(mt, agg)); });
          },
          py::arg("agent_index"), py::arg("prompt"), py::arg("max_tokens") = py::none(),
          py::arg("aggregation") = false)
      // Many (agent, prompt) pairs in one engine call: what concurrent awaits of apost() are
      // gathered into, so they share the engine's concurrency instead of queueing on the mutex.
      .def(
          "post_many",
          [](PyPool& p, const std::vector<std::size_t>& agents,
             const std::vector<std::string>& prompts, MaxTokens mt, bool agg) {
            if (agents.size() != prompts.size()) {
              throw py::value_error("post_many needs one agent index per prompt");
            }
            for (auto a : agents) {
              if (a >= p.pool.size()) throw py::index_error("agent index out of range");
            }
            return locked(p, [&](AgentPool& a) {
              std::vector<Response> out(prompts.size());
              const auto call = call_options(mt, agg);
              for (std::size_t i = 0; i < prompts.size(); ++i) {
                a.submit(agents[i], prompts[i], [&out, i](Response&& r) { out[i] = std::move(r); },
                         call);
              }
              a.wait_all();
              return out;
            });
          },
          py::arg("agents"), py::arg("prompts"), py::arg("max_tokens") = py::none(),
          py::arg("aggregation") = false)
      .def(
          "send_all",
          [](PyPool& p, const std::vector<std::string>& prompts, MaxTokens mt, bool agg) {
            return locked(p, [&](AgentPool& a) { return a.send_all(prompts, call_options(mt, agg)); });
          },
          py::arg("prompts"), py::arg("max_tokens") = py::none(), py::arg("aggregation") = false)
      .def(
          "broadcast_prompt",
          [](PyPool& p, const std::string& prompt, MaxTokens mt, bool agg) {
            return locked(p,
                          [&](AgentPool& a) { return a.broadcast_prompt(prompt, call_options(mt, agg)); });
          },
          py::arg("prompt"), py::arg("max_tokens") = py::none(), py::arg("aggregation") = false)
      .def(
          "send_all_batched",
          [](PyPool& p, const std::vector<std::string>& prompts, std::size_t batch_size,
             MaxTokens mt) {
            return locked(p, [&](AgentPool& a) {
              return a.send_all_batched(prompts, batch_size, call_options(mt, false));
            });
          },
          py::arg("prompts"), py::arg("batch_size") = 1024, py::arg("max_tokens") = py::none())
      .def(
          "embed_all",
          [](PyPool& p, const std::vector<std::string>& texts, std::size_t batch_size) {
            return locked(p, [&](AgentPool& a) { return a.embed_all(texts, batch_size); });
          },
          py::arg("texts"), py::arg("batch_size") = 1024)
      .def(
          "get_all",
          [](PyPool& p, const std::string& path, double timeout) {
            return locked(p, [&](AgentPool& a) { return a.get_all(path, swarm::Seconds{timeout}); });
          },
          py::arg("path"), py::arg("timeout") = 2.0)
      .def("model", [](PyPool& p) { return locked(p, [](AgentPool& a) { return a.model(); }); })
      .def("by_tag",
           [](const PyPool& p, const std::string& k, const std::string& v) {
             return PyPool{p.mu, p.pool.by_tag(k, v)};
           })
      .def("select",
           [](const PyPool& p, const std::vector<std::size_t>& idx) {
             return PyPool{p.mu, p.pool.select(idx)};
           })
      .def("slice",
           [](const PyPool& p, std::size_t start, std::size_t stop) {
             return PyPool{p.mu, p.pool.slice(start, stop)};
           })
      .def("sample", [](const PyPool& p, std::size_t n, std::uint64_t seed) {
        return PyPool{p.mu, p.pool.sample(n, seed)};
      });
}

}  // namespace

void bind_pool(py::module_& m) {
  bind_endpoint(m);
  bind_response(m);
  bind_options(m);
  bind_agent_pool(m);
}
