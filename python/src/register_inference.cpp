// Models and the serving estimate.
#include <string>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/workload/model.hpp>

#include "plan_dict.hpp"
#include "energy_dict.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using model::InferencePlan;
using model::Parallelism;
using workload::TransformerModel;

py::dict model_dict(const TransformerModel& m) {
  py::dict d;
  d["id"] = m.id;
  d["name"] = m.name;
  d["family"] = m.family;
  d["source"] = m.source;
  d["layers"] = m.layers;
  d["hidden"] = m.hidden;
  d["heads"] = m.heads;
  d["kv_heads"] = m.kv_heads;
  d["head_dim"] = m.head_dim;
  d["ffn"] = m.ffn;
  d["vocab"] = m.vocab;
  d["tied_embeddings"] = m.tied_embeddings;
  d["activation"] = std::string(workload::to_string(m.activation));
  if (m.mla) {
    py::dict x;
    x["q_lora_rank"] = m.mla->q_lora_rank;
    x["kv_lora_rank"] = m.mla->kv_lora_rank;
    x["rope_dim"] = m.mla->rope_dim;
    x["nope_dim"] = m.mla->nope_dim;
    x["v_head_dim"] = m.mla->v_head_dim;
    d["mla"] = x;
  } else {
    d["mla"] = py::none();
  }
  if (m.moe) {
    py::dict x;
    x["routed_experts"] = m.moe->routed_experts;
    x["shared_experts"] = m.moe->shared_experts;
    x["top_k"] = m.moe->top_k;
    x["dense_layers"] = m.moe->dense_layers;
    x["expert_ffn"] = m.moe->expert_ffn;
    d["moe"] = x;
  } else {
    d["moe"] = py::none();
  }
  d["mtp_layers"] = m.mtp_layers;
  d["max_context"] = m.max_context > 0 ? py::object(py::int_(m.max_context)) : py::object(py::none());
  return d;
}

}  // namespace

Parallelism parallel_from(py::dict d, const std::string& where) {
  Parallelism p;
  take(d, "tp", p.tp);
  take(d, "dp_attention", p.dp_attention);
  take(d, "pp", p.pp);
  take(d, "ep", p.ep);
  take(d, "dense_tp", p.dense_tp);
  take(d, "ranks_per_chip", p.ranks_per_chip);
  take(d, "redundant_experts", p.redundant_experts);
  take(d, "sequence_parallel", p.sequence_parallel);
  if (!d.empty()) {
    throw InvalidArgument(where + std::string(py::str(d.begin()->first)) +
                          ": unknown option; expected tp, dp_attention, pp, ep, dense_tp, ranks_per_chip, "
                          "redundant_experts, sequence_parallel");
  }
  return p;
}

InferencePlan inference_plan_from(const py::dict& in) {
  py::dict d = consumable(in);
  InferencePlan p;
  std::string mode = "serve";
  take(d, "mode", mode);
  if (mode == "serve") p.mode = InferencePlan::Mode::serve;
  else if (mode == "prefill") p.mode = InferencePlan::Mode::prefill;
  else if (mode == "decode") p.mode = InferencePlan::Mode::decode;
  else throw InvalidArgument("mode: got '" + mode + "', expected 'serve', 'prefill' or 'decode'");
  take(d, "batch", p.batch);
  take(d, "input_len", p.input_len);
  take(d, "output_len", p.output_len);
  take(d, "kv_len", p.kv_len);
  take_precision(d, "weights", p.precision.weights);
  take_precision(d, "kv_cache", p.precision.kv_cache);
  take_precision(d, "attention", p.precision.attention);
  py::dict par;
  for (const char* k :
       {"tp", "dp_attention", "pp", "ep", "dense_tp", "ranks_per_chip", "redundant_experts", "sequence_parallel"}) {
    if (d.contains(k)) {
      par[k] = d[k];
      PyDict_DelItemString(d.ptr(), k);
    }
  }
  p.parallel = parallel_from(par, "");
  if (d.contains("prefill_parallel")) {
    py::object v = d["prefill_parallel"];
    PyDict_DelItemString(d.ptr(), "prefill_parallel");
    if (!v.is_none()) {
      if (!py::isinstance<py::dict>(v)) throw InvalidArgument("prefill_parallel: expected a dict such as {'tp': 8}");
      py::dict pv;
      for (auto kv : v.cast<py::dict>()) pv[kv.first] = kv.second;
      if (!pv.contains("ranks_per_chip")) pv["ranks_per_chip"] = p.parallel.ranks_per_chip;
      p.prefill_parallel = parallel_from(pv, "prefill_parallel.");
    }
  }
  take(d, "prefill_batch", p.prefill_batch);
  take(d, "overlap", p.overlap);
  take(d, "prefill_overlap", p.prefill_overlap);
  take(d, "mtp_tokens", p.mtp_tokens);
  take(d, "mtp_acceptance", p.mtp_acceptance);
  take(d, "expert_imbalance", p.expert_imbalance);
  take(d, "check_memory", p.check_memory);
  take(d, "systems", p.systems);
  if (!d.empty()) {
    throw InvalidArgument(std::string(py::str(d.begin()->first)) + ": unknown serving option");
  }
  return p;
}

