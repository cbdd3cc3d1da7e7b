// Serving model in C++: models, worked decode numbers, memory checks, errors, speed benchmark.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/workload/ops.hpp>
#include <libperfmodel/workload/model.hpp>

using namespace perfmodel;
using model::InferencePlan;
using hw::Precision;

namespace {
InferencePlan cm384_decode() {
  InferencePlan p;
  p.mode = InferencePlan::Mode::decode;
  p.precision.weights = Precision::int8;
  p.kv_len = 4096;
  p.batch = 96 * 160;
  p.parallel.dp_attention = 320;
  p.parallel.ranks_per_chip = 2;
  p.parallel.redundant_experts = 64;
  p.mtp_tokens = 1;
  p.overlap = true;
  return p;
}

/// An FP8 prefill forward of `batch` 4K prompts with the given TP degree, memory check off (671B
/// in FP8 needs more than one 8-GPU node's HBM; the tests look at work and traffic).
InferencePlan prefill_4k(std::int64_t batch, int tp) {
  InferencePlan p;
  p.mode = InferencePlan::Mode::prefill;
  p.precision.weights = Precision::fp8;
  p.input_len = 4096;
  p.batch = batch;
  p.parallel.tp = tp;
  p.check_memory = false;
  return p;
}

model::StepPartTime part(const model::InferenceResult& r, model::StepPart k) {
  return r.prefill->parts[static_cast<int>(k)];
}
}  // namespace

TEST_CASE("built-in models have the published parameter counts") {
  CHECK(workload::get_model("deepseek-v3").parameters() / 1e9 == Approx(671).epsilon(0.01));
  CHECK(workload::get_model("deepseek-v3").active_parameters() / 1e9 == Approx(37).epsilon(0.02));
  CHECK(workload::get_model("llama-3.1-405b").parameters() / 1e9 == Approx(405).epsilon(0.01));
  CHECK(workload::get_model("mixtral-8x7b").parameters() / 1e9 == Approx(46.7).epsilon(0.01));
  CHECK_THROWS_AS(workload::get_model("no-such-model"), NotFound);
  CHECK_THROWS_WITH(workload::model_from_hf_config_text(R"({"architectures":["RWKV"]})", "cfg.json"),
                    Catch::Contains("cfg.json: architectures: \"RWKV\" is not supported"));
  // A zero expert FFN used to divide by zero (SIGFPE) before it was checked.
  CHECK_THROWS_WITH(workload::model_from_hf_config_text(
                        R"({"architectures":["Qwen2MoeForCausalLM"],"num_hidden_layers":4,"hidden_size":512,
                            "num_attention_heads":8,"intermediate_size":1536,"vocab_size":32000,"num_experts":16,
                            "num_experts_per_tok":4,"moe_intermediate_size":0,"shared_expert_intermediate_size":1024})",
                        "cfg.json"),
                    Catch::Contains("cfg.json: moe_intermediate_size: expected a positive integer, got 0"));
}

TEST_CASE("a llama decode step at batch 1 is bound by reading the weights") {
  const auto& m = workload::get_model("llama-3.1-8b");
  InferencePlan p;
  p.mode = InferencePlan::Mode::decode;
  p.kv_len = 128;
  const auto r = model::estimate_inference(m, "nvidia-dgx-h100", p);
  const double weight_bytes = m.parameters() * 2.0;
  // Weights at the achievable HBM bandwidth (0.876 x 3.35 TB/s), plus per-kernel overheads.
  const double floor = weight_bytes / (0.876 * 3.35e12);
  CHECK(r.tpot > floor);
  CHECK(r.tpot < floor * 1.6);
  CHECK(r.decode->memory.weights == Approx(weight_bytes));
  CHECK(r.output_tokens_per_second_per_chip == Approx(1.0 / r.tpot));
}

TEST_CASE("CloudMatrix 384 DeepSeek-R1 decode: consistent outputs") {
  const auto r = model::estimate_inference(workload::get_model("deepseek-r1"), "huawei-cloudmatrix-384", cm384_decode());
  REQUIRE(r.decode);
  CHECK(r.accepted_tokens_per_step == Approx(1.7));
  CHECK(r.output_tokens_per_second_per_chip == Approx(96 * 1.7 / r.decode->time));
  CHECK(r.decode->chips == 160);
  CHECK(r.decode->memory.fits());
  double exposed = 0;
  for (const auto& part : r.decode->parts) exposed += part.exposed;
  CHECK(exposed == Approx(r.decode->time));
  // Within 15 % of the published 1,943 tokens/s/NPU (calibration CM384-DC-01).
  CHECK(std::abs(r.output_tokens_per_second_per_chip / 1943.0 - 1.0) < 0.15);
}

