// Design-space search (model/search.hpp): a generic engine (enumerate, prune sub-spaces, evaluate
// on threads, keep top-k and a Pareto front) and the two problems it runs, training and serving.
#include <libperfmodel/model/search.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <libperfmodel/error.hpp>

namespace perfmodel::model {

namespace {

using workload::TransformerModel;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void bad(const std::string& field, const std::string& what) { throw InvalidArgument(field + ": " + what); }

// ---------------------------------------------------------------------------------------------
// Ranking: objectives resolved to field indices, keys normalised so that smaller is better.

struct Ranking {
  std::vector<std::size_t> index;
  std::vector<double> sign;  // +1 minimise, -1 maximise
  template <class Row>
  double key(const Row& r, std::size_t i) const { return sign[i] * r.values[index[i]]; }
  template <class Row>
  bool better(const Row& a, const Row& b) const {
    for (std::size_t i = 0; i < index.size(); ++i) {
      const double ka = key(a, i), kb = key(b, i);
      if (ka != kb) return ka < kb;
    }
    return a.id < b.id;
  }
  /// a dominates b: no worse in every objective, better in one.
  template <class Row>
  bool dominates(const Row& a, const Row& b) const {
    bool strict = false;
    for (std::size_t i = 0; i < index.size(); ++i) {
      const double ka = key(a, i), kb = key(b, i);
      if (ka > kb) return false;
      strict = strict || ka < kb;
    }
    return strict;
  }
};

/// The k best rows seen: a heap whose top is the worst kept row.
template <class Row>
class TopK {
 public:
  TopK(const Ranking& rank, std::size_t k) : rank_(&rank), k_(k) {}
  void offer(const Row& r) {
    if (k_ == 0) return;
    auto worse_first = [this](const Row& a, const Row& b) { return rank_->better(a, b); };
    if (rows_.size() < k_) {
      rows_.push_back(r);
      std::push_heap(rows_.begin(), rows_.end(), worse_first);
    } else if (rank_->better(r, rows_.front())) {
      std::pop_heap(rows_.begin(), rows_.end(), worse_first);
      rows_.back() = r;
      std::push_heap(rows_.begin(), rows_.end(), worse_first);
    }
  }
  std::vector<Row>& rows() { return rows_; }

 private:
  const Ranking* rank_;
  std::size_t k_;
  std::vector<Row> rows_;
};

/// Non-dominated rows seen (equal points are all kept, so the front of a union of fronts is the
/// front of the union: merging per-thread fronts gives the same set for any split).
template <class Row>
class Front {
 public:
  explicit Front(const Ranking& rank) : rank_(&rank) {}
  void offer(const Row& r) {
    for (const auto& q : rows_) {
      if (rank_->dominates(q, r)) return;
    }
    std::erase_if(rows_, [&](const Row& q) { return rank_->dominates(r, q); });
    rows_.push_back(r);
  }
  std::vector<Row>& rows() { return rows_; }

 private:
  const Ranking* rank_;
  std::vector<Row> rows_;
};

/// Candidates the estimator rejected for one field: how many, and the message of the lowest id
/// (deterministic whatever the thread split).
struct Rejection {
  std::uint64_t count = 0;
  std::uint64_t first = std::numeric_limits<std::uint64_t>::max();
  std::string message;
  void add(std::uint64_t id, const std::string& msg) {
    ++count;
    if (id < first) {
      first = id;
      message = msg;
    }
  }
};

/// What one worker thread collects.
template <class Row>
struct Partial {
  TopK<Row> best;
  Front<Row> front;
  std::vector<Row> all;
  std::vector<std::uint64_t> reasons;
  std::map<std::string, Rejection> rejected;  // estimator exceptions by field
  std::uint64_t evaluated = 0, feasible = 0, pruned = 0;
  Partial(const Ranking& r, std::size_t k, std::size_t n_reasons) : best(r, k), front(r), reasons(n_reasons, 0) {}
};

/// Reason names: fixed per problem, then one per constraint and one per unknown field.
struct ReasonTable {
  std::vector<std::string> names{""};
  int add(std::string name) {
    names.push_back(std::move(name));
    return static_cast<int>(names.size()) - 1;
  }
};

/// A problem supplies: radix (dimension sizes, outermost first), `structural` (how many outer
/// dimensions are enumerated before threads take over), Cand (the candidate being built),
/// set(cand, level, digit), prune(cand, level) -> reason or 0, and evaluate(cand, row) -> reason
/// or 0 (row.values filled when 0).
template <class Problem>
SearchResult<typename Problem::Plan> run_search(Problem& prob, const std::vector<FieldInfo>& fields, const SearchOptions& opt,
                        ReasonTable& reasons) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  using Row = SearchRow<typename Problem::Plan>;
  SearchResult<typename Problem::Plan> res;
  res.systems = prob.s.systems;
  for (const auto& f : fields) res.fields.push_back(f.name);
  res.bottlenecks = prob.bottleneck_names();

