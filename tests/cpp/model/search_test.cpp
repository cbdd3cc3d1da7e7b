// Design-space search: counts add up, pruning matches brute force, results are the estimator's,
// identical for any thread count, cancellable, and bad input names the field.
#include <atomic>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/search.hpp>
#include <libperfmodel/workload/model.hpp>

using namespace perfmodel;
using namespace perfmodel::model;

namespace {

/// GPT-3 175B on 64 A100: the issue's ~3.2 million-candidate plan space.
TrainingSpace gpt3_space() {
  TrainingSpace s;
  s.systems = {"nvidia-dgx-a100"};
  s.chips = {64};
  s.tp = s.pp = s.dp = {1, 2, 4, 8, 16, 32, 64};
  s.micro_batch = {1, 2, 4, 8, 16, 32, 64, 128};
  s.virtual_stages = {1, 2, 3, 4, 6, 8};
  s.recompute = {Recompute::none, Recompute::selective, Recompute::full};
  s.sharding = {Sharding::none, Sharding::optimizer, Sharding::gradients, Sharding::parameters};
  s.sequence_parallel = s.overlap_dp = s.overlap_tp = s.overlap_pp = {false, true};
  s.base.global_batch = 1536;
  s.base.seq_len = 2048;
  return s;
}

SearchOptions by(std::vector<std::string> fields, int threads = 0) {
  SearchOptions o;
  for (auto& f : fields) o.objectives.push_back({f, std::nullopt});
  o.threads = threads;
  return o;
}

template <class Plan>
void same_rows(const std::vector<SearchRow<Plan>>& a, const std::vector<SearchRow<Plan>>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    REQUIRE(a[i].values.size() == b[i].values.size());
    for (std::size_t j = 0; j < a[i].values.size(); ++j) {
      const double x = a[i].values[j], y = b[i].values[j];
      CHECK((x == y || (std::isnan(x) && std::isnan(y))));  // bit-identical results; NaN marks unknown
    }
  }
}

}  // namespace

TEST_CASE("search: GPT-3 175B on 64 A100 - counts add up and the best plan is the estimator's", "[search]") {
  const auto& m = workload::get_model("gpt-3-175b");
  const auto& cat = catalog::Catalog::builtin();
  const TrainingSpace s = gpt3_space();
  const TrainingSearch r = search_training(m, cat, s, by({"mfu", "memory_per_chip_GB"}));
  CHECK(r.total == 7ull * 7 * 7 * 8 * 6 * 3 * 4 * 2 * 2 * 2 * 2);
  CHECK(r.pruned + r.evaluated == r.total);
  CHECK(r.feasible > 0);
  CHECK(r.feasible < r.evaluated);  // some plans exceed 80 GB
  // Exactly 28 (tp, pp, dp) triples of powers of two multiply to 64; everything else is pruned.
  std::uint64_t degrees = 0, memory = 0, summed = 0;
  for (const auto& [why, n] : r.reasons) {
    summed += n;
    if (why == "tp x cp x dp x pp is not the chip count") degrees = n;
    if (why == "exceeds memory") memory = n;
  }
  CHECK(summed == r.total - r.feasible);
  CHECK(degrees > 0);
  CHECK(memory > 0);
  // Best first; every best row really is what estimate_training says, and fits.
  REQUIRE(r.best.size() == 10);
  const std::size_t mfu = r.field_index("mfu"), mem = r.field_index("memory_per_chip_GB");
  for (std::size_t i = 1; i < r.best.size(); ++i) CHECK(r.best[i - 1].values[mfu] >= r.best[i].values[mfu]);
  const TrainingSystem sys(cat, "nvidia-dgx-a100");
  for (const auto& row : r.best) {
    const TrainingResult e = estimate_training(m, sys, row.plan);  // check_memory on: would throw if it did not fit
    CHECK(e.mfu == Approx(row.values[mfu]).epsilon(1e-12));
    CHECK(e.memory.total() / 1e9 == Approx(row.values[mem]).epsilon(1e-12));
    CHECK(row.plan.parallel.chips() == 64);
  }
  // The front: nothing in it dominates anything else; the best MFU is on it.
  REQUIRE(r.front.size() >= 2);
  for (const auto& a : r.front) {
    for (const auto& b : r.front) {
      const bool dominates = a.values[mfu] >= b.values[mfu] && a.values[mem] <= b.values[mem] &&
                             (a.values[mfu] > b.values[mfu] || a.values[mem] < b.values[mem]);
      CHECK_FALSE(dominates);
    }
  }
  CHECK(r.front.front().values[mfu] == r.best.front().values[mfu]);
}