namespace {

py::dict phase_dict(const model::PhaseEstimate& e) {
  py::dict d;
  d["time_s"] = e.time;
  d["compute_s"] = e.compute_time;
  d["communication_s"] = e.communication_time;
  d["exposed_communication_s"] = e.exposed_communication;
  d["tokens"] = e.tokens;
  d["chips"] = e.chips;
  d["flops"] = e.flops;
  d["tokens_per_second_per_chip"] = e.tokens_per_second_per_chip();
  d["max_batch"] = e.max_batch;
  py::dict mem;
  mem["weights"] = e.memory.weights;
  mem["kv_cache"] = e.memory.kv_cache;
  mem["activations"] = e.memory.activations;
  mem["buffers"] = e.memory.buffers;
  mem["total"] = e.memory.total();
  mem["capacity"] = e.memory.capacity;
  d["memory"] = mem;
  d["parts"] = parts_list<model::StepPart>(e.parts);
  d["energy"] = e.energy ? py::object(energy_dict(*e.energy)) : py::none();
  return d;
}

py::dict result_dict(const model::InferenceResult& r) {
  py::dict d;
  d["model"] = r.model;
  d["system"] = r.system;
  d["chip"] = r.chip;
  d["prefill"] = r.prefill ? py::object(phase_dict(*r.prefill)) : py::none();
  d["decode"] = r.decode ? py::object(phase_dict(*r.decode)) : py::none();
  d["ttft_s"] = r.ttft;
  d["tpot_s"] = r.tpot;
  d["accepted_tokens_per_step"] = r.accepted_tokens_per_step;
  d["output_tokens_per_s_per_chip"] = r.output_tokens_per_second_per_chip;
  d["input_tokens_per_s_per_chip"] = r.input_tokens_per_second_per_chip;
  d["output_tokens_per_s_per_instance"] = r.output_tokens_per_second_per_instance;
  d["chips_per_instance"] = r.chips_per_instance;
  d["prefill_chip_share"] = r.prefill_chip_share;
  d["system_chips"] = r.system_chips;
  d["instances_per_system"] = r.instances_per_system;
  d["busy_chips_per_system"] = r.busy_chips_per_system;
  d["output_tokens_per_s_per_system"] = r.output_tokens_per_second_per_system;
  d["input_tokens_per_s_per_system"] = r.input_tokens_per_second_per_system;
  d["mfu"] = r.model_flops_utilization;
  d["bottleneck"] = r.bottleneck;
  if (r.energy) {
    py::dict e;
    e["chip_watts"] = r.energy->chip_watts;
    e["watts_per_chip"] = r.energy->watts_per_chip;
    e["joules_per_input_token"] = r.prefill ? py::object(py::float_(r.energy->joules_per_input_token)) : py::none();
    e["joules_per_output_token"] = r.decode ? py::object(py::float_(r.energy->joules_per_output_token)) : py::none();
    e["output_tokens_per_joule"] = r.decode ? py::object(py::float_(r.energy->output_tokens_per_joule)) : py::none();
    e["flops_per_watt"] = r.energy->flops_per_watt;
    e["capped"] = r.energy->capped;
    e["basis"] = r.energy->basis;
    d["energy"] = e;
  } else {
    d["energy"] = py::none();
  }
  d["energy_missing"] = r.energy_missing;
  return d;
}
}  // namespace

