#pragma once
// Design-space search over training and serving plans: every combination of the values listed
// in a space (a Cartesian product, first dimension outermost) is a candidate. Candidates that
// break a structural rule (degrees that do not multiply to the chip count, tp not dividing the
// heads, ...) are pruned a whole sub-space at a time before any estimate runs; the rest are
// estimated, checked against memory and the caller's constraints, and streamed into a top-k
// list and a Pareto front. Work is split over threads by sub-space; results are ordered by
// (objective, candidate id), so they are identical for any thread count.

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/training.hpp>
#include <libperfmodel/workload/model.hpp>

namespace perfmodel::model {

/// Training plans to search. An empty list keeps `base`'s value; `dp` empty means
/// chips / (tp x cp x pp); `chips` empty means each system's own chip count.
struct TrainingSpace {
  std::vector<std::string> systems;
  std::vector<std::int64_t> chips;
  std::vector<hw::Precision> precision;
  std::vector<int> tp, cp, pp, dp, ep, virtual_stages;
  std::vector<std::int64_t> micro_batch;
  std::vector<Recompute> recompute;
  std::vector<Sharding> sharding;
  std::vector<bool> sequence_parallel, overlap_dp, overlap_tp, overlap_pp;
  TrainingPlan base;  ///< global batch, sequence length and everything not listed above
};

/// Serving plans to search. An empty list keeps `base`'s value. `prefill_parallel` entries are
/// disaggregated prefill instances (nullopt: prefill runs on the decode instance).
struct ServingSpace {
  std::vector<std::string> systems;
  std::vector<int> ranks_per_chip;
  std::vector<ServingPrecision> precision;
  std::vector<int> tp, dp_attention, pp, ep;
  std::vector<std::optional<Parallelism>> prefill_parallel;
  std::vector<int> mtp_tokens;
  std::vector<std::int64_t> batch;
  std::vector<bool> overlap;
  InferencePlan base;
};

enum class Sense { minimize, maximize };

/// An output to rank by: a field name from training_fields() / serving_fields(); the sense
/// defaults to the field's natural one (maximise throughput, minimise time and energy).
struct Objective {
  std::string field;
  std::optional<Sense> sense;
};

/// Keep candidates with min <= field <= max.
struct Constraint {
  std::string field;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

/// Prices for the cost fields (usd_per_hour, usd_per_million_tokens): straight-line capital
/// cost over `years` of busy hours (`utilization` of all hours) plus power at `price_per_kwh`
/// times `pue`, idle draw charged for the idle hours. Without a catalog price or a `capex` entry
/// the cost fields are unknown.
struct CostModel {
  double price_per_kwh = 0.08;
  double pue = 1.3;
  double years = 4.0;
  double utilization = 1.0;
  std::map<std::string, double> capex;  ///< USD for one system, by catalog system id; overrides the catalog price
};

struct SearchOptions {
  std::vector<Objective> objectives;   ///< first: the top-k order; 2 or 3: also the Pareto front
  std::vector<Constraint> constraints;
  std::size_t top_k = 10;
  bool keep_all = false;               ///< also return every feasible candidate (memory grows with the space)
  int threads = 0;                     ///< 0: all hardware threads
  CostModel cost;
  /// Called on the calling thread with (0, total) before any work, then about every
  /// `progress_interval` seconds with (candidates done, total); returning false cancels the search.
  std::function<bool(std::uint64_t, std::uint64_t)> progress;
  double progress_interval = 0.1;
  const std::atomic<bool>* cancel = nullptr;  ///< set to true from anywhere to stop early
};

/// One output field: its name, natural sense and meaning.
struct FieldInfo {
  std::string name;
  Sense sense;
  std::string description;
};
const std::vector<FieldInfo>& training_fields();
const std::vector<FieldInfo>& serving_fields();

/// One candidate that made it into a result: its plan, where it runs and what it achieves.
template <class Plan>
struct SearchRow {
  std::uint64_t id = 0;        ///< candidate index in the space (mixed radix, first dimension outermost)
  std::uint32_t system = 0;    ///< index into SearchResult::systems
  Plan plan{};                 ///< the full plan: pass it to estimate_training / estimate_inference
  std::vector<double> values;  ///< one per SearchResult::fields; NaN: unknown (no energy data, no price)
  int bottleneck = 0;          ///< index into SearchResult::bottlenecks
};

template <class Plan>
struct SearchResult {
  std::vector<std::string> systems;
  std::vector<std::string> fields;
  std::vector<std::string> bottlenecks;  ///< step-part names
  std::vector<Objective> objectives;     ///< with the senses resolved
  std::vector<SearchRow<Plan>> best;     ///< top-k by the objectives in order, then by id
  std::vector<SearchRow<Plan>> front;    ///< Pareto front over the objectives (2 or 3), ordered as `best`
  std::vector<SearchRow<Plan>> all;      ///< keep_all: every feasible candidate, by id
  std::uint64_t total = 0;               ///< candidates in the space
  std::uint64_t pruned = 0;              ///< rejected without a full estimate
  std::uint64_t evaluated = 0;           ///< fully estimated (pruned + evaluated == total unless cancelled)
  std::uint64_t feasible = 0;            ///< estimated, fit in memory, met the constraints
  std::vector<std::pair<std::string, std::uint64_t>> reasons;  ///< rejection reason -> count, largest first
  bool cancelled = false;
  int threads = 1;
  double seconds = 0;
  /// Index of an output field; throws NotFound.
  [[nodiscard]] std::size_t field_index(std::string_view name) const {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i] == name) return i;
    }
    throw NotFound("field '" + std::string(name) + "' is not in this search result");
  }
};
using TrainingSearch = SearchResult<TrainingPlan>;
using ServingSearch = SearchResult<InferencePlan>;

/// Throws InvalidArgument for an empty system list, values that can never be valid (tp < 1, an
/// unknown system), unknown objective or constraint fields, contradictory constraints (min > max,
/// or two bounds on one field that leave nothing) or more than three objectives. A space where
/// nothing is feasible is not an error: the result is empty and `reasons` says why.
TrainingSearch search_training(const workload::TransformerModel& model, const catalog::Catalog& cat,
                             const TrainingSpace& space, const SearchOptions& options);
ServingSearch search_inference(const workload::TransformerModel& model, const catalog::Catalog& cat,
                              const ServingSpace& space, const SearchOptions& options);

}  // namespace perfmodel::model
