// Training model in C++: FLOP accounting, schedule arithmetic, errors, speed benchmark.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/model/training.hpp>
#include <libperfmodel/workload/model.hpp>

using namespace perfmodel;
using model::Recompute;
using model::TrainingPlan;
using model::TrainPart;

namespace {
TrainingPlan llama3_405b() {  // Llama 3 Table 4, first row (see README "Training")
  TrainingPlan p;
  p.global_batch = 2048;
  p.seq_len = 8192;
  p.parallel.tp = 8;
  p.parallel.pp = 16;
  p.parallel.dp = 64;
  p.parallel.virtual_stages = 8;
  p.parallel.layout = model::StageLayout::lighter_ends;
  p.recompute = Recompute::none;
  p.sharding = model::Sharding::optimizer;  // FP32 accumulation over micro-batches, one reduce-scatter
  p.check_memory = false;
  return p;
}
double part(const model::TrainingResult& r, TrainPart p) { return r.parts[static_cast<std::size_t>(p)].exposed; }
/// Llama 3.1 70B-sized plan: TP8 PP4, `dp` replicas, `batch` sequences of `seq` tokens, memory check off.
TrainingPlan tp8_pp4(int dp, std::int64_t batch, std::int64_t seq) {
  TrainingPlan p;
  p.parallel.tp = 8;
  p.parallel.pp = 4;
  p.parallel.dp = dp;
  p.global_batch = batch;
  p.seq_len = seq;
  p.check_memory = false;
  return p;
}
}  // namespace

TEST_CASE("training: Llama 3 405B on 8,192 H100 - FLOPs, schedule and parts add up", "[training]") {
  const auto& m = workload::get_model("llama-3.1-405b");
  const auto r = model::estimate_training(m, "nvidia-dgx-h100", llama3_405b());
  CHECK(r.chips == 8192);
  CHECK(r.micro_batches == 32);  // 2048 sequences / (64 replicas x 1)
  // 6 x (405B - input embedding) + attention 12 x layers x seq x heads x head_dim per token.
  const double per_token = 6.0 * (m.parameters() - m.embedding_parameters()) + 12.0 * 126 * 8192 * 128 * 128;
  CHECK(r.model_flops == Approx(per_token * 2048 * 8192).epsilon(1e-9));
  // No recompute: the kernels skip the masked half of the causal scores (12 -> 6 x layers x seq x
  // heads x head_dim per token) and the flash backward recomputes them (+1): 7 of the model's 12.
  CHECK(r.hardware_flops == Approx(r.model_flops - 5.0 * 126 * 8192 * 128 * 128 * 2048 * 8192).epsilon(1e-9));
  double sum = 0;
  for (const auto& x : r.parts) sum += x.exposed;
  CHECK(sum == Approx(r.step_time).epsilon(1e-12));
  // Bubble: (pp - 1) / v micro-batch slots: 15/8 of one of the 32 steady slots.
  const double steady = r.step_time - part(r, TrainPart::bubble) - part(r, TrainPart::optimizer) - part(r, TrainPart::dp_comm);
  CHECK(part(r, TrainPart::bubble) == Approx(15.0 / 8.0 * steady / 32.0).epsilon(1e-9));
  // Published: 430 TFLOP/s per GPU; a documented miss (accuracy.md: +10.2 %), pinned below 11 %
  // so that a change moving it further shows here.
  CHECK(std::abs(r.model_flops_per_chip / 430e12 - 1.0) < 0.11);
}

TEST_CASE("training: full recompute costs one extra forward of the layers", "[training]") {
  const auto& m = workload::get_model("llama-3.1-70b");
  TrainingPlan p = tp8_pp4(2, 64, 4096);
  p.check_memory = true;
  p.recompute = Recompute::none;
  const auto none = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.recompute = Recompute::full;
  const auto full = model::estimate_training(m, "nvidia-dgx-h100", p);
  const auto& fwd = none.parts[static_cast<std::size_t>(TrainPart::forward)];
  const auto& rec = full.parts[static_cast<std::size_t>(TrainPart::recompute)];
  // Recompute repeats the layers' forward (the head is not recomputed): a bit less than the forward.
  CHECK(rec.time < fwd.time);
  CHECK(rec.time > 0.9 * fwd.time);
  CHECK(full.memory.activations < 0.2 * none.memory.activations);
  CHECK(full.step_time > none.step_time);
}