TEST_CASE("shared experts are tensor-parallel under pure TP and replicated with expert exchanges") {
  // DeepSeek-V3 prefill of 8 x 4K prompts on a node: every rank holds all tokens under pure TP,
  // so its shared-expert FLOPs (and weights) fall as 1/tp; with DP attention + EP each rank runs
  // the whole shared expert on its own 1/8 of the tokens: the same FLOPs as TP8, all the weights.
  const auto& m = workload::get_model("deepseek-v3");
  const auto shared = [&](int tp, int dp) {
    InferencePlan q = prefill_4k(8, tp);
    q.parallel.dp_attention = dp;
    const auto r = model::estimate_inference(m, "nvidia-dgx-h100", q);
    return std::pair{part(r, model::StepPart::shared_experts).flops, r.prefill->memory.weights};
  };
  const auto [f4, w4] = shared(4, 1);
  const auto [f8, w8] = shared(8, 1);
  const auto [fdp, wdp] = shared(1, 8);
  const double moe_layers = m.moe_layers();
  const double per_rank8 = 2.0 * 3.0 * m.hidden * m.moe->expert_ffn * 32768.0 * moe_layers / 8.0;
  CHECK(f8 == Approx(per_rank8).epsilon(0.01));
  CHECK(f4 == Approx(2.0 * f8).epsilon(0.01));
  CHECK(fdp == Approx(f8).epsilon(0.01));
  CHECK(w8 < wdp);
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", prefill_4k(8, 3)), Catch::Contains("tp"));
}

TEST_CASE("a small decode batch reads only the experts its tokens are routed to") {
  // DeepSeek-R1 on 8 H200 (TP8): 4 sequences pick 8 of 256 experts each, so a layer touches
  // 256 x (1 - (248/256)^4) = 30.5 experts on average; at batch 256 all of them. The expert
  // weights read per step fall in that proportion (grouped GEMMs skip empty experts).
  const auto& m = workload::get_model("deepseek-r1");
  const auto expert_bytes = [&](std::int64_t batch) {
    InferencePlan q;
    q.mode = InferencePlan::Mode::decode;
    q.precision.weights = Precision::fp8;
    q.kv_len = 1024;
    q.batch = batch;
    q.parallel.tp = 8;
    const auto r = model::estimate_inference(m, "nvidia-hgx-h200", q);
    return r.decode->parts[static_cast<int>(model::StepPart::moe_experts)].bytes;
  };
  const double all = 256.0 * 3.0 * m.hidden * m.moe->expert_ffn * m.moe_layers() / 8.0;  // FP8, per GPU
  CHECK(expert_bytes(256) == Approx(all).epsilon(0.02));
  const double hit = 1.0 - std::pow(1.0 - 8.0 / 256.0, 4.0);
  CHECK(expert_bytes(4) == Approx(std::ceil(256.0 * hit) / 256.0 * all).epsilon(0.05));  // + activations
  CHECK(expert_bytes(1) < expert_bytes(4));
}

