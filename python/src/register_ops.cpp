// Operator estimates and rooflines: a Device per chip, scalar calls returning dicts and column
// calls over numpy arrays that run with the GIL released.
#include <cstdint>
#include <optional>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/model/roofline.hpp>
#include <libperfmodel/units/parse.hpp>
#include <libperfmodel/workload/ops.hpp>

#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using hw::Precision;
using model::Device;
using model::OpEstimate;
using workload::Attention;
using workload::Elementwise;
using workload::Gemm;

using I64Array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

hw::Figure<double> override_fraction(const py::handle& v, const std::string& key) {
  const double d = py::cast<double>(v);
  if (!(d > 0.0 && d <= 1.2)) {
    throw InvalidArgument("efficiency override '" + key + "': got " + std::to_string(d) + ", expected a fraction in (0, 1.2]");
  }
  return hw::Figure<double>::known_value(d, {"user override", hw::Confidence::derived, "set by the caller", ""}, key);
}

/// The family policy with the caller's overrides applied; unknown keys are an error.
hw::EfficiencyPolicy apply_overrides(hw::EfficiencyPolicy p, const py::dict& o) {
  for (auto [k, v] : o) {
    const std::string key = py::cast<std::string>(k);
    if (key == "matrix") p.matrix = override_fraction(v, key);
    else if (key == "matrix_microbenchmark") p.matrix_microbenchmark = override_fraction(v, key);
    else if (key == "attention") p.attention = override_fraction(v, key);
    else if (key == "attention_prefill") p.attention_prefill = override_fraction(v, key);
    else if (key == "attention_backward") p.attention_backward = override_fraction(v, key);
    else if (key == "vector") p.vector = override_fraction(v, key);
    else if (key == "memory") p.memory = override_fraction(v, key);
    else if (key == "mla_decode_memory") p.mla_decode_memory = override_fraction(v, key);
    else if (key == "launch_overhead") {
      Seconds t{};
      if (py::isinstance<py::str>(v)) {
        t = units::parse_as<units::dim::time>(py::cast<std::string>(v));
      } else {
        t = Seconds{py::cast<double>(v)};
      }
      if (!(t.value() >= 0.0 && t.value() < 1.0)) {
        throw InvalidArgument("efficiency override 'launch_overhead': expected a time in [0, 1 s), got " + std::to_string(t.value()) + " s");
      }
      p.launch_overhead = hw::Figure<Seconds>::known_value(t, {"user override", hw::Confidence::derived, "set by the caller", ""}, key);
    } else if (key == "epilogue_overlap") {
      if (!py::isinstance<py::bool_>(v)) throw InvalidArgument("efficiency override 'epilogue_overlap': expected True or False");
      p.epilogue_overlap = hw::Figure<bool>::known_value(py::cast<bool>(v), {"user override", hw::Confidence::derived, "set by the caller", ""}, key);
    } else if (key == "mla_decode_rows") {
      if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v) || py::cast<long long>(v) < 1 || py::cast<long long>(v) > 4096) {
        throw InvalidArgument("efficiency override 'mla_decode_rows': expected an integer in [1, 4096], got " +
                              std::string(py::repr(v)));
      }
      p.mla_decode_rows = hw::Figure<double>::known_value(py::cast<double>(v), {"user override", hw::Confidence::derived, "set by the caller", ""}, key);
    } else if (key == "swap_ab_rows") {
      if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v) || py::cast<long long>(v) < 1 || py::cast<long long>(v) > 256) {
        throw InvalidArgument("efficiency override 'swap_ab_rows': expected an integer in [1, 256], got " + std::string(py::repr(v)));
      }
      p.swap_ab_rows = hw::Figure<double>::known_value(py::cast<double>(v), {"user override", hw::Confidence::derived, "set by the caller", ""}, key);
    } else if (key == "tile_shapes") {
      p.tile_shapes.clear();
      for (auto pair : py::cast<py::sequence>(v)) {
        auto s = py::cast<py::sequence>(pair);
        if (s.size() != 2) throw InvalidArgument("efficiency override 'tile_shapes': expected [m, n] pairs");
        p.tile_shapes.push_back({py::cast<int>(s[0]), py::cast<int>(s[1])});
      }
    } else {
      throw InvalidArgument("efficiency override: unknown key '" + key +
                            "'; expected matrix, matrix_microbenchmark, attention, attention_prefill, attention_backward, vector, memory, "
                            "mla_decode_memory, launch_overhead, epilogue_overlap, mla_decode_rows, swap_ab_rows or tile_shapes");
    }
  }
  if (!o.empty()) p.id += "+overrides";
  return p;
}

