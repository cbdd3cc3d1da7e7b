// Design-space search over training and serving plans (raw; perfmodel.search builds the tables).
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/search.hpp>
#include <libperfmodel/workload/model.hpp>

#include "plan_dict.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using namespace model;
using python::take_list;  // the converting overload (plan_dict.hpp); the typed one follows

template <class T>
void take_list(py::dict& d, const char* key, std::vector<T>& out) {
  take_list(d, key, out, [](const py::object& o) {
    if constexpr (std::is_same_v<T, bool>) {
      if (!py::isinstance<py::bool_>(o)) throw py::cast_error();
    } else {
      if (py::isinstance<py::bool_>(o) || !py::isinstance<py::int_>(o)) throw py::cast_error();
    }
    return o.cast<T>();
  });
}
hw::Precision precision_of(const py::object& o) {
  try {
    return hw::precision_from_string(o.cast<std::string>());
  } catch (const Error& e) {
    throw InvalidArgument(std::string("precision: ") + e.what());
  }
}
void no_leftovers(const py::dict& d) {
  if (!d.empty()) throw InvalidArgument(std::string(py::str(d.begin()->first)) + ": not a searchable dimension");
}

SearchOptions options_from(const py::dict& o, const catalog::Catalog& cat, std::optional<py::function> progress) {
  SearchOptions opt;
  for (auto item : o["objectives"].cast<py::list>()) {
    auto t = item.cast<py::tuple>();
    Objective obj{t[0].cast<std::string>(), std::nullopt};
    const std::string sense = t[1].cast<std::string>();
    if (sense == "min") obj.sense = Sense::minimize;
    else if (sense == "max") obj.sense = Sense::maximize;
    opt.objectives.push_back(obj);
  }
  for (auto item : o["constraints"].cast<py::list>()) {
    auto t = item.cast<py::tuple>();
    Constraint c{t[0].cast<std::string>()};
    if (!t[1].is_none()) c.min = t[1].cast<double>();
    if (!t[2].is_none()) c.max = t[2].cast<double>();
    opt.constraints.push_back(c);
  }
  opt.top_k = o["top_k"].cast<std::size_t>();
  opt.keep_all = o["keep_all"].cast<bool>();
  opt.threads = o["threads"].cast<int>();
  py::dict cost = o["cost"].cast<py::dict>();
  if (cost.contains("price_per_kwh")) opt.cost.price_per_kwh = cost["price_per_kwh"].cast<double>();
  if (cost.contains("pue")) opt.cost.pue = cost["pue"].cast<double>();
  if (cost.contains("years")) opt.cost.years = cost["years"].cast<double>();
  if (cost.contains("utilization")) opt.cost.utilization = cost["utilization"].cast<double>();
  if (cost.contains("capex")) {
    for (auto kv : cost["capex"].cast<py::dict>()) {
      opt.cost.capex[cat.system(kv.first.cast<std::string>()).id] = kv.second.cast<double>();  // aliases -> ids
    }
  }
  if (progress) {
    // Runs on the calling thread with the GIL released: take it back for the Python callback;
    // Ctrl-C surfaces as KeyboardInterrupt through the engine's rethrow.
    opt.progress = [f = *progress](std::uint64_t done, std::uint64_t total) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      // Only False stops the search: a callback returning its `done` (0 at the first report) or
      // any other value keeps it going.
      py::object r = f(done, total);
      return !r.is(py::bool_(false));
    };
  }
  return opt;
}

/// Rows as columns: ids, system names, plan columns, a values matrix and bottleneck names.
template <class Plan, class PlanColumns>
py::dict rows_dict(const SearchResult<Plan>& r, const std::vector<SearchRow<Plan>>& rows, PlanColumns plan_columns) {
  const std::size_t n = rows.size(), f = r.fields.size();
  py::array_t<std::uint64_t> ids(static_cast<py::ssize_t>(n));
  py::array_t<double> values({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(f)});
  auto id = ids.mutable_unchecked<1>();
  auto val = values.mutable_unchecked<2>();
  py::list systems, bottleneck;
  for (std::size_t i = 0; i < n; ++i) {
    id(static_cast<py::ssize_t>(i)) = rows[i].id;
    for (std::size_t j = 0; j < f; ++j) val(static_cast<py::ssize_t>(i), static_cast<py::ssize_t>(j)) = rows[i].values[j];
    systems.append(r.systems[rows[i].system]);
    bottleneck.append(r.bottlenecks[static_cast<std::size_t>(rows[i].bottleneck)]);
  }
  py::dict d;
  d["id"] = ids;
  d["system"] = systems;
  d["plan"] = plan_columns(rows);
  d["values"] = values;
  d["bottleneck"] = bottleneck;
  return d;
}