TEST_CASE("search: results are identical for 1, 2 and 3 threads", "[search]") {
  const auto& m = workload::get_model("gpt-3-175b");
  const auto& cat = catalog::Catalog::builtin();
  TrainingSpace s = gpt3_space();
  s.overlap_dp = s.overlap_pp = {};  // a smaller space: same structure
  SearchOptions o = by({"tokens_per_s_per_chip", "memory_per_chip_GB", "bubble_fraction"}, 1);
  o.keep_all = true;
  const TrainingSearch one = search_training(m, cat, s, o);
  for (int t : {2, 3}) {
    o.threads = t;
    const TrainingSearch many = search_training(m, cat, s, o);
    CHECK(many.threads == t);
    CHECK(many.evaluated == one.evaluated);
    CHECK(many.feasible == one.feasible);
    CHECK(many.reasons == one.reasons);
    same_rows(many.best, one.best);
    same_rows(many.front, one.front);
    same_rows(many.all, one.all);
  }
  CHECK(one.all.size() == one.feasible);
}

TEST_CASE("search: structural pruning loses nothing that brute force finds", "[search]") {
  const auto& m = workload::get_model("llama-3.1-8b");
  const auto& cat = catalog::Catalog::builtin();
  TrainingSpace s;
  s.systems = {"nvidia-dgx-h100"};
  s.chips = {8, 16};
  s.tp = s.pp = s.dp = {1, 2, 4, 8, 16};
  s.micro_batch = {1, 2, 3, 4};
  s.virtual_stages = {1, 2, 4};
  s.base.global_batch = 96;
  s.base.seq_len = 4096;
  SearchOptions o = by({"tokens_per_s_per_chip"});
  o.keep_all = true;
  const TrainingSearch r = search_training(m, cat, s, o);
  // Brute force: every candidate through estimate_training; keep what fits.
  std::uint64_t feasible = 0;
  std::size_t k = 0;
  for (auto chips : s.chips) {
    const TrainingSystem sys(cat, "nvidia-dgx-h100");
    for (int tp : s.tp) {
      for (int pp : s.pp) {
        for (int dp : s.dp) {
          for (int v : s.virtual_stages) {  // the space's order: ..., virtual_stages, micro_batch
            for (auto mb : s.micro_batch) {
              TrainingPlan p = s.base;
              p.chips = chips;
              p.parallel.tp = tp;
              p.parallel.pp = pp;
              p.parallel.dp = dp;
              p.parallel.virtual_stages = v;
              p.micro_batch = mb;
              try {
                const TrainingResult e = estimate_training(m, sys, p);
                ++feasible;
                REQUIRE(k < r.all.size());
                CHECK(r.all[k].values[2] == Approx(e.tokens_per_second_per_chip).epsilon(1e-12));
                ++k;
              } catch (const InvalidArgument&) {
              }
            }
          }
        }
      }
    }
  }
  CHECK(r.feasible == feasible);
  CHECK(r.all.size() == feasible);
}

TEST_CASE("search: serving under a TPOT limit, the front and the cost fields", "[search]") {
  const auto& m = workload::get_model("deepseek-r1");
  const auto& cat = catalog::Catalog::builtin();
  ServingSpace s;
  s.systems = {"huawei-cloudmatrix-384", "nvidia-gb200-nvl72"};
  s.base.mode = InferencePlan::Mode::decode;
  s.base.kv_len = 4096;
  s.precision = {{hw::Precision::int8, hw::Precision::bf16, hw::Precision::bf16},
                 {hw::Precision::fp8, hw::Precision::bf16, hw::Precision::bf16}};
  s.dp_attention = {8, 16, 32, 64};
  s.batch = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  s.mtp_tokens = {0, 1};
  SearchOptions o = by({"output_tokens_per_s_per_chip", "joules_per_output_token"});
  o.constraints = {{"tpot_ms", -INFINITY, 50.0}};
  o.keep_all = true;
  const ServingSearch r = search_inference(m, cat, s, o);
  CHECK(r.pruned + r.evaluated == r.total);
  REQUIRE(r.feasible > 0);
  const std::size_t tpot = r.field_index("tpot_ms"), tok = r.field_index("output_tokens_per_s_per_chip");
  for (const auto& row : r.all) CHECK(row.values[tpot] <= 50.0);
  // The best row re-estimated gives the same throughput.
  const auto& best = r.best.front();
  const ServingSystem sys(cat, r.systems[best.system], best.plan.parallel.ranks_per_chip);
  CHECK(estimate_inference(m, sys, best.plan).output_tokens_per_second_per_chip == Approx(best.values[tok]));
  // The 910C has no FP8: those candidates are pruned with that reason.
  bool fp8_pruned = false;
  for (const auto& [why, n] : r.reasons) fp8_pruned = fp8_pruned || (why == "precision not supported by the chip" && n > 0);
  CHECK(fp8_pruned);
  // CM384 has no public price: its cost fields are unknown (NaN internally); a capex entry for it
  // fixes that and leaves the GB200 rows (catalog price) unchanged.
  const std::size_t usd = r.field_index("usd_per_million_tokens");
  for (const auto& row : r.all) {
    CHECK(std::isnan(row.values[usd]) == (r.systems[row.system] == "huawei-cloudmatrix-384"));
  }
  o.cost.capex["huawei-cloudmatrix-384"] = 8.2e6;
  const ServingSearch priced = search_inference(m, cat, s, o);
  REQUIRE(priced.all.size() == r.all.size());
  for (std::size_t i = 0; i < r.all.size(); ++i) {
    const bool cm = r.systems[r.all[i].system] == "huawei-cloudmatrix-384";
    CHECK_FALSE(std::isnan(priced.all[i].values[usd]));
    if (!cm) CHECK(priced.all[i].values[usd] == r.all[i].values[usd]);
  }
}