py::dict to_dict(const OpEstimate& e) {
  py::dict d;
  d["time_s"] = e.time.value();
  d["compute_time_s"] = e.compute_time.value();
  d["memory_time_s"] = e.memory_time.value();
  d["overhead_s"] = e.overhead.value();
  d["flops"] = e.flops.value();
  d["hbm_bytes"] = e.hbm_bytes.value();
  d["onchip_bytes"] = e.onchip_bytes.value();
  d["intensity"] = e.intensity.value();
  d["achieved_flops"] = e.achieved.value();
  d["achieved_bandwidth"] = e.achieved_bandwidth.value();
  d["peak_flops"] = e.peak.value();
  d["fraction_of_peak"] = e.fraction_of_peak;
  d["wave_efficiency"] = e.wave_efficiency;
  d["tile"] = e.tile_m > 0 ? py::object(py::make_tuple(e.tile_m, e.tile_n)) : py::object(py::none());
  d["bound"] = std::string(model::to_string(e.bound));
  return d;
}

template <class T>
py::array_t<T> empty(std::size_t n) {
  return py::array_t<T>(static_cast<py::ssize_t>(n));
}

template <class T>
py::dict figure_dict(const hw::Figure<T>& f) {
  py::dict d;
  d["value"] = f.known() ? py::cast(f.value_or(T{})) : py::object(py::none());
  d["source"] = f.provenance().source;
  d["derived_from"] = f.provenance().derived_from;
  return d;
}
}  // namespace