TEST_CASE("sequence parallelism moves token-wise work to 1/tp of the tokens and splits each all-reduce") {
  // DeepSeek-V3 prefill, TP8 on one H100 node, 4 x 4K prompts: the MLA down projection (replicated
  // over TP otherwise) runs on 1/8 of the tokens and all-gathers a 2,112-wide latent instead of the
  // 7,168-wide hidden state; the head-parallel and expert work stays.
  const auto& m = workload::get_model("deepseek-v3");
  InferencePlan p = prefill_4k(4, 8);
  const auto ar = model::estimate_inference(m, "nvidia-dgx-h100", p);
  p.parallel.sequence_parallel = true;
  const auto sp = model::estimate_inference(m, "nvidia-dgx-h100", p);
  const auto& a = *m.mla;
  // The step parts book model FLOPs (each token's projection once) either way; the 7/8 of the
  // down projection that plain TP repeats on every rank is run (time, energy), not model work.
  const double down = 2.0 * 16384 * m.hidden * (a.q_lora_rank + a.kv_lora_rank + a.rope_dim) * m.layers;
  CHECK(part(ar, model::StepPart::attention_proj).flops == Approx(part(sp, model::StepPart::attention_proj).flops));
  CHECK(part(ar, model::StepPart::attention_proj).executed_flops -
            part(sp, model::StepPart::attention_proj).executed_flops ==
        Approx(down * 7.0 / 8.0).epsilon(0.01));
  CHECK(part(ar, model::StepPart::attention_proj).time > 1.2 * part(sp, model::StepPart::attention_proj).time);
  CHECK(part(sp, model::StepPart::norm_elementwise).bytes < part(ar, model::StepPart::norm_elementwise).bytes);
  // Per layer: two reduce-scatters of the hidden state, an all-gather of the latent before attention
  // and one of the hidden state before the MoE, where plain TP has two all-reduces. On NVSwitch the
  // all-reduce is in-network, so the split costs more link time; the replicated compute it saves
  // is worth more here.
  const double act = 16384.0 * 2 * m.layers;
  CHECK(part(sp, model::StepPart::tp_collectives).bytes ==
        Approx(act * (3.0 * m.hidden + a.q_lora_rank + a.kv_lora_rank + a.rope_dim)));
  CHECK(part(ar, model::StepPart::tp_collectives).bytes == Approx(act * 2.0 * m.hidden));
  CHECK(part(sp, model::StepPart::moe_experts).flops == Approx(part(ar, model::StepPart::moe_experts).flops));
  CHECK(sp.prefill->time < ar.prefill->time);
  // Llama 3.1 70B (no latent): a reduce-scatter plus an all-gather move what the all-reduce moved;
  // the step changes by the norms' share only.
  const auto& l = workload::get_model("llama-3.1-70b");
  p.parallel.sequence_parallel = false;
  p.precision.weights = Precision::bf16;
  const auto lar = model::estimate_inference(l, "nvidia-dgx-h100", p);
  p.parallel.sequence_parallel = true;
  const auto lsp = model::estimate_inference(l, "nvidia-dgx-h100", p);
  CHECK(lsp.prefill->time == Approx(lar.prefill->time).epsilon(0.05));
  p.parallel.tp = 1;
  p.parallel.dp_attention = 8;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p), Catch::Contains("sequence_parallel"));
}

TEST_CASE("bad plans name the constraint") {
  const auto& m = workload::get_model("llama-2-70b");
  InferencePlan p;
  p.batch = 8;
  p.parallel.tp = 3;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p), Catch::Contains("tp: tp=3 does not divide"));
  p.parallel.tp = 1;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p),
                    Catch::Contains("memory: prefill chunk of 8 prompts") && Catch::Contains("over by") &&
                        Catch::Contains("the weights do not fit at any batch"));
  p.parallel.tp = 2;
  p.input_len = 0;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p), Catch::Contains("input_len: must be >= 1"));
  // Counts that would overflow 64-bit element counts are named, not passed on as a negative size.
  p.input_len = 1024;
  p.batch = std::int64_t{1} << 40;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p), Catch::Contains("batch: must be in [1, 2^31]"));
  // Options a dense model has nothing to apply to were ignored (same result, no error).
  p.batch = 8;
  InferencePlan q = p;
  q.parallel.redundant_experts = 8;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q),
                    Catch::Contains("redundant_experts: llama-2-70b has no experts to replicate"));
  q = p;
  q.expert_imbalance = 3.0;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q),
                    Catch::Contains("expert_imbalance: llama-2-70b has no experts; must be 1"));
  // A precision cast from an out-of-range integer read past the peak table (TPOT 1.2e9 s).
  q = p;
  q.precision.weights = static_cast<Precision>(42);
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q),
                    Catch::Contains("precision.weights: not a hw::Precision value (42)"));
  q = p;
  q.precision.kv_cache = static_cast<Precision>(-1);
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q), Catch::Contains("precision.kv_cache"));
  const auto dev = model::Device::from_catalog(catalog::Catalog::builtin(), "nvidia-h100-sxm");
  CHECK_THROWS_WITH(model::estimate(dev, workload::Gemm{64, 64, 64, 1, Precision::bf16, static_cast<Precision>(9)}),
                    Catch::Contains("gemm: output: not a hw::Precision value (9)"));
  CHECK_THROWS_WITH(model::estimate_training_gemms(dev, workload::Gemm{64, 64, 64, 1}, static_cast<Precision>(11), false),
                    Catch::Contains("gemm: grad_accumulation: not a hw::Precision value (11)"));
  CHECK(hw::to_string(static_cast<Precision>(42)) == "invalid");
  // Beyond the released context (Llama 2: 4,096 positions).
  q = p;
  q.input_len = 4000;
  q.output_len = 200;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q),
                    Catch::Contains("input_len + output_len: 4200 tokens exceed the 4096-token context of llama-2-70b"));
  // Degrees whose product overflowed 32 bits (tp 128 x dp_attention 2^24) are refused before use.
  q = p;
  q.parallel.tp = 8;
  q.parallel.dp_attention = 1 << 24;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q), Catch::Contains("dp_attention: must be <= 2^22"));
  q.parallel.dp_attention = 1 << 20;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", q),
                    Catch::Contains("ranks: tp x dp_attention x pp = 8388608 ranks exceed the supported 2^22"));
  q = p;
  q.mtp_tokens = 65;
  CHECK_THROWS_WITH(model::estimate_inference(workload::get_model("deepseek-v3"), "nvidia-dgx-h100", q),
                    Catch::Contains("mtp_tokens: must be in [0, 64], got 65"));
}