TEST_CASE("training: errors name the constraint", "[training]") {
  const auto& m = workload::get_model("llama-3.1-405b");
  TrainingPlan p = llama3_405b();
  p.parallel.layout = model::StageLayout::even;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("does not divide the 126 layers"));
  p = llama3_405b();
  p.chips = 8000;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("not the 8000 chips asked"));
  p = llama3_405b();
  p.check_memory = true;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("over by"));
  p = llama3_405b();
  p.micro_batch = 3;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("does not divide the global batch"));
  CHECK_THROWS_AS(model::estimate_training(m, "no-such-system", llama3_405b()), NotFound);
  // Enums cast from out-of-range integers are refused (Sharding(4) priced a 48 GB stage).
  p = llama3_405b();
  p.sharding = static_cast<model::Sharding>(4);
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("sharding: not a Sharding value (4)"));
  p = llama3_405b();
  p.parallel.layout = static_cast<model::StageLayout>(42);
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("parallel.layout: not a StageLayout"));
  // An activation cast from an out-of-range integer is refused (it estimated as gelu).
  workload::TransformerModel odd = m;
  odd.activation = static_cast<workload::FfnActivation>(5);
  CHECK_THROWS_WITH(model::estimate_training(odd, "nvidia-dgx-h100", llama3_405b()),
                    Catch::Contains("activation: not an FfnActivation value (5)"));
  p = llama3_405b();  // degrees whose product wraps in 64 bits (it read 0 ranks and got past the limit)
  p.parallel.cp = 1 << 24;
  p.parallel.dp = 1 << 30;
  p.parallel.pp = 128;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("ranks exceed the supported"));
  p = llama3_405b();
  p.cp_comm = static_cast<model::CpComm>(2);
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("cp_comm: not a CpComm value (2)"));
}

TEST_CASE("training: Llama 3's all-gather CP is exposed, the ring hides under attention", "[training]") {
  // Llama 3 405B at 131K tokens, TP8 CP16 PP16 DP8 (Table 4, third row).
  const auto& m = workload::get_model("llama-3.1-405b");
  TrainingPlan p = llama3_405b();
  p.parallel.cp = 16;
  p.parallel.dp = 8;
  p.seq_len = 131072;
  p.global_batch = 128;
  const auto ring = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.cp_comm = model::CpComm::allgather;
  const auto ag = model::estimate_training(m, "nvidia-dgx-h100", p);
  const auto& rc = ring.parts[static_cast<std::size_t>(TrainPart::cp_comm)];
  const auto& ac = ag.parts[static_cast<std::size_t>(TrainPart::cp_comm)];
  CHECK(ac.exposed == ac.time);
  CHECK(rc.exposed < rc.time);
  CHECK(rc.bytes == Approx(1.5 * ac.bytes).epsilon(1e-12));  // the ring's backward passes K/V round again
  CHECK(ag.memory.activations > ring.memory.activations);     // the gathered K/V kept for the backward
  CHECK(ag.model_flops == ring.model_flops);
}

TEST_CASE("training: fp8 end layers in bf16 load the end stages of the pipeline", "[training]") {
  // Megatron-Bridge's FP8 current-scaling recipe keeps the first and last Transformer layer in bf16.
  const auto& m = workload::get_model("llama-3.1-405b");
  TrainingPlan p = llama3_405b();
  p.precision = hw::Precision::fp8;
  const auto base = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.bf16_layers = 1;
  const auto ends = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.bf16_layers = 2;
  const auto ends2 = model::estimate_training(m, "nvidia-dgx-h100", p);
  // One-layer chunks (V = 8) deal consecutive layers to consecutive stages: layer 0 to stage 1
  // (stage 0's first chunk is the embedding), layer 1 to stage 2. A second bf16 layer at each end
  // lands on another stage, so the slowest stage, and the pace, stay as with one.
  const auto fwd = [](const model::TrainingResult& r) { return r.parts[static_cast<std::size_t>(TrainPart::forward)].time; };
  CHECK(fwd(ends) > fwd(base));
  CHECK(fwd(ends2) == Approx(fwd(ends)).epsilon(1e-12));
  CHECK(ends2.step_time == Approx(ends.step_time).epsilon(1e-12));
  CHECK(ends.step_time > base.step_time);
  CHECK(ends.model_flops == Approx(base.model_flops));
  p.precision = hw::Precision::fp8;
  p.bf16_layers = 64;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("bf16_layers: must be between 0 and half"));
}

TEST_CASE("training: an explicit stage split paces the pipeline by its heaviest stage", "[training]") {
  // Llama 3.1 70B (80 layers) over PP4 without interleaving: an explicit even list is the even
  // layout; moving layers onto one stage slows the step by that stage's extra layers (the last
  // stage also runs the LM head, so it is the pace-setter of the even split).
  const auto& m = workload::get_model("llama-3.1-70b");
  TrainingPlan p = tp8_pp4(1, 512, 8192);
  p.recompute = Recompute::none;
  const auto even = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.parallel.stage_layers = {20, 20, 20, 20};
  const auto listed = model::estimate_training(m, "nvidia-dgx-h100", p);
  CHECK(listed.step_time == Approx(even.step_time).epsilon(1e-12));
  // With 23 or 22 layers on an early stage that stage outweighs the last one's 19 plus the head:
  // the forward per step then scales with its layers, wherever it sits.
  const auto fwd = [](const model::TrainingResult& r) { return r.parts[static_cast<std::size_t>(TrainPart::forward)].time; };
  p.parallel.stage_layers = {23, 19, 19, 19};
  const auto first23 = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.parallel.stage_layers = {19, 23, 19, 19};
  const auto second23 = model::estimate_training(m, "nvidia-dgx-h100", p);
  p.parallel.stage_layers = {22, 20, 19, 19};
  const auto first22 = model::estimate_training(m, "nvidia-dgx-h100", p);
  CHECK(second23.step_time == Approx(first23.step_time).epsilon(1e-12));
  CHECK(fwd(first23) == Approx(fwd(first22) * 23.0 / 22.0).epsilon(1e-9));
  CHECK(first22.step_time > even.step_time);
  CHECK(first23.model_flops == Approx(even.model_flops));
  p.parallel.stage_layers = {20, 20, 20};
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("3 entries for pp=4"));
  p.parallel.stage_layers = {20, 20, 20, 21};
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("off by 1"));
  p.parallel.stage_layers = {20, 20, 20, 20};
  p.parallel.virtual_stages = 2;
  CHECK_THROWS_WITH(model::estimate_training(m, "nvidia-dgx-h100", p), Catch::Contains("needs virtual_stages=1"));
}

