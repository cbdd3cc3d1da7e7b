// Collectives and MoE token exchange on a system's fabrics.
#include <cstdint>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/topology.hpp>

#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using model::Network;

py::dict level_dict(const model::FabricLevel& l) {
  py::dict d;
  d["name"] = l.name;
  d["fabric"] = l.fabric;
  d["ranks"] = l.ranks;
  d["bandwidth"] = l.bandwidth;
  d["links"] = l.links;
  d["in_network"] = l.in_network;
  d["efficiency"] = l.efficiency;
  d["in_network_efficiency"] = l.in_network_efficiency;
  d["step_latency_s"] = l.step_latency;
  d["a2a_latency_s"] = l.a2a_latency;
  d["a2a_sync_latency_s"] = l.a2a_sync_latency;
  d["dispatch_overhead_s"] = l.dispatch_overhead;
  d["half_size"] = l.half_size;
  return d;
}
}  // namespace

void register_collectives(py::module_& m) {
  py::class_<Network>(m, "Network", "A system's fabrics prepared for collectives (raw; use perfmodel.collective).")
      .def(py::init([](const catalog::Catalog& cat, const std::string& system, int nodes, int ranks_per_chip,
                       std::vector<int> torus_shape, double oversubscription, int switch_radix) {
             return Network(cat, system,
                            model::NetworkOptions{nodes, ranks_per_chip, std::move(torus_shape), oversubscription,
                                                  switch_radix});
           }),
           py::arg("catalog"), py::arg("system"), py::arg("nodes") = 1, py::arg("ranks_per_chip") = 1,
           py::arg("torus_shape") = std::vector<int>{}, py::arg("oversubscription") = 0.0,
           py::arg("switch_radix") = 0)
      .def("describe",
           [](const Network& n) {
             py::list out;
             for (const auto& m : model::describe(n)) {
               py::dict d;
               d["level"] = m.level;
               d["name"] = m.name;
               d["topology"] = m.topology;
               d["endpoints"] = m.endpoints;
               d["instances"] = m.instances;
               d["injection_bandwidth"] = m.injection_bandwidth;
               d["bisection_bandwidth"] = m.bisection_bandwidth;
               d["diameter"] = m.diameter;
               d["mean_hops"] = m.mean_hops;
               d["switch_tiers"] = m.switch_tiers;
               d["oversubscription"] = m.oversubscription;
               d["shape"] = m.shape;
               out.append(d);
             }
             return out;
           })
      .def(
          "measure_graph",
          [](const Network& n, const std::string& level, int max_ranks) {
            const bool out = level == "scale-out";
            if (!out && level != "scale-up") throw InvalidArgument("level: got '" + level + "', expected 'scale-up' or 'scale-out'");
            if (out && !n.scale_out()) throw InvalidArgument("level: " + n.system() + " has no scale-out level here");
            const auto g = model::measure_graph(out ? *n.scale_out() : n.scale_up(), out, max_ranks);
            py::dict d;
            d["vertices"] = g.vertices;
            d["edges"] = g.edges;
            d["connected"] = g.connected;
            d["diameter"] = g.diameter;
            d["mean_hops"] = g.mean_hops;
            d["bisection_bandwidth"] = g.bisection_bandwidth;
            return d;
          },
          py::arg("level") = "scale-up", py::arg("max_ranks") = 4096)
      .def_property_readonly("system", [](const Network& n) { return n.system(); })
      .def_property_readonly("ranks", &Network::ranks)
      .def("levels",
           [](const Network& n) {
             py::list out;
             out.append(level_dict(n.scale_up()));
             if (n.scale_out()) out.append(level_dict(*n.scale_out()));
             return out;
           })
      .def(
          "collective",
          [](const Network& n, const std::string& kind, const py::array_t<double, py::array::c_style | py::array::forcecast>& sizes,
             int ranks, const std::string& algorithm) {
            const auto k = model::collective_from_string(kind);
            const auto a = model::algorithm_from_string(algorithm);
            const auto count = static_cast<std::size_t>(sizes.size());
            py::array_t<double> time(static_cast<py::ssize_t>(count)), algbw(static_cast<py::ssize_t>(count)),
                busbw(static_cast<py::ssize_t>(count));
            std::vector<std::string> algs(count);
            std::vector<bool> via(count);
            const double* ps = sizes.data();
            double *pt = time.mutable_data(), *pa = algbw.mutable_data(), *pb = busbw.mutable_data();
            {
              py::gil_scoped_release release;
              for (std::size_t i = 0; i < count; ++i) {
                const auto r = model::estimate(n, k, Bytes{ps[i]}, ranks, a);
                pt[i] = r.time.value();
                pa[i] = r.algbw.value();
                pb[i] = r.busbw.value();
                algs[i] = std::string(model::to_string(r.algorithm));
                via[i] = r.as_all_reduce;
              }
            }
            return py::make_tuple(time, algbw, busbw, algs, via);
          },
          py::arg("kind"), py::arg("sizes"), py::arg("ranks"), py::arg("algorithm") = "auto")
      .def(
          "moe",
          [](const Network& n, const std::string& phase, const std::string& mode, std::int64_t tokens, std::int64_t hidden,
             int topk, int experts, double bytes_per_element, double scale_bytes_per_token, double imbalance, int ranks) {
            model::MoeExchange op;
            if (phase == "dispatch") op.phase = model::MoeExchange::Phase::dispatch;
            else if (phase == "combine") op.phase = model::MoeExchange::Phase::combine;
            else throw InvalidArgument("phase: got '" + phase + "', expected 'dispatch' or 'combine'");
            if (mode == "normal") op.mode = model::MoeExchange::Mode::normal;
            else if (mode == "low_latency") op.mode = model::MoeExchange::Mode::low_latency;
            else throw InvalidArgument("mode: got '" + mode + "', expected 'normal' or 'low_latency'");
            op.tokens = tokens;
            op.hidden = hidden;
            op.topk = topk;
            op.experts = experts;
            op.bytes_per_element = bytes_per_element;
            op.scale_bytes_per_token = scale_bytes_per_token;
            op.imbalance = imbalance;
            op.ranks = ranks;
            const auto r = model::estimate(n, op);
            py::dict d;
            d["time_s"] = r.time.value();
            d["bytes_per_rank"] = r.bytes_per_rank.value();
            d["remote_bytes_per_rank"] = r.remote_bytes_per_rank.value();
            d["bandwidth"] = r.bandwidth.value();
            d["remote_bandwidth"] = r.remote_bandwidth.value();
            d["node_bandwidth"] = r.node_bandwidth.value();
            d["bottleneck"] = r.bottleneck;
            return d;
          },
          py::arg("phase"), py::arg("mode"), py::arg("tokens"), py::arg("hidden"), py::arg("topk"), py::arg("experts"),
          py::arg("bytes_per_element"), py::arg("scale_bytes_per_token"), py::arg("imbalance"), py::arg("ranks"));
}

}  // namespace perfmodel::python