void register_inference(py::module_& m) {
  py::class_<TransformerModel>(m, "Model", "A decoder-only transformer (raw; use perfmodel.models).")
      .def_readonly("id", &TransformerModel::id)
      .def_readonly("name", &TransformerModel::name)
      .def_readonly("family", &TransformerModel::family)
      .def_readonly("source", &TransformerModel::source)
      .def_readonly("source_file", &TransformerModel::source_file)
      .def_readonly("aliases", &TransformerModel::aliases)
      .def("parameters", &TransformerModel::parameters)
      .def("active_parameters", &TransformerModel::active_parameters)
      .def("mtp_parameters", &TransformerModel::mtp_parameters)
      .def("kv_elements_per_token", &TransformerModel::kv_elements_per_token)
      .def("to_dict", &model_dict);
  m.def("model_names", &workload::model_names);
  m.def("get_model", [](const std::string& n) { return workload::get_model(n); }, py::arg("name"));
  m.def("load_model", &workload::load_model, py::arg("path"));
  m.def("model_from_json", [](const std::string& text, const std::string& origin) { return workload::model_from_json(text, origin); },
        py::arg("text"), py::arg("origin"));
  m.def("model_from_hf_config", &workload::model_from_hf_config, py::arg("path"));
  py::class_<model::ServingSystem>(m, "ServingSystem", "A system prepared for serving estimates (raw).")
      .def(py::init<const catalog::Catalog&, const std::string&, int>(), py::arg("catalog"), py::arg("system"),
           py::arg("ranks_per_chip") = 1)
      .def_property_readonly("ranks_per_chip", &model::ServingSystem::ranks_per_chip);
  // The estimate as a C++ object: the headline scalars read directly, the nested dict (phases,
  // parts, memory, energy; most of a call's cost) is built only when asked for.
  using R = model::InferenceResult;
  py::class_<R>(m, "InferenceRaw", "A serving estimate (raw; use perfmodel.inference).")
      .def("to_dict", &result_dict)
      .def_readonly("model", &R::model)
      .def_readonly("system", &R::system)
      .def_readonly("chip", &R::chip)
      .def_readonly("ttft_s", &R::ttft)
      .def_readonly("tpot_s", &R::tpot)
      .def_readonly("accepted_tokens_per_step", &R::accepted_tokens_per_step)
      .def_readonly("output_tokens_per_s_per_chip", &R::output_tokens_per_second_per_chip)
      .def_readonly("input_tokens_per_s_per_chip", &R::input_tokens_per_second_per_chip)
      .def_readonly("output_tokens_per_s_per_instance", &R::output_tokens_per_second_per_instance)
      .def_readonly("chips_per_instance", &R::chips_per_instance)
      .def_readonly("prefill_chip_share", &R::prefill_chip_share)
      .def_readonly("system_chips", &R::system_chips)
      .def_readonly("instances_per_system", &R::instances_per_system)
      .def_readonly("busy_chips_per_system", &R::busy_chips_per_system)
      .def_readonly("output_tokens_per_s_per_system", &R::output_tokens_per_second_per_system)
      .def_readonly("input_tokens_per_s_per_system", &R::input_tokens_per_second_per_system)
      .def_readonly("mfu", &R::model_flops_utilization)
      .def_readonly("bottleneck", &R::bottleneck)
      .def_readonly("energy_missing", &R::energy_missing);
  m.def(
      "estimate_inference_prepared",
      [](const TransformerModel& model, const model::ServingSystem& sys, const py::dict& plan) {
        const InferencePlan p = inference_plan_from(plan);
        model::InferenceResult r;
        {
          py::gil_scoped_release release;
          r = model::estimate_inference(model, sys, p);
        }
        return r;
      },
      py::arg("model"), py::arg("system"), py::arg("plan"));
  m.def(
      "estimate_inference",
      [](const TransformerModel& model, const catalog::Catalog& cat, const std::string& system, const py::dict& plan) {
        const InferencePlan p = inference_plan_from(plan);
        model::InferenceResult r;
        {
          py::gil_scoped_release release;
          r = model::estimate_inference(model, cat, system, p);
        }
        return result_dict(r);
      },
      py::arg("model"), py::arg("catalog"), py::arg("system"), py::arg("plan"));
}

}  // namespace perfmodel::python
