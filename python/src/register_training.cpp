// The training estimate.
#include <cmath>
#include <cstdio>
#include <string>

#include <pybind11/stl.h>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/training.hpp>
#include <libperfmodel/workload/model.hpp>

#include "plan_dict.hpp"
#include "energy_dict.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using model::TrainingPlan;

}  // namespace

TrainingPlan training_plan_from(const py::dict& in) {
  py::dict d = consumable(in);
  TrainingPlan p;
  auto& par = p.parallel;
  take(d, "global_batch", p.global_batch);
  take(d, "micro_batch", p.micro_batch);
  take(d, "seq_len", p.seq_len);
  take_precision(d, "precision", p.precision);
  take(d, "tp", par.tp);
  take(d, "cp", par.cp);
  take(d, "dp", par.dp);
  take(d, "pp", par.pp);
  take(d, "ep", par.ep);
  take(d, "virtual_stages", par.virtual_stages);
  take(d, "ranks_per_chip", par.ranks_per_chip);
  take(d, "sequence_parallel", par.sequence_parallel);
  std::string s;
  if (d.contains("layout") && py::isinstance<py::list>(d["layout"])) {  // layers per stage, first to last
    take_list(d, "layout", par.stage_layers, [](const py::object& item) {
      if (py::isinstance<py::bool_>(item) || !py::isinstance<py::int_>(item)) {
        throw InvalidArgument("layout: expected 'even', 'lighter_ends' or a list of layers per stage (ints), got item " +
                              std::string(py::repr(item)));
      }
      return item.cast<int>();
    });
  }
  take(d, "layout", s);
  if (!s.empty()) {
    if (s == "even") par.layout = model::StageLayout::even;
    else if (s == "lighter_ends") par.layout = model::StageLayout::lighter_ends;
    else throw InvalidArgument("layout: got '" + s + "', expected 'even', 'lighter_ends' or a list of layers per stage");
  }
  s.clear();
  take(d, "recompute", s);
  if (!s.empty()) p.recompute = model::recompute_from_string(s);
  s.clear();
  take(d, "sharding", s);
  if (!s.empty()) p.sharding = model::sharding_from_string(s);
  take(d, "overlap_dp", p.overlap_dp);
  take(d, "overlap_tp", p.overlap_tp);
  take(d, "overlap_pp", p.overlap_pp);
  take(d, "flash_attention", p.flash_attention);
  take(d, "dropout", p.dropout);
  take(d, "loss_fusion", p.loss_fusion);
  take(d, "grad_reduce_bytes", p.grad_reduce_bytes);
  take(d, "bf16_layers", p.bf16_layers);
  take(d, "fp8_params", p.fp8_params);
  take(d, "expert_imbalance", p.expert_imbalance);
  s.clear();
  take(d, "moe_dispatcher", s);
  if (!s.empty()) p.moe_dispatcher = model::moe_dispatcher_from_string(s);
  s.clear();
  take(d, "cp_comm", s);
  if (!s.empty()) p.cp_comm = model::cp_comm_from_string(s);
  // Both default to 0 (derived / not asked); a value given must be positive.
  const bool chips_given = d.contains("n_chips") && !d["n_chips"].is_none();
  const bool tokens_given = d.contains("train_tokens") && !d["train_tokens"].is_none();
  take(d, "n_chips", p.chips);
  take(d, "train_tokens", p.train_tokens);
  if (chips_given && p.chips < 1) throw InvalidArgument("n_chips: expected a positive integer, got " + std::to_string(p.chips));
  if (tokens_given && !(p.train_tokens >= 1.0 && p.train_tokens <= 1e18 && std::floor(p.train_tokens) == p.train_tokens)) {
    char got[32];
    std::snprintf(got, sizeof got, "%g", p.train_tokens);
    throw InvalidArgument(std::string("train_tokens: expected a whole count of tokens in [1, 1e18], got ") + got);
  }
  take(d, "check_memory", p.check_memory);
  if (!d.empty()) throw InvalidArgument(std::string(py::str(d.begin()->first)) + ": unknown training option");
  return p;
}

namespace {

py::dict training_dict(const model::TrainingResult& r) {
  py::dict d;
  d["model"] = r.model;
  d["system"] = r.system;
  d["chip"] = r.chip;
  d["chips"] = r.chips;
  d["ranks"] = r.ranks;
  d["systems"] = r.systems;
  d["micro_batches"] = r.micro_batches;
  d["step_time_s"] = r.step_time;
  d["bubble_fraction"] = r.bubble_fraction;
  d["tokens_per_step"] = r.tokens_per_step;
  d["tokens_per_s"] = r.tokens_per_second;
  d["tokens_per_s_per_chip"] = r.tokens_per_second_per_chip;
  d["model_flops"] = r.model_flops;
  d["hardware_flops"] = r.hardware_flops;
  d["model_flops_per_chip"] = r.model_flops_per_chip;
  d["hardware_flops_per_chip"] = r.hardware_flops_per_chip;
  d["mfu"] = r.mfu;
  d["hfu"] = r.hfu;
  d["time_to_train_s"] = r.plan.train_tokens > 0 ? py::object(py::float_(r.time_to_train)) : py::none();
  d["chip_hours"] = r.plan.train_tokens > 0 ? py::object(py::float_(r.chip_hours)) : py::none();
  d["bottleneck"] = r.bottleneck;
  d["energy"] = r.energy ? py::object(energy_dict(*r.energy)) : py::none();
  d["joules_per_token"] = r.energy ? py::object(py::float_(r.joules_per_token)) : py::none();
  d["tokens_per_joule"] = r.energy ? py::object(py::float_(r.tokens_per_joule)) : py::none();
  d["flops_per_watt"] = r.energy ? py::object(py::float_(r.flops_per_watt)) : py::none();
  d["energy_to_train_j"] = r.energy && r.plan.train_tokens > 0 ? py::object(py::float_(r.energy_to_train)) : py::none();
  d["energy_missing"] = r.energy_missing;
  py::dict mem;
  mem["weights"] = r.memory.weights;
  mem["gradients"] = r.memory.gradients;
  mem["optimizer"] = r.memory.optimizer;
  mem["activations"] = r.memory.activations;
  mem["buffers"] = r.memory.buffers;
  mem["total"] = r.memory.total();
  mem["capacity"] = r.memory.capacity;
  d["memory"] = mem;
  d["parts"] = parts_list<model::TrainPart>(r.parts);
  return d;
}
}  // namespace

void register_training(py::module_& m) {
  py::class_<model::TrainingSystem>(m, "TrainingSystem", "A system prepared for training estimates (raw).")
      .def(py::init<const catalog::Catalog&, const std::string&, int>(), py::arg("catalog"), py::arg("system"),
           py::arg("ranks_per_chip") = 1)
      .def_property_readonly("domain", &model::TrainingSystem::domain)
      .def_property_readonly("ranks_per_chip", &model::TrainingSystem::ranks_per_chip);
  m.def(
      "estimate_training_prepared",
      [](const workload::TransformerModel& model, const model::TrainingSystem& sys, const py::dict& plan) {
        const TrainingPlan p = training_plan_from(plan);
        model::TrainingResult r;
        {
          py::gil_scoped_release release;
          r = model::estimate_training(model, sys, p);
        }
        return training_dict(r);
      },
      py::arg("model"), py::arg("system"), py::arg("plan"));
}

}  // namespace perfmodel::python