template <class Plan, class PlanColumns>
py::dict result_dict(const SearchResult<Plan>& r, PlanColumns plan_columns) {
  py::dict d;
  d["fields"] = r.fields;
  py::list objectives;
  for (const auto& o : r.objectives) {
    objectives.append(py::make_tuple(o.field, o.sense == Sense::maximize ? "max" : "min"));
  }
  d["objectives"] = objectives;
  d["best"] = rows_dict(r, r.best, plan_columns);
  d["front"] = rows_dict(r, r.front, plan_columns);
  d["all"] = rows_dict(r, r.all, plan_columns);
  d["total"] = r.total;
  d["pruned"] = r.pruned;
  d["evaluated"] = r.evaluated;
  d["feasible"] = r.feasible;
  py::list reasons;
  for (const auto& [k, v] : r.reasons) reasons.append(py::make_tuple(k, v));
  d["reasons"] = reasons;
  d["cancelled"] = r.cancelled;
  d["threads"] = r.threads;
  d["seconds"] = r.seconds;
  return d;
}

/// Runs `fn` with the GIL released; exceptions (including a Python error raised in the progress
/// callback) are rethrown once the GIL is held again.
template <class F>
auto without_gil(F fn) {
  std::exception_ptr failure;
  decltype(fn()) out;
  {
    py::gil_scoped_release release;
    try {
      out = fn();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}


}  // namespace

void register_search(py::module_& m) {
  m.def(
      "search_training",
      [](const workload::TransformerModel& model, const catalog::Catalog& cat, const std::vector<std::string>& systems,
         const py::dict& base, const py::dict& dims_in, const py::dict& options, std::optional<py::function> progress) {
        TrainingSpace s;
        s.systems = systems;
        s.base = training_plan_from(base);
        py::dict d = consumable(dims_in);
        take_list(d, "n_chips", s.chips);
        take_list(d, "precision", s.precision, precision_of);
        take_list(d, "tp", s.tp);
        take_list(d, "cp", s.cp);
        take_list(d, "pp", s.pp);
        take_list(d, "dp", s.dp);
        take_list(d, "ep", s.ep);
        take_list(d, "virtual_stages", s.virtual_stages);
        take_list(d, "micro_batch", s.micro_batch);
        take_list(d, "recompute", s.recompute, [](const py::object& o) { return recompute_from_string(o.cast<std::string>()); });
        take_list(d, "sharding", s.sharding, [](const py::object& o) { return sharding_from_string(o.cast<std::string>()); });
        take_list(d, "sequence_parallel", s.sequence_parallel);
        take_list(d, "overlap_dp", s.overlap_dp);
        take_list(d, "overlap_tp", s.overlap_tp);
        take_list(d, "overlap_pp", s.overlap_pp);
        no_leftovers(d);
        const SearchOptions opt = options_from(options, cat, progress);
        const TrainingSearch r = without_gil([&] { return search_training(model, cat, s, opt); });
        return result_dict(r, [](const std::vector<SearchRow<TrainingPlan>>& rows) {
          py::dict c;
          auto col = [&](const char* name, auto get) {
            py::list l;
            for (const auto& row : rows) l.append(get(row.plan));
            c[name] = l;
          };
          col("n_chips", [](const TrainingPlan& p) { return p.chips; });
          col("precision", [](const TrainingPlan& p) { return std::string(hw::to_string(p.precision)); });
          col("tp", [](const TrainingPlan& p) { return p.parallel.tp; });
          col("cp", [](const TrainingPlan& p) { return p.parallel.cp; });
          col("pp", [](const TrainingPlan& p) { return p.parallel.pp; });
          col("dp", [](const TrainingPlan& p) { return p.parallel.dp; });
          col("ep", [](const TrainingPlan& p) { return p.parallel.ep; });
          col("virtual_stages", [](const TrainingPlan& p) { return p.parallel.virtual_stages; });
          col("micro_batch", [](const TrainingPlan& p) { return p.micro_batch; });
          col("recompute", [](const TrainingPlan& p) { return std::string(to_string(p.recompute)); });
          col("sharding", [](const TrainingPlan& p) { return std::string(to_string(p.sharding)); });
          col("sequence_parallel", [](const TrainingPlan& p) { return p.parallel.sequence_parallel; });
          col("overlap_dp", [](const TrainingPlan& p) { return p.overlap_dp; });
          col("overlap_tp", [](const TrainingPlan& p) { return p.overlap_tp; });
          col("overlap_pp", [](const TrainingPlan& p) { return p.overlap_pp; });
          return c;
        });
      },
      py::arg("model"), py::arg("catalog"), py::arg("systems"), py::arg("base"), py::arg("dims"), py::arg("options"),
      py::arg("progress") = py::none());

  m.def(
      "search_inference",
      [](const workload::TransformerModel& model, const catalog::Catalog& cat, const std::vector<std::string>& systems,
         const py::dict& base, const py::dict& dims_in, const py::dict& options, std::optional<py::function> progress) {
        ServingSpace s;
        s.systems = systems;
        s.base = inference_plan_from(base);
        py::dict d = consumable(dims_in);
        take_list(d, "ranks_per_chip", s.ranks_per_chip);
        take_list(d, "precision", s.precision, [](const py::object& o) {
          ServingPrecision p;
          if (py::isinstance<py::dict>(o)) {
            py::dict x = consumable(o.cast<py::dict>());
            take_precision(x, "weights", p.weights);
            take_precision(x, "kv_cache", p.kv_cache);
            take_precision(x, "attention", p.attention);
            if (!x.empty()) throw InvalidArgument("precision: unknown key " + std::string(py::str(x.begin()->first)) +
                                                  "; expected weights, kv_cache, attention");
          } else {
            p.weights = precision_of(o);
          }
          return p;
        });
        take_list(d, "tp", s.tp);
        take_list(d, "dp_attention", s.dp_attention);
        take_list(d, "pp", s.pp);
        take_list(d, "ep", s.ep);
        take_list(d, "prefill_parallel", s.prefill_parallel, [](const py::object& o) -> std::optional<Parallelism> {
          if (o.is_none()) return std::nullopt;
          if (!py::isinstance<py::dict>(o)) throw InvalidArgument("prefill_parallel: expected None or a dict such as {'tp': 8}");
          return parallel_from(consumable(o.cast<py::dict>()), "prefill_parallel.");
        });
        take_list(d, "mtp_tokens", s.mtp_tokens);
        take_list(d, "batch", s.batch);
        take_list(d, "overlap", s.overlap);
        no_leftovers(d);
        const SearchOptions opt = options_from(options, cat, progress);
        const ServingSearch r = without_gil([&] { return search_inference(model, cat, s, opt); });
        return result_dict(r, [](const std::vector<SearchRow<InferencePlan>>& rows) {
          py::dict c;
          auto col = [&](const char* name, auto get) {
            py::list l;
            for (const auto& row : rows) l.append(get(row.plan));
            c[name] = l;
          };
          col("ranks_per_chip", [](const InferencePlan& p) { return p.parallel.ranks_per_chip; });
          col("precision", [](const InferencePlan& p) { return std::string(hw::to_string(p.precision.weights)); });
          col("kv_cache_precision", [](const InferencePlan& p) { return std::string(hw::to_string(p.precision.kv_cache)); });
          col("attention_precision", [](const InferencePlan& p) { return std::string(hw::to_string(p.precision.attention)); });
          col("tp", [](const InferencePlan& p) { return p.parallel.tp; });
          col("dp_attention", [](const InferencePlan& p) { return p.parallel.dp_attention; });
          col("pp", [](const InferencePlan& p) { return p.parallel.pp; });
          col("ep", [](const InferencePlan& p) { return p.parallel.expert_parallel(); });
          col("prefill_tp", [](const InferencePlan& p) -> py::object {
            return p.prefill_parallel ? py::object(py::int_(p.prefill_parallel->tp)) : py::object(py::none());
          });
          col("prefill_dp_attention", [](const InferencePlan& p) -> py::object {
            return p.prefill_parallel ? py::object(py::int_(p.prefill_parallel->dp_attention)) : py::object(py::none());
          });
          col("prefill_pp", [](const InferencePlan& p) -> py::object {
            return p.prefill_parallel ? py::object(py::int_(p.prefill_parallel->pp)) : py::object(py::none());
          });
          col("mtp_tokens", [](const InferencePlan& p) { return p.mtp_tokens; });
          col("batch", [](const InferencePlan& p) { return p.batch; });
          col("overlap", [](const InferencePlan& p) { return p.overlap; });
          return c;
        });
      },
      py::arg("model"), py::arg("catalog"), py::arg("systems"), py::arg("base"), py::arg("dims"), py::arg("options"),
      py::arg("progress") = py::none());

  m.def("search_fields", [](const std::string& kind) {
    const auto& f = kind == "training" ? training_fields() : serving_fields();
    py::list out;
    for (const auto& x : f) out.append(py::make_tuple(x.name, x.sense == Sense::maximize ? "max" : "min", x.description));
    return out;
  }, py::arg("kind"));
}

}  // namespace perfmodel::python