  // --- objectives and constraints ---------------------------------------------------------
  auto field_of = [&](const std::string& name, const std::string& what) -> std::size_t {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].name == name) return i;
    }
    std::string list;
    for (const auto& f : fields) list += (list.empty() ? "" : ", ") + f.name;
    bad(what, "'" + name + "' is not an output field; expected one of " + list);
  };
  if (opt.threads < 0) bad("threads", "must be >= 0 (0: one per core), got " + std::to_string(opt.threads));
  if (opt.objectives.empty()) bad("objective", "name at least one output field to rank by");
  if (opt.objectives.size() > 3) {
    bad("objective", std::to_string(opt.objectives.size()) + " given; a Pareto front takes 2 or 3");
  }
  Ranking rank;
  for (const auto& o : opt.objectives) {
    const std::size_t i = field_of(o.field, "objective");
    const Sense s = o.sense.value_or(fields[i].sense);
    if (s != Sense::minimize && s != Sense::maximize) {
      bad("objective", "'" + o.field + "': sense is not a Sense value (" + std::to_string(static_cast<int>(s)) + ")");
    }
    if (std::find(rank.index.begin(), rank.index.end(), i) != rank.index.end()) {
      bad("objective", "'" + o.field + "' is named twice");
    }
    rank.index.push_back(i);
    rank.sign.push_back(s == Sense::maximize ? -1.0 : 1.0);
    res.objectives.push_back({o.field, s});
  }
  struct Bound {
    std::size_t field;
    double min, max;
    int reason;
  };
  std::vector<Bound> bounds;
  for (const auto& c : opt.constraints) {
    const std::size_t i = field_of(c.field, "constraints");
    if (std::isnan(c.min) || std::isnan(c.max)) bad("constraints." + c.field, "bounds must be numbers, not NaN");
    if (c.min > c.max) {
      bad("constraints." + c.field, "contradictory: min " + std::to_string(c.min) + " > max " + std::to_string(c.max));
    }
    for (auto& b : bounds) {
      if (b.field == i) {
        b.min = std::max(b.min, c.min);
        b.max = std::min(b.max, c.max);
        if (b.min > b.max) {
          bad("constraints." + c.field, "contradictory bounds: together they require " + std::to_string(b.min) +
                                            " <= " + c.field + " <= " + std::to_string(b.max));
        }
      }
    }
    if (std::none_of(bounds.begin(), bounds.end(), [&](const Bound& b) { return b.field == i; })) {
      bounds.push_back({i, c.min, c.max, reasons.add("violates constraint on " + c.field)});
    }
  }
  std::vector<int> unknown_reason(fields.size(), 0);
  for (const auto& b : bounds) unknown_reason[b.field] = reasons.add(fields[b.field].name + " unknown");
  for (std::size_t i : rank.index) {
    if (!unknown_reason[i]) unknown_reason[i] = reasons.add(fields[i].name + " unknown");
  }

  // --- the space ------------------------------------------------------------------------------
  const auto& radix = prob.radix;
  const std::size_t levels = radix.size(), structural = prob.structural;
  std::vector<std::uint64_t> stride(levels, 1);
  res.total = 1;
  for (std::size_t l = levels; l-- > 0;) {
    if (radix[l] == 0) bad("space", "dimension " + std::to_string(l) + " has no values");
    if (radix[l] > 65535) bad("space", "a dimension has more than 65535 values");  // digits are 16-bit
    stride[l] = res.total;
    if (res.total > std::numeric_limits<std::uint64_t>::max() / 4 / radix[l]) {
      bad("space", "more than 2^62 candidates; narrow the lists");
    }
    res.total *= radix[l];
  }
  const std::uint64_t inner = structural == 0 ? res.total : stride[structural - 1];

  // Enumerate the outer dimensions depth first, pruning whole sub-spaces.
  using Digits = std::vector<std::uint16_t>;
  std::vector<Digits> prefixes;
  std::vector<std::uint64_t> structural_pruned(reasons.names.size(), 0);
  {
    Digits d(structural, 0);
    typename Problem::Cand cand = prob.start();
    auto dfs = [&](auto&& self, std::size_t level) -> void {
      if (level == structural) {
        prefixes.push_back(d);
        return;
      }
      for (std::size_t v = 0; v < radix[level]; ++v) {
        d[level] = static_cast<std::uint16_t>(v);
        prob.set(cand, level, v);
        if (const int why = prob.prune(cand, level)) {
          structural_pruned[static_cast<std::size_t>(why)] += stride[level];
          continue;
        }
        self(self, level + 1);
      }
    };
    dfs(dfs, 0);
  }
  std::uint64_t pruned_before = 0;
  for (auto n : structural_pruned) pruned_before += n;

  // --- workers ---------------------------------------------------------------------------------
  const unsigned hw_threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t want = opt.threads > 0 ? static_cast<std::size_t>(opt.threads) : hw_threads;
  const std::size_t n_threads = std::max<std::size_t>(1, std::min(want, prefixes.size()));
  res.threads = static_cast<int>(n_threads);
  std::vector<Partial<Row>> parts;
  parts.reserve(n_threads);
  for (std::size_t t = 0; t < n_threads; ++t) parts.emplace_back(rank, opt.top_k, reasons.names.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> done{pruned_before};
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> running{n_threads};
  std::mutex mu;
  std::condition_variable cv;
  std::exception_ptr failure;

  auto work = [&](Partial<Row>& part) {
    try {
      typename Problem::Cand cand = prob.start();
      Row row;
      row.values.assign(fields.size(), kNaN);
      Digits inner_d(levels - structural, 0);
      for (;;) {
        if (stop.load(std::memory_order_relaxed) || (opt.cancel && opt.cancel->load(std::memory_order_relaxed))) break;
        const std::size_t i = next.fetch_add(1);
        if (i >= prefixes.size()) break;
        std::uint64_t base = 0;
        for (std::size_t l = 0; l < structural; ++l) {
          prob.set(cand, l, prefixes[i][l]);
          base += prefixes[i][l] * stride[l];
        }
        std::fill(inner_d.begin(), inner_d.end(), 0);
        for (std::uint64_t k = 0; k < inner; ++k) {
          // Odometer over the inner dimensions (last fastest); set only what changed.
          if (k == 0) {
            for (std::size_t l = structural; l < levels; ++l) prob.set(cand, l, 0);
          } else {
            for (std::size_t l = levels; l-- > structural;) {
              auto& dig = inner_d[l - structural];
              if (++dig < radix[l]) {
                prob.set(cand, l, dig);
                break;
              }
              dig = 0;
              prob.set(cand, l, 0);
            }
          }
          row.id = base + k;
          int why = 0;
          try {
            why = prob.evaluate(cand, row);
          } catch (const Error& e) {
            const std::string msg = e.what();
            part.rejected[msg.substr(0, msg.find(':'))].add(row.id, msg);
            ++part.pruned;
            continue;
          }
          if (why < 0) {  // rejected before the full estimate
            ++part.reasons[static_cast<std::size_t>(-why)];
            ++part.pruned;
            continue;
          }
          ++part.evaluated;
          if (why == 0) {
            for (const auto& b : bounds) {
              const double v = row.values[b.field];
              if (std::isnan(v)) {
                why = unknown_reason[b.field];
                break;
              }
              if (v < b.min || v > b.max) {
                why = b.reason;
                break;
              }
            }
          }
          if (why == 0) {
            for (std::size_t o : rank.index) {
              if (std::isnan(row.values[o])) {
                why = unknown_reason[o];
                break;
              }
            }
          }
          if (why != 0) {
            ++part.reasons[static_cast<std::size_t>(why)];
            continue;
          }
          ++part.feasible;
          row.plan = cand.plan;
          row.system = static_cast<std::uint32_t>(cand.system_index);
          part.best.offer(row);
          if (rank.index.size() >= 2) part.front.offer(row);
          if (opt.keep_all) part.all.push_back(row);
        }
        done.fetch_add(inner, std::memory_order_relaxed);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      --running;
    }
    cv.notify_all();
  };

  // A first report before any work: a progress bar shows 0 %, and a callback that cancels at
  // once stops the search deterministically (no candidate evaluated).
  if (opt.progress) {
    try {
      if (!opt.progress(0, res.total)) stop = true;
    } catch (...) {
      failure = std::current_exception();
      stop = true;
    }
  }
  {
    std::vector<std::thread> pool;
    pool.reserve(n_threads);
    try {
      for (std::size_t t = 0; t < n_threads; ++t) pool.emplace_back(work, std::ref(parts[t]));
    } catch (const std::system_error& e) {
      // The threads that started stop at their next candidate and are joined (a joinable
      // std::thread destroyed would terminate the process).
      stop = true;
      running -= n_threads - pool.size();
      for (auto& t : pool) t.join();
      throw InvalidArgument("threads: could not start worker " + std::to_string(pool.size() + 1) + " of " +
                            std::to_string(n_threads) + " (" + e.what() + "); ask for fewer threads");
    }
    const auto interval = std::chrono::duration<double>(std::max(0.001, opt.progress_interval));
    std::unique_lock<std::mutex> lock(mu);
    while (running > 0) {
      cv.wait_for(lock, interval, [&] { return running == 0; });
      if (opt.progress && running > 0) {
        lock.unlock();
        bool go = true;
        try {
          go = opt.progress(done.load(), res.total);
        } catch (...) {
          std::lock_guard<std::mutex> g(mu);
          if (!failure) failure = std::current_exception();
          go = false;
        }
        if (!go) stop = true;
        lock.lock();
      }
    }
    lock.unlock();
    for (auto& t : pool) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  res.cancelled = stop.load() || (opt.cancel && opt.cancel->load());
  if (opt.progress && !res.cancelled) opt.progress(res.total, res.total);

  // --- merge (order independent of the thread split) -----------------------------------------
  std::vector<std::uint64_t> counts = structural_pruned;
  counts.resize(reasons.names.size(), 0);
  std::map<std::string, Rejection> rejected;
  res.pruned = pruned_before;
  auto by_rank = [&](const Row& a, const Row& b) { return rank.better(a, b); };
  for (auto& p : parts) {
    for (std::size_t i = 0; i < p.reasons.size(); ++i) counts[i] += p.reasons[i];
    for (const auto& [k, x] : p.rejected) {
      Rejection& into = rejected[k];
      into.count += x.count;
      if (x.first < into.first) {
        into.first = x.first;
        into.message = x.message;
      }
    }
    res.pruned += p.pruned;
    res.evaluated += p.evaluated;
    res.feasible += p.feasible;
    for (auto& r : p.best.rows()) res.best.push_back(std::move(r));
    for (auto& r : p.front.rows()) res.front.push_back(std::move(r));
    for (auto& r : p.all) res.all.push_back(std::move(r));
  }
  std::sort(res.best.begin(), res.best.end(), by_rank);
  if (res.best.size() > opt.top_k) res.best.resize(opt.top_k);
  if (rank.index.size() >= 2) {
    std::sort(res.front.begin(), res.front.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
    Front<Row> merged(rank);
    for (const auto& r : res.front) merged.offer(r);
    res.front = std::move(merged.rows());
    std::sort(res.front.begin(), res.front.end(), by_rank);
  }
  std::sort(res.all.begin(), res.all.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] > 0) res.reasons.emplace_back(reasons.names[i], counts[i]);
  }
  for (const auto& [k, x] : rejected) res.reasons.emplace_back("rejected by the estimator, e.g. " + x.message, x.count);
  std::stable_sort(res.reasons.begin(), res.reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return res;
}

void check_cost(const CostModel& c) {
  if (!(c.price_per_kwh >= 0 && std::isfinite(c.price_per_kwh))) bad("cost.price_per_kwh", "must be >= 0 USD/kWh");
  if (!(c.pue >= 1 && std::isfinite(c.pue))) bad("cost.pue", "must be >= 1 (facility power over IT power)");
  if (!(c.years > 0 && std::isfinite(c.years))) bad("cost.years", "must be > 0");
  if (!(c.utilization > 0 && c.utilization <= 1)) bad("cost.utilization", "must be in (0, 1]");
  for (const auto& [id, usd] : c.capex) {
    if (!(usd > 0 && std::isfinite(usd))) bad("cost.capex." + id, "must be > 0 USD");
  }
}

/// USD per busy hour of `chips` chips of `sys` drawing `e`, plus `idle_chips` the plan leaves
/// idle beside them (their capital, and their idle draw throughout), as perfmodel.cost() charges
/// a system (NaN when the price or energy is unknown).
double usd_per_hour(const CostModel& c, const hw::System& sys, const std::optional<EnergyEstimate>& e, double chips,
                    double idle_chips = 0.0) {
  const auto own = c.capex.find(sys.id);
  const double capex = own != c.capex.end() ? own->second : sys.price.known() ? sys.price.require(sys.id).value() : kNaN;
  if (!e || std::isnan(capex)) return kNaN;
  const double hours = c.years * 8760.0 * c.utilization;
  const double capex_h = capex * (chips + idle_chips) / sys.chip_count() / hours;
  const double avg_w = e->watts_per_chip + (1.0 - c.utilization) / c.utilization * e->idle_watts_per_chip;
  const double idle_w = e->idle_watts_per_chip / c.utilization;
  return capex_h + (avg_w * chips + idle_w * idle_chips) * c.pue / 1e3 * c.price_per_kwh;
}

template <class T>
std::size_t size_or_one(const std::vector<T>& v) {
  return v.empty() ? 1 : v.size();
}
template <class T, class U>
void pick(const std::vector<T>& v, std::size_t d, U& out) {
  if (!v.empty()) out = v[d];
}
template <class T>
void require_at_least(const std::vector<T>& v, long long lo, const char* field) {
  for (const auto& x : v) {
    if (static_cast<long long>(x) < lo) bad(std::string("space.") + field, "values must be >= " + std::to_string(lo) + ", got " + std::to_string(x));
  }
}

/// A candidate starting from the space's base plan; the search checks memory itself (when the
/// base plan's check_memory is on).
template <class Cand, class Plan>
Cand starting_from(const Plan& base) {
  Cand c;
  c.plan = base;
  c.plan.check_memory = false;
  return c;
}

template <class Part, std::size_t N>
std::vector<std::string> part_names() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < N; ++i) out.emplace_back(to_string(static_cast<Part>(i)));
  return out;
}