TEST_CASE("a served batch fits when its decode step and its prefill chunk both do") {
  // Llama 3.1 70B deepened to 84 layers (76.1 GB of weights: FP8, the embedding and LM head bf16)
  // on one H100 (81,559 MiB): decode alone would hold 9 sequences, the chunk of up to 8 prompts of
  // 1,024 tokens that prefills on the same GPU 6 on its own, and 5 beside the batch's KV cache.
  auto m = workload::get_model("llama-3.1-70b");
  m.layers = 84;
  InferencePlan p;
  p.precision.weights = Precision::fp8;
  p.batch = 4;
  const auto r = model::estimate_inference(m, "nvidia-dgx-h100", p);
  CHECK(r.decode->max_batch == 5);
  p.batch = 5;
  CHECK_NOTHROW(model::estimate_inference(m, "nvidia-dgx-h100", p));
  p.batch = 6;  // the chunk fits on its own, not beside six sequences' KV cache
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p),
                    Catch::Contains("decode plan") && Catch::Contains("the largest batch that fits is 5 (asked 6)"));
  p.batch = 7;
  CHECK_THROWS_WITH(model::estimate_inference(m, "nvidia-dgx-h100", p),
                    Catch::Contains("prefill chunk of 7 prompts") && Catch::Contains("the largest batch that fits is 5 (asked 7)"));
  // Decode mode has no prefill on those chips: the decode step's own limit (9 at KV 1,088).
  p.mode = InferencePlan::Mode::decode;
  p.batch = 4;
  CHECK(model::estimate_inference(m, "nvidia-dgx-h100", p).decode->max_batch == 9);
}

TEST_CASE("pipeline stages work in parallel: a decode step is the slowest stage's micro-batches") {
  // Llama 3.1 8B, memory-bound decode of 16 sequences on H100s. With pp stages each stage reads
  // its 1/pp of the weights once per micro-batch, pp times a step: the step stays about as long
  // as on one GPU (it summed all 32 layers pp times, 2x and 4x too slow), while the chips double.
  const auto& m = workload::get_model("llama-3.1-8b");
  InferencePlan p;
  p.mode = InferencePlan::Mode::decode;
  p.batch = 16;
  p.kv_len = 2048;
  const auto one = model::estimate_inference(m, "nvidia-dgx-h100", p);
  for (int pp : {2, 4}) {
    p.parallel.pp = pp;
    const auto r = model::estimate_inference(m, "nvidia-dgx-h100", p);
    CHECK(r.tpot == Approx(one.tpot).epsilon(0.10));
    CHECK(r.output_tokens_per_second_per_chip == Approx(one.output_tokens_per_second_per_chip / pp).epsilon(0.10));
    // The FLOPs of a step are the whole model's, however it is split.
    CHECK(r.decode->flops == Approx(one.decode->flops).epsilon(0.01));
  }
}

TEST_CASE("serving estimate speed", "[!benchmark]") {
  const auto& m = workload::get_model("deepseek-r1");
  const model::ServingSystem sys(catalog::Catalog::builtin(), "huawei-cloudmatrix-384", 2);
  const InferencePlan decode = cm384_decode();
  InferencePlan serve = decode;
  serve.mode = InferencePlan::Mode::serve;
  serve.kv_len = 0;  // serve attends input_len + the generated tokens
  serve.input_len = 4096;
  serve.output_len = 1024;
  const model::Device& dev = sys.device();
  BENCHMARK("baseline: one GEMM estimate") { return model::estimate(dev, workload::Gemm::of(96, 7168, 2048)).time; };
  BENCHMARK("decode step, DeepSeek-R1 on CM384 (61 layers + MTP, EP320)") {
    return model::estimate_inference(m, sys, decode).tpot;
  };
  BENCHMARK("serve (prefill + decode), DeepSeek-R1 on CM384") { return model::estimate_inference(m, sys, serve).tpot; };
}
