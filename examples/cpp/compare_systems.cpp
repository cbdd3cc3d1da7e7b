// Loads the built-in catalog and compares CloudMatrix 384 with GB200 NVL72 on one GEMM, one
// all-reduce and one DeepSeek-R1 decode step, printed as a table.
#include <cstdio>
#include <string>

#include <libperfmodel/perfmodel.hpp>

int main() {
  using namespace perfmodel;
  const catalog::Catalog& cat = catalog::Catalog::builtin();
  std::printf("perfmodel %s: %zu catalog parts\n", std::string(version_string).c_str(), cat.names().size());

  // Quantities are typed (the algebra is checked at compile time); text is parsed strictly.
  const Bandwidth hbm = units::parse_as<units::dim::bandwidth>("3.35 TB/s");
  const Bytes moved = hbm * Seconds{1e-3};
  std::printf("3.35 TB/s for 1 ms moves %s\n\n", units::format(moved).c_str());
  std::printf("%-30s %16s %16s\n", "", "CloudMatrix 384", "GB200 NVL72");

  // One 8192^3 BF16 GEMM on one chip of each system.
  const auto gemm = workload::Gemm::of(8192, 8192, 8192);
  double tflops[2];
  const char* systems[2] = {"huawei-cloudmatrix-384", "nvidia-gb200-nvl72"};
  for (int i = 0; i < 2; ++i) {
    const model::Device dev = model::Device::from_catalog(cat, cat.system(systems[i]).chip);
    tflops[i] = model::estimate(dev, gemm).achieved.value() / 1e12;
  }
  std::printf("%-30s %16.0f %16.0f\n", "GEMM 8192^3 [TFLOP/s]", tflops[0], tflops[1]);

  // A 1 GiB all-reduce over 64 chips of each scale-up domain (nccl-tests bus bandwidth).
  double busbw[2];
  for (int i = 0; i < 2; ++i) {
    const model::Network net(cat, systems[i]);
    busbw[i] = model::estimate(net, model::Collective::all_reduce, Bytes{1 << 30}, 64).busbw.value() / 1e9;
  }
  std::printf("%-30s %16.0f %16.0f\n", "all-reduce 1 GiB x 64 [GB/s]", busbw[0], busbw[1]);

  // One DeepSeek-R1 decode step: INT8 (910C) / FP8 (B200), KV 4K, 32 sequences per chip.
  const auto& r1 = workload::get_model("deepseek-r1");
  double tok[2], tpot[2];
  for (int i = 0; i < 2; ++i) {
    model::InferencePlan p;
    p.mode = model::InferencePlan::Mode::decode;
    p.kv_len = 4096;
    p.precision.weights = i == 0 ? hw::Precision::int8 : hw::Precision::fp8;
    p.parallel.dp_attention = 64;
    p.batch = 32 * 64;
    const model::InferenceResult r = model::estimate_inference(r1, cat, systems[i], p);
    tok[i] = r.output_tokens_per_second_per_chip;
    tpot[i] = r.tpot * 1e3;
  }
  std::printf("%-30s %16.0f %16.0f\n", "R1 decode [tok/s/chip]", tok[0], tok[1]);
  std::printf("%-30s %16.1f %16.1f\n", "R1 decode TPOT [ms]", tpot[0], tpot[1]);
  return tflops[0] > 0 && tflops[1] > 0 && busbw[0] > 0 && busbw[1] > 0 && tok[0] > 0 && tok[1] > 0 ? 0 : 1;
}