int part_index(const std::vector<std::string>& names, const std::string& name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Training

enum TrainLevel : std::size_t { kSys, kChips, kPrec, kTp, kCp, kPp, kDp, kEp, kVs, kMb, kRec, kShard, kSp, kOdp, kOtp, kOpp, kTrainLevels };

struct TrainingProblem {
  using Plan = TrainingPlan;
  struct Cand {
    std::size_t system_index = 0;
    TrainingPlan plan;
  };
  const TransformerModel& m;
  const TrainingSpace& s;
  const CostModel& cost;
  std::vector<TrainingSystem> systems;
  std::vector<std::int64_t> system_chips;
  std::vector<std::size_t> radix;
  std::size_t structural = kRec;
  int r_degrees, r_tp, r_cp, r_pp, r_vs, r_vs_pp, r_batch, r_ep, r_precision, r_memory;

  TrainingProblem(const TransformerModel& model, const catalog::Catalog& cat, const TrainingSpace& space,
                  const CostModel& c, ReasonTable& reasons)
      : m(model), s(space), cost(c) {
    if (s.systems.empty()) bad("space.systems", "name at least one catalog system");
    for (const auto& id : s.systems) {
      systems.emplace_back(cat, id, s.base.parallel.ranks_per_chip);
      system_chips.push_back(systems.back().system().chip_count());
    }
    require_at_least(s.chips, 1, "chips");
    for (auto [v, f] : {std::pair{&s.tp, "tp"}, {&s.cp, "cp"}, {&s.pp, "pp"}, {&s.dp, "dp"}, {&s.ep, "ep"},
                        {&s.virtual_stages, "virtual_stages"}}) {
      require_at_least(*v, 1, f);
      for (int x : *v) {
        if (x > 65535) bad(std::string("space.") + f, "values must be <= 65535");
      }
    }
    require_at_least(s.micro_batch, 1, "micro_batch");
    for (auto p : s.precision) {
      if (p != hw::Precision::bf16 && p != hw::Precision::fp16 && p != hw::Precision::fp8) {
        bad("space.precision", "training runs GEMMs in bf16, fp16 or fp8, got " + std::string(hw::to_string(p)));
      }
    }
    radix = {s.systems.size(), size_or_one(s.chips), size_or_one(s.precision), size_or_one(s.tp), size_or_one(s.cp),
             size_or_one(s.pp), size_or_one(s.dp), size_or_one(s.ep), size_or_one(s.virtual_stages),
             size_or_one(s.micro_batch), size_or_one(s.recompute), size_or_one(s.sharding),
             size_or_one(s.sequence_parallel), size_or_one(s.overlap_dp), size_or_one(s.overlap_tp),
             size_or_one(s.overlap_pp)};
    r_degrees = reasons.add("tp x cp x dp x pp is not the chip count");
    r_tp = reasons.add("tp does not divide the heads or FFN, or exceeds the scale-up domain");
    r_cp = reasons.add("cp does not divide the sequence length");
    r_pp = reasons.add("pp does not divide the layers");
    r_vs = reasons.add("virtual_stages does not divide a stage's layers");
    r_vs_pp = reasons.add("virtual_stages above 1 needs pp >= 2");
    r_batch = reasons.add("dp x micro_batch does not divide the global batch");
    r_ep = reasons.add("ep does not divide tp x cp x dp or the experts");
    r_precision = reasons.add("precision not supported by the chip");
    r_memory = reasons.add("exceeds memory");
  }

  Cand start() const { return starting_from<Cand>(s.base); }
  std::vector<std::string> bottleneck_names() const { return part_names<TrainPart, kTrainParts>(); }
  int stage_layers(const TrainingParallelism& p) const {
    return p.layout == StageLayout::even ? m.layers / p.pp : (m.layers + 2) / p.pp;
  }

  void set(Cand& c, std::size_t level, std::size_t d) const {
    auto& p = c.plan;
    auto& q = p.parallel;
    switch (level) {
      case kSys: c.system_index = d; break;
      case kChips: p.chips = s.chips.empty() ? system_chips[c.system_index] : s.chips[d]; break;
      case kPrec: pick(s.precision, d, p.precision); break;
      case kTp: pick(s.tp, d, q.tp); break;
      case kCp: pick(s.cp, d, q.cp); break;
      case kPp: pick(s.pp, d, q.pp); break;
      case kDp: {
        if (!s.dp.empty()) {
          q.dp = s.dp[d];
        } else {
          const std::int64_t inner = static_cast<std::int64_t>(q.tp) * q.cp * q.pp;
          const std::int64_t ranks = p.chips * q.ranks_per_chip;
          q.dp = ranks % inner == 0 ? static_cast<int>(std::min<std::int64_t>(ranks / inner, 1 << 30)) : 0;
        }
        break;
      }
      case kEp: pick(s.ep, d, q.ep); break;
      case kVs: pick(s.virtual_stages, d, q.virtual_stages); break;
      case kMb: pick(s.micro_batch, d, p.micro_batch); break;
      case kRec: pick(s.recompute, d, p.recompute); break;
      case kShard: pick(s.sharding, d, p.sharding); break;
      case kSp: if (!s.sequence_parallel.empty()) q.sequence_parallel = s.sequence_parallel[d]; break;
      case kOdp: if (!s.overlap_dp.empty()) p.overlap_dp = s.overlap_dp[d]; break;
      case kOtp: if (!s.overlap_tp.empty()) p.overlap_tp = s.overlap_tp[d]; break;
      case kOpp: if (!s.overlap_pp.empty()) p.overlap_pp = s.overlap_pp[d]; break;
      default: break;
    }
  }

  /// Cheap structural rules (a subset of estimate_training's checks, which stay the authority).
  int prune(const Cand& c, std::size_t level) const {
    const auto& p = c.plan;
    const auto& q = p.parallel;
    const TrainingSystem& sys = systems[c.system_index];
    const std::int64_t ranks = p.chips * q.ranks_per_chip;
    switch (level) {
      case kPrec: return sys.device().supports(p.precision) ? 0 : r_precision;
      case kTp:
        if (ranks % q.tp != 0) return r_degrees;
        if (m.heads % q.tp != 0 || q.tp > sys.domain() || (m.ffn % q.tp != 0 && m.dense_layers() > 0) ||
            (!m.mla && m.kv_heads >= q.tp && m.kv_heads % q.tp != 0)) {
          return r_tp;
        }
        return 0;
      case kCp:
        if (p.seq_len % q.cp != 0) return r_cp;
        return ranks % (static_cast<std::int64_t>(q.tp) * q.cp) == 0 ? 0 : r_degrees;
      case kPp:
        if (q.layout == StageLayout::even ? m.layers % q.pp != 0 : (q.pp < 2 || (m.layers + 2) % q.pp != 0)) return r_pp;
        return ranks % (static_cast<std::int64_t>(q.tp) * q.cp * q.pp) == 0 ? 0 : r_degrees;
      case kDp: return q.dp > 0 && q.ranks() == ranks ? 0 : r_degrees;
      case kEp:
        // As estimate_training: the expert group divides tp x cp x dp and the experts (a group
        // spanning TP ranks also needs sequence parallelism: the estimator refuses it).
        if (m.moe) {
          return (static_cast<std::int64_t>(q.dp) * q.cp * q.tp) % q.ep == 0 && m.moe->routed_experts % q.ep == 0 ? 0
                                                                                                                 : r_ep;
        }
        return q.ep == 1 ? 0 : r_ep;
      case kVs:
        if (q.virtual_stages == 1) return 0;
        if (q.pp < 2) return r_vs_pp;
        return stage_layers(q) % q.virtual_stages == 0 ? 0 : r_vs;
      case kMb: return p.global_batch % (static_cast<std::int64_t>(q.dp) * p.micro_batch) == 0 ? 0 : r_batch;
      default: return 0;
    }
  }

  template <class Row>
  int evaluate(const Cand& c, Row& row) const {
    const TrainingSystem& sys = systems[c.system_index];
    const TrainingResult r = estimate_training(m, sys, c.plan);
    double* v = row.values.data();
    const double chips = static_cast<double>(r.chips);
    double exposed_comm = 0;
    for (std::size_t i = 0; i < kTrainParts; ++i) {
      if (is_communication(static_cast<TrainPart>(i))) exposed_comm += r.parts[i].exposed;
    }
    const bool tt = c.plan.train_tokens > 0;
    const double usd_h = usd_per_hour(cost, sys.system(), r.energy, chips);
    v[0] = r.step_time;
    v[1] = r.tokens_per_second;
    v[2] = r.tokens_per_second_per_chip;
    v[3] = r.model_flops_per_chip / 1e12;
    v[4] = r.mfu;
    v[5] = r.hfu;
    v[6] = r.bubble_fraction;
    v[7] = r.memory.total() / 1e9;
    v[8] = (r.memory.capacity - r.memory.total()) / 1e9;
    v[9] = exposed_comm;
    v[10] = static_cast<double>(r.micro_batches);
    v[11] = tt ? r.time_to_train / 86400.0 : kNaN;
    v[12] = tt ? r.chip_hours : kNaN;
    v[13] = r.energy ? r.energy->watts_per_chip : kNaN;
    v[14] = r.energy ? r.joules_per_token : kNaN;
    v[15] = r.energy ? r.tokens_per_joule : kNaN;
    v[16] = r.energy ? r.flops_per_watt / 1e9 : kNaN;
    v[17] = r.energy && tt ? r.energy_to_train / 3.6e9 : kNaN;
    v[18] = usd_h;
    v[19] = usd_h / (r.tokens_per_second * 3600.0) * 1e6;
    v[20] = tt ? usd_h * r.time_to_train / 3600.0 : kNaN;
    row.bottleneck = part_index(names_, r.bottleneck);
    return r.memory.fits() || !s.base.check_memory ? 0 : r_memory;  // the base plan's check_memory decides
  }
  std::vector<std::string> names_ = bottleneck_names();
};

// ---------------------------------------------------------------------------------------------
// Serving

enum ServeLevel : std::size_t { sSys, sRpc, sPrec, sTp, sDpa, sPp, sEp, sPre, sMtp, sBatch, sOverlap, kServeLevels };

struct ServingProblem {
  using Plan = InferencePlan;
  struct Cand {
    std::size_t sys = 0;  // index into systems: system x ranks_per_chip
    std::size_t system_index = 0;
    InferencePlan plan;
  };
  const TransformerModel& m;
  const ServingSpace& s;
  const CostModel& cost;
  std::vector<ServingSystem> systems;  // [system][ranks_per_chip]
  std::vector<std::size_t> radix;
  std::size_t structural = sBatch;
  int r_tp, r_pp, r_ep, r_size, r_mtp, r_precision, r_batch, r_memory;

  ServingProblem(const TransformerModel& model, const catalog::Catalog& cat, const ServingSpace& space,
                 const CostModel& c, ReasonTable& reasons)
      : m(model), s(space), cost(c) {
    if (s.systems.empty()) bad("space.systems", "name at least one catalog system");
    require_at_least(s.ranks_per_chip, 1, "ranks_per_chip");
    for (const auto& id : s.systems) {
      if (s.ranks_per_chip.empty()) {
        systems.emplace_back(cat, id, s.base.parallel.ranks_per_chip);
      } else {
        for (int rpc : s.ranks_per_chip) systems.emplace_back(cat, id, rpc);
      }
    }
    for (auto [v, f] : {std::pair{&s.tp, "tp"}, {&s.dp_attention, "dp_attention"}, {&s.pp, "pp"}}) {
      require_at_least(*v, 1, f);
    }
    require_at_least(s.ep, 0, "ep");
    require_at_least(s.mtp_tokens, 0, "mtp_tokens");
    require_at_least(s.batch, 1, "batch");
    radix = {s.systems.size(), size_or_one(s.ranks_per_chip), size_or_one(s.precision), size_or_one(s.tp),
             size_or_one(s.dp_attention), size_or_one(s.pp), size_or_one(s.ep), size_or_one(s.prefill_parallel),
             size_or_one(s.mtp_tokens), size_or_one(s.batch), size_or_one(s.overlap)};
    r_tp = reasons.add("tp does not divide the attention heads");
    r_pp = reasons.add("pp does not divide the layers");
    r_ep = reasons.add("ep does not divide the experts or exceeds the stage's ranks");
    r_size = reasons.add("instance larger than the system");
    r_mtp = reasons.add("model has no multi-token-prediction modules");
    r_precision = reasons.add("precision not supported by the chip");
    r_batch = reasons.add("batch does not divide over dp_attention");
    r_memory = reasons.add("exceeds memory");
  }

  Cand start() const { return starting_from<Cand>(s.base); }
  std::vector<std::string> bottleneck_names() const { return part_names<StepPart, kStepParts>(); }
  const ServingSystem& sys(const Cand& c) const { return systems[c.sys]; }

  void set(Cand& c, std::size_t level, std::size_t d) const {
    auto& p = c.plan;
    auto& q = p.parallel;
    switch (level) {
      case sSys: c.system_index = d; break;
      case sRpc:
        c.sys = c.system_index * radix[sRpc] + d;
        q.ranks_per_chip = systems[c.sys].ranks_per_chip();
        break;
      case sPrec: pick(s.precision, d, p.precision); break;
      case sTp: pick(s.tp, d, q.tp); break;
      case sDpa: pick(s.dp_attention, d, q.dp_attention); break;
      case sPp: pick(s.pp, d, q.pp); break;
      case sEp: pick(s.ep, d, q.ep); break;
      case sPre:
        if (!s.prefill_parallel.empty()) {
          p.prefill_parallel = s.prefill_parallel[d];
          if (p.prefill_parallel) p.prefill_parallel->ranks_per_chip = q.ranks_per_chip;
        }
        break;
      case sMtp: pick(s.mtp_tokens, d, p.mtp_tokens); break;
      case sBatch: pick(s.batch, d, p.batch); break;
      case sOverlap: if (!s.overlap.empty()) p.overlap = s.overlap[d]; break;
      default: break;
    }
  }

  int prune(const Cand& c, std::size_t level) const {
    const auto& p = c.plan;
    const auto& q = p.parallel;
    const double ranks_available = static_cast<double>(sys(c).system().chip_count()) * q.ranks_per_chip * p.systems;
    switch (level) {
      case sPrec: return sys(c).device().supports(p.precision.weights) ? 0 : r_precision;
      case sTp: return m.heads % q.tp == 0 ? 0 : r_tp;
      case sPp: {
        if (m.layers % q.pp != 0) return r_pp;
        return q.ranks() <= ranks_available ? 0 : r_size;
      }
      case sEp:
        if (!m.moe) return 0;
        // Expert slots are the routed experts plus the redundant replicas (256 + 32 over EP72).
        return (m.moe->routed_experts + q.redundant_experts) % q.expert_parallel() == 0 &&
                       q.expert_parallel() <= q.stage_ranks()
                   ? 0
                   : r_ep;
      case sPre:
        return !p.prefill_parallel || p.prefill_parallel->ranks() <= ranks_available ? 0 : r_size;
      case sMtp: return p.mtp_tokens == 0 || m.mtp_layers > 0 ? 0 : r_mtp;
      default: return 0;
    }
  }

  template <class Row>
  int evaluate(const Cand& c, Row& row) const {
    const auto& p = c.plan;
    if (p.mode != InferencePlan::Mode::prefill && p.batch % p.parallel.dp_attention != 0) return -r_batch;
    const InferenceResult r = estimate_inference(m, sys(c), p);
    double* v = row.values.data();
    const PhaseEstimate& main = r.decode ? *r.decode : *r.prefill;
    const bool fits = (!r.decode || r.decode->memory.fits()) && (!r.prefill || r.prefill->memory.fits());
    const bool out = r.decode.has_value();
    // Cost per instance: the decode instance plus, disaggregated, its share of prefill chips
    // (co-located, prefill runs on the instance's own chips).
    const double chips = p.prefill_parallel && out ? r.chips_per_instance / (1.0 - r.prefill_chip_share)
                                                   : r.chips_per_instance;
    std::optional<EnergyEstimate> e;
    if (r.energy) {
      e = main.energy;
      if (e) e->watts_per_chip = r.energy->watts_per_chip;
    }
    // Its share of the chips whole instances leave idle (48-chip instances on a 72-chip rack: 24).
    const double idle = r.instances_per_system > 0
                            ? std::max(0.0, r.system_chips / r.instances_per_system - chips) : 0.0;
    const double usd_h = usd_per_hour(cost, sys(c).system(), e, chips, idle);
    const double tok_s = out ? r.output_tokens_per_second_per_chip : r.input_tokens_per_second_per_chip;
    v[0] = r.prefill ? r.ttft * 1e3 : kNaN;
    v[1] = out ? r.tpot * 1e3 : kNaN;
    v[2] = out ? r.output_tokens_per_second_per_chip : kNaN;
    v[3] = r.prefill ? r.input_tokens_per_second_per_chip : kNaN;
    v[4] = out ? r.output_tokens_per_second_per_instance : kNaN;
    v[5] = out ? r.output_tokens_per_second_per_system : kNaN;
    v[6] = r.chips_per_instance;
    v[7] = main.memory.total() / 1e9;
    v[8] = static_cast<double>(main.max_batch);
    v[9] = r.model_flops_utilization;
    v[10] = r.energy ? r.energy->watts_per_chip : kNaN;
    v[11] = r.energy && r.energy->joules_per_output_token > 0 ? r.energy->joules_per_output_token : kNaN;
    v[12] = r.energy && r.energy->joules_per_input_token > 0 ? r.energy->joules_per_input_token : kNaN;
    v[13] = r.energy && r.energy->output_tokens_per_joule > 0 ? r.energy->output_tokens_per_joule : kNaN;
    v[14] = usd_h;
    v[15] = tok_s > 0 ? usd_h / (tok_s * chips * 3600.0) * 1e6 : kNaN;
    row.bottleneck = part_index(names_, r.bottleneck);
    return fits || !s.base.check_memory ? 0 : r_memory;  // the base plan's check_memory decides
  }
  std::vector<std::string> names_ = bottleneck_names();
};

}  // namespace