TEST_CASE("search: nothing fits gives reasons, not an exception; cancel stops early", "[search]") {
  const auto& m = workload::get_model("gpt-3-175b");
  const auto& cat = catalog::Catalog::builtin();
  TrainingSpace s = gpt3_space();
  s.chips = {8};  // 175B with Adam does not fit on one DGX A100 in any plan
  const TrainingSearch r = search_training(m, cat, s, by({"mfu"}));
  CHECK(r.feasible == 0);
  CHECK(r.best.empty());
  REQUIRE_FALSE(r.reasons.empty());
  bool memory = false;
  for (const auto& [why, n] : r.reasons) memory = memory || (why == "exceeds memory" && n > 0);
  CHECK(memory);

  std::atomic<bool> cancel{true};
  SearchOptions o = by({"mfu"});
  o.cancel = &cancel;
  const TrainingSearch c = search_training(m, cat, gpt3_space(), o);
  CHECK(c.cancelled);
  CHECK(c.evaluated == 0);

  std::vector<std::uint64_t> seen;
  SearchOptions p = by({"mfu"}, 1);
  p.progress_interval = 0.001;
  p.progress = [&](std::uint64_t done, std::uint64_t total) {
    seen.push_back(done);
    CHECK(done <= total);
    return false;  // cancel at the first report, which comes before any work
  };
  const TrainingSearch q = search_training(m, cat, gpt3_space(), p);
  CHECK(seen == std::vector<std::uint64_t>{0});
  CHECK(q.cancelled);
  CHECK(q.evaluated == 0);
}

TEST_CASE("search: bad input names the field", "[search]") {
  const auto& m = workload::get_model("gpt-3-175b");
  const auto& cat = catalog::Catalog::builtin();
  TrainingSpace s = gpt3_space();
  auto fails = [&](const TrainingSpace& sp, const SearchOptions& o, const std::string& what) {
    CHECK_THROWS_WITH(search_training(m, cat, sp, o), Catch::Contains(what));
  };
  fails(s, SearchOptions{}, "objective: name at least one");
  fails(s, by({"tokens_per_watt"}), "'tokens_per_watt' is not an output field");
  fails(s, by({"mfu", "hfu", "step_time_s", "bubble_fraction"}), "a Pareto front takes 2 or 3");
  SearchOptions sense = by({"mfu"});
  sense.objectives[0].sense = static_cast<Sense>(7);  // read as minimise before
  fails(s, sense, "'mfu': sense is not a Sense value (7)");
  SearchOptions c = by({"mfu"});
  c.constraints = {{"step_time_s", 10.0, 1.0}};
  fails(s, c, "constraints.step_time_s: contradictory");
  c.constraints = {{"mfu", 0.6, INFINITY}, {"mfu", -INFINITY, 0.5}};
  fails(s, c, "constraints.mfu: contradictory bounds");
  c.constraints = {{"watts", 0.0, 1.0}};
  fails(s, c, "constraints: 'watts' is not an output field");
  TrainingSpace e = s;
  e.systems = {};
  fails(e, by({"mfu"}), "space.systems");
  e = s;
  e.tp = {0, 1};
  fails(e, by({"mfu"}), "space.tp: values must be >= 1");
  e = s;
  e.precision = {hw::Precision::int8};
  fails(e, by({"mfu"}), "space.precision");
  SearchOptions k = by({"mfu"});
  k.cost.pue = 0.9;
  fails(s, k, "cost.pue");
  k.cost.pue = 1.2;
  k.cost.capex["nvidia-dgx-a100"] = -1;
  fails(s, k, "cost.capex.nvidia-dgx-a100");
  k.cost.capex.clear();
  k.cost.years = 0;
  fails(s, k, "cost.years");
}

TEST_CASE("search speed", "[!benchmark]") {
  const auto& m = workload::get_model("gpt-3-175b");
  const auto& cat = catalog::Catalog::builtin();
  const TrainingSystem sys(cat, "nvidia-dgx-a100");
  TrainingPlan one = gpt3_space().base;
  one.chips = 64;
  one.parallel.tp = 8;
  one.parallel.pp = 8;
  one.parallel.dp = 1;
  TrainingSpace s = gpt3_space();
  s.overlap_dp = s.overlap_tp = s.overlap_pp = s.sequence_parallel = {};  // 197,568 candidates, 7,620 estimated
  BENCHMARK("baseline: one training estimate, GPT-3 175B on 64 A100 (TP8 PP8)") {
    return estimate_training(m, sys, one).step_time;
  };
  BENCHMARK("search: GPT-3 175B / 64 A100 without the overlap switches, 1 thread") {
    return search_training(m, cat, s, by({"mfu"}, 1)).feasible;
  };
  BENCHMARK("search: the same on all threads") { return search_training(m, cat, s, by({"mfu"})).feasible; };
}