void register_ops(py::module_& m) {
  py::class_<Device>(m, "Device", "A chip prepared for operator estimates (raw; use perfmodel.operators).")
      .def(py::init([](const catalog::Catalog& cat, const std::string& chip, const py::dict& overrides) {
             const hw::Chip& c = cat.chip(chip);
             return Device(c, apply_overrides(cat.efficiency(c.family), overrides));
           }),
           py::arg("catalog"), py::arg("chip"), py::arg("overrides") = py::dict())
      .def_property_readonly("chip", [](const Device& d) { return d.chip().id; })
      .def_property_readonly("family", [](const Device& d) { return d.chip().family; })
      .def("policy",
           [](const Device& d) {
             const auto& p = d.policy();
             const auto& f = d.fractions();
             py::dict out;
             out["id"] = p.id;
             out["name"] = p.name;
             out["matrix"] = f.matrix;
             out["matrix_microbenchmark"] = f.matrix_microbenchmark;
             out["attention"] = f.attention;
             out["attention_prefill"] = f.attention_prefill;
             out["attention_backward"] = f.attention_backward;
             out["vector"] = f.vector;
             out["memory"] = f.memory;
             out["launch_overhead_s"] = f.launch_overhead_s;
             out["fused_mla_prologue"] = f.fused_mla_prologue;
             out["epilogue_overlap"] = f.epilogue_overlap;
             out["mla_decode_rows"] = static_cast<int>(f.mla_decode_rows);
             out["mla_decode_memory"] = f.mla_decode_memory;
             out["swap_ab_rows"] = static_cast<int>(f.swap_ab_rows);
             py::list tiles;
             for (const auto& t : p.tile_shapes) tiles.append(py::make_tuple(t.m, t.n));
             out["tile_shapes"] = tiles;
             py::dict src;
             src["matrix"] = figure_dict(p.matrix);
             src["matrix_microbenchmark"] = figure_dict(p.matrix_microbenchmark);
             src["attention"] = figure_dict(p.attention);
             src["attention_prefill"] = figure_dict(p.attention_prefill);
             src["attention_backward"] = figure_dict(p.attention_backward);
             src["vector"] = figure_dict(p.vector);
             src["memory"] = figure_dict(p.memory);
             src["fused_mla_prologue"] = figure_dict(p.fused_mla_prologue);
             src["epilogue_overlap"] = figure_dict(p.epilogue_overlap);
             src["mla_decode_rows"] = figure_dict(p.mla_decode_rows);
             src["mla_decode_memory"] = figure_dict(p.mla_decode_memory);
             src["swap_ab_rows"] = figure_dict(p.swap_ab_rows);
             out["sources"] = src;
             return out;
           })
      .def("supports", [](const Device& d, const std::string& p) { return d.supports(hw::precision_from_string(p)); })
      .def("peak", [](const Device& d, const std::string& p) { return d.matrix_peak(hw::precision_from_string(p)).value(); })
      .def_property_readonly("memory_bandwidth", [](const Device& d) { return d.memory_bandwidth().value(); })
      .def_property_readonly("vector_peak", [](const Device& d) {
        const auto v = d.vector_peak();
        return v ? v->value() : 0.0;
      })
      .def_property_readonly("compute_units", [](const Device& d) { return d.compute_units(); })
      .def(
          "gemm",
          [](const Device& d, std::int64_t mm, std::int64_t n, std::int64_t k, std::int64_t batch,
             const std::string& input, const std::optional<std::string>& output, bool microbenchmark) {
            const Precision in = hw::precision_from_string(input);
            Gemm op{mm, n, k, batch, in, output ? hw::precision_from_string(*output) : workload::default_output(in),
                    microbenchmark ? Gemm::Kernel::microbenchmark : Gemm::Kernel::library};
            return to_dict(model::estimate(d, op));
          },
          py::arg("m"), py::arg("n"), py::arg("k"), py::arg("batch") = 1, py::arg("input") = "bf16",
          py::arg("output") = py::none(), py::arg("microbenchmark") = false)
      .def(
          "gemm_columns",
          [](const Device& d, const I64Array& mm, const I64Array& n, const I64Array& k, const I64Array& batch,
             const std::string& input, const std::optional<std::string>& output) {
            const std::size_t count = static_cast<std::size_t>(mm.size());
            if (n.size() != mm.size() || k.size() != mm.size() || batch.size() != mm.size()) {
              throw InvalidArgument("gemm: m, n, k and batch arrays must have the same length");
            }
            const Precision in = hw::precision_from_string(input);
            const Precision out = output ? hw::precision_from_string(*output) : workload::default_output(in);
            auto time = empty<double>(count), flops = empty<double>(count), bytes = empty<double>(count);
            auto bound = empty<std::int8_t>(count);
            const std::int64_t *pm = mm.data(), *pn = n.data(), *pk = k.data(), *pb = batch.data();
            double *pt = time.mutable_data(), *pf = flops.mutable_data(), *py_ = bytes.mutable_data();
            std::int8_t* pbound = bound.mutable_data();
            {
              py::gil_scoped_release release;
              model::estimate_gemm_columns(d, count, pm, pn, pk, pb, in, out, pt, pf, py_, pbound);
            }
            return py::make_tuple(time, flops, bytes, bound);
          },
          py::arg("m"), py::arg("n"), py::arg("k"), py::arg("batch"), py::arg("input") = "bf16",
          py::arg("output") = py::none())
      .def(
          "attention",
          [](const Device& d, const std::string& phase, const std::string& variant, std::int64_t batch,
             std::int64_t q_len, std::int64_t kv_len, std::int64_t heads, std::optional<std::int64_t> kv_heads,
             std::int64_t head_dim, std::optional<std::int64_t> head_dim_v, bool causal, const std::string& dtype,
             const std::optional<std::string>& kv_dtype, std::int64_t kv_lora_rank, std::int64_t rope_dim) {
            Attention::Phase ph{};
            if (phase == "prefill") ph = Attention::Phase::prefill;
            else if (phase == "decode") ph = Attention::Phase::decode;
            else throw InvalidArgument("attention: phase: got '" + phase + "', expected 'prefill' or 'decode'");
            Attention a;
            if (kv_heads && *kv_heads < 1) {
              throw InvalidArgument("attention: kv_heads must be a positive integer, got " + std::to_string(*kv_heads));
            }
            if (variant == "mla") {
              for (auto [name, v] : {std::pair{"kv_lora_rank", kv_lora_rank}, std::pair{"rope_dim", rope_dim}}) {
                if (v < 1) {
                  throw InvalidArgument(std::string("attention: ") + name + " must be a positive integer, got " +
                                        std::to_string(v));
                }
              }
              a = Attention::mla(ph, batch, q_len, kv_len, heads, kv_lora_rank, rope_dim, head_dim,
                                 head_dim_v.value_or(head_dim));
            } else if (variant == "mha" || variant == "gqa" || variant == "mqa") {
              const std::int64_t kvh = variant == "mha" ? heads : variant == "mqa" ? 1 : kv_heads.value_or(heads);
              if (variant == "gqa" && !kv_heads) throw InvalidArgument("attention: variant 'gqa' needs kv_heads");
              a = Attention::gqa(ph, batch, q_len, kv_len, heads, kvh, head_dim);
              a.head_dim_v = head_dim_v.value_or(head_dim);
            } else {
              throw InvalidArgument("attention: variant: got '" + variant + "', expected 'mha', 'gqa', 'mqa' or 'mla'");
            }
            a.causal = causal;
            a.compute = hw::precision_from_string(dtype);
            a.kv_cache = kv_dtype ? hw::precision_from_string(*kv_dtype) : a.compute;
            return to_dict(model::estimate(d, a));
          },
          py::arg("phase"), py::arg("variant"), py::arg("batch"), py::arg("q_len"), py::arg("kv_len"),
          py::arg("heads"), py::arg("kv_heads") = py::none(), py::arg("head_dim") = 128,
          py::arg("head_dim_v") = py::none(), py::arg("causal") = true, py::arg("dtype") = "bf16",
          py::arg("kv_dtype") = py::none(), py::arg("kv_lora_rank") = 512, py::arg("rope_dim") = 64)
      .def(
          "elementwise",
          [](const Device& d, const std::string& kind, std::int64_t elements, const std::string& dtype) {
            return to_dict(model::estimate(
                d, Elementwise{workload::elementwise_kind_from_string(kind), elements, hw::precision_from_string(dtype)}));
          },
          py::arg("kind"), py::arg("elements"), py::arg("dtype") = "bf16")
      .def(
          "elementwise_columns",
          [](const Device& d, const std::string& kind, const I64Array& elements, const std::string& dtype) {
            const auto k = workload::elementwise_kind_from_string(kind);
            const Precision p = hw::precision_from_string(dtype);
            const std::size_t count = static_cast<std::size_t>(elements.size());
            auto time = empty<double>(count), flops = empty<double>(count), bytes = empty<double>(count);
            auto bound = empty<std::int8_t>(count);
            const std::int64_t* pe = elements.data();
            double *pt = time.mutable_data(), *pf = flops.mutable_data(), *pb = bytes.mutable_data();
            std::int8_t* pbound = bound.mutable_data();
            {
              py::gil_scoped_release release;
              for (std::size_t i = 0; i < count; ++i) {
                try {
                  const OpEstimate e = model::estimate(d, Elementwise{k, pe[i], p});
                  pt[i] = e.time.value();
                  pf[i] = e.flops.value();
                  pb[i] = e.hbm_bytes.value();
                  pbound[i] = static_cast<std::int8_t>(e.bound);
                } catch (const InvalidArgument& e) {
                  throw InvalidArgument("index " + std::to_string(i) + ": " + e.what());
                }
              }
            }
            return py::make_tuple(time, flops, bytes, bound);
          },
          py::arg("kind"), py::arg("elements"), py::arg("dtype") = "bf16")
      .def("roofline", [](const Device& d, const std::string& precision) {
        const model::Roofline r = model::roofline(d, hw::precision_from_string(precision));
        py::dict out;
        out["chip"] = r.chip;
        out["precision"] = precision;
        py::list compute, memory;
        for (const auto& c : r.compute) {
          py::dict x;
          x["name"] = c.name;
          x["flops"] = c.rate.value();
          x["achievable"] = c.achievable;
          compute.append(x);
        }
        for (const auto& mc : r.memory) {
          py::dict x;
          x["name"] = mc.name;
          x["bandwidth"] = mc.bandwidth.value();
          x["achievable"] = mc.achievable;
          x["onchip"] = mc.onchip;
          x["ridge"] = mc.ridge.value();
          memory.append(x);
        }
        out["compute"] = compute;
        out["memory"] = memory;
        return out;
      }, py::arg("precision") = "bf16");
}

}  // namespace perfmodel::python