const std::vector<FieldInfo>& training_fields() {
  static const std::vector<FieldInfo> f = {
      {"step_time_s", Sense::minimize, "seconds per optimizer step"},
      {"tokens_per_s", Sense::maximize, "trained tokens per second, whole cluster"},
      {"tokens_per_s_per_chip", Sense::maximize, "trained tokens per second per chip"},
      {"tflops_per_chip", Sense::maximize, "achieved model TFLOP/s per chip"},
      {"mfu", Sense::maximize, "model FLOPs utilisation"},
      {"hfu", Sense::maximize, "hardware FLOPs utilisation (with recomputation)"},
      {"bubble_fraction", Sense::minimize, "pipeline bubble over the step"},
      {"memory_per_chip_GB", Sense::minimize, "HBM used per chip [GB]"},
      {"memory_headroom_GB", Sense::maximize, "HBM left per chip [GB]"},
      {"exposed_communication_s", Sense::minimize, "communication on the critical path per step [s]"},
      {"micro_batches", Sense::minimize, "micro-batches per pipeline per step"},
      {"days_to_train", Sense::minimize, "days for train_tokens (unknown without train_tokens)"},
      {"chip_hours", Sense::minimize, "chip-hours for train_tokens"},
      {"watts_per_chip", Sense::minimize, "all-in average watts per chip"},
      {"joules_per_token", Sense::minimize, "all-in joules per trained token"},
      {"tokens_per_joule", Sense::maximize, "trained tokens per all-in joule"},
      {"gflops_per_watt", Sense::maximize, "model GFLOP/s per all-in watt"},
      {"energy_to_train_MWh", Sense::minimize, "energy for train_tokens [MWh]"},
      {"usd_per_hour", Sense::minimize, "capital + power cost per busy hour of the cluster [USD]"},
      {"usd_per_million_tokens", Sense::minimize, "cost per million trained tokens [USD]"},
      {"usd_per_run", Sense::minimize, "cost of training train_tokens [USD]"},
  };
  return f;
}