TEST_CASE("training: ranks on the dies of a chip (ranks_per_chip)", "[training]") {
  // CANN runs each Ascend 910C die as a device. Llama 3.1 70B on CloudMatrix 384's 384 chips:
  // TP8 PP4 DP12 on whole chips, and TP8 PP4 DP24 on their 768 dies. Each die has half the
  // chip's compute and HBM and runs a compute-bound step on half the tokens per replica-rank,
  // so the per-chip throughput, MFU and power hardly move; memory is reported per chip.
  const auto& m = workload::get_model("llama-3.1-70b");
  TrainingPlan p = tp8_pp4(12, 1536, 4096);
  const auto chips = model::estimate_training(m, "huawei-cloudmatrix-384", p);
  p.parallel.dp = 24;
  p.parallel.ranks_per_chip = 2;
  const auto dies = model::estimate_training(m, "huawei-cloudmatrix-384", p);
  CHECK(chips.chips == 384);
  CHECK(chips.ranks == 384);
  CHECK(dies.chips == 384);
  CHECK(dies.ranks == 768);
  CHECK(dies.tokens_per_second_per_chip == Approx(chips.tokens_per_second_per_chip).epsilon(0.03));
  CHECK(dies.mfu == Approx(chips.mfu).epsilon(0.03));
  CHECK(dies.memory.capacity == Approx(chips.memory.capacity));  // two 64 GB dies = one 128 GB chip
  // The same weight shards (TP8 PP4) on every die: twice the chip's weights.
  CHECK(dies.memory.weights == Approx(2.0 * chips.memory.weights));
  REQUIRE(dies.energy);
  REQUIRE(chips.energy);
  CHECK(dies.energy->watts_per_chip == Approx(chips.energy->watts_per_chip).epsilon(0.03));

  // Errors: a plan's ranks_per_chip must match the prepared system and fill whole chips.
  const model::TrainingSystem whole(catalog::Catalog::builtin(), "huawei-cloudmatrix-384");
  CHECK_THROWS_WITH(model::estimate_training(m, whole, p), Catch::Contains("parallel.ranks_per_chip") &&
                                                                  Catch::Contains("prepared system"));
  p.parallel.tp = 1;
  p.parallel.pp = 1;
  p.parallel.dp = 3;  // 3 ranks: one and a half chips
  p.global_batch = 3;
  CHECK_THROWS_WITH(model::estimate_training(m, "huawei-cloudmatrix-384", p), Catch::Contains("do not fill whole chips"));
  CHECK_THROWS_WITH(model::TrainingSystem(catalog::Catalog::builtin(), "huawei-cloudmatrix-384", 0),
                    Catch::Contains("ranks_per_chip: must be in [1, 64], got 0"));
}

TEST_CASE("training estimate speed", "[!benchmark]") {
  const auto& m = workload::get_model("llama-3.1-405b");
  const model::TrainingSystem sys(catalog::Catalog::builtin(), "nvidia-dgx-h100");
  const TrainingPlan p = llama3_405b();
  const auto& ds = workload::get_model("deepseek-r1");
  const model::ServingSystem serving(catalog::Catalog::builtin(), "huawei-cloudmatrix-384", 2);
  model::InferencePlan decode;
  decode.mode = model::InferencePlan::Mode::decode;
  decode.precision.weights = hw::Precision::int8;
  decode.kv_len = 4096;
  decode.batch = 96 * 160;
  decode.parallel.dp_attention = 320;
  decode.parallel.ranks_per_chip = 2;
  decode.parallel.redundant_experts = 64;
  decode.mtp_tokens = 1;
  decode.overlap = true;
  BENCHMARK("baseline: one GEMM estimate") { return model::estimate(sys.device(), workload::Gemm::of(8192, 6144, 16384)).time; };
  BENCHMARK("training step, Llama 3 405B on 8,192 H100 (TP8 PP16 DP64, V=8)") {
    return model::estimate_training(m, sys, p).step_time;
  };
  BENCHMARK("serving decode step, DeepSeek-R1 on CM384 (for comparison)") {
    return model::estimate_inference(ds, serving, decode).tpot;
  };
}