const std::vector<FieldInfo>& serving_fields() {
  static const std::vector<FieldInfo> f = {
      {"ttft_ms", Sense::minimize, "time to first token (the prefill forward through the pipeline) [ms]"},
      {"tpot_ms", Sense::minimize, "time per output token [ms]"},
      {"output_tokens_per_s_per_chip", Sense::maximize, "output tokens per second per chip"},
      {"input_tokens_per_s_per_chip", Sense::maximize, "prompt tokens per second per chip (prefill)"},
      {"output_tokens_per_s_per_instance", Sense::maximize, "output tokens per second per decode instance"},
      {"output_tokens_per_s_per_system", Sense::maximize, "output tokens per second per system"},
      {"chips_per_instance", Sense::minimize, "chips per (decode) instance"},
      {"memory_per_chip_GB", Sense::minimize, "HBM used per chip [GB]"},
      {"max_batch", Sense::maximize, "largest batch that fits in memory"},
      {"mfu", Sense::maximize, "model FLOPs utilisation"},
      {"watts_per_chip", Sense::minimize, "all-in average watts per chip"},
      {"joules_per_output_token", Sense::minimize, "decode energy per output token [J]"},
      {"joules_per_input_token", Sense::minimize, "prefill energy per prompt token [J]"},
      {"output_tokens_per_joule", Sense::maximize, "output tokens per all-in joule"},
      {"usd_per_hour", Sense::minimize, "capital + power cost per busy hour of an instance, with its share of chips the plan leaves idle [USD]"},
      {"usd_per_million_tokens", Sense::minimize, "cost per million output tokens (prefill mode: input) [USD]"},
  };
  return f;
}

TrainingSearch search_training(const TransformerModel& model, const catalog::Catalog& cat, const TrainingSpace& space,
                             const SearchOptions& options) {
  model.validate(model.source_file.empty() ? model.id : model.source_file);
  check_cost(options.cost);
  // The fixed sizes are checked before the divisibility rules read them (a global batch of -5
  // read as "dp x micro_batch does not divide the global batch").
  for (const auto& [v, f] : {std::pair{space.base.global_batch, "global_batch"}, {space.base.seq_len, "seq_len"}}) {
    if (v < 1) throw InvalidArgument(std::string(f) + ": must be >= 1, got " + std::to_string(v));
  }
  ReasonTable reasons;
  TrainingProblem prob(model, cat, space, options.cost, reasons);
  return run_search(prob, training_fields(), options, reasons);
}

ServingSearch search_inference(const TransformerModel& model, const catalog::Catalog& cat, const ServingSpace& space,
                              const SearchOptions& options) {
  model.validate(model.source_file.empty() ? model.id : model.source_file);
  check_cost(options.cost);
  ReasonTable reasons;
  ServingProblem prob(model, cat, space, options.cost, reasons);
  return run_search(prob, serving_fields(), options, reasons);
}

}  // namespace perfmodel::model
