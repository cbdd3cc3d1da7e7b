// ECCN 3A090 classification: public parts land where the public record puts them, and every
// band of the rule is exercised with synthetic chips.
#include <string>

#include <catch2/catch.hpp>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/export_control.hpp>

using namespace perfmodel;
using catalog::Catalog;

TEST_CASE("H100 is 3A090.a and H20 falls below the 3A090 lines", "[model][export]") {
  const auto h100 = model::export_control(Catalog::builtin().chip("h100"));
  CHECK(h100.classification == "3A090.a");
  CHECK(*h100.tpp == Approx(15832.0));  // 1979 dense FP8 TOPS x 8 bits
  CHECK(*h100.performance_density == Approx(15832.0 / 814.0));
  const auto h20 = model::export_control(Catalog::builtin().chip("h20"));
  CHECK(h20.classification == "below 3A090");
  CHECK(*h20.tpp == Approx(2368.0));  // 148 dense BF16 x 16 bits
  CHECK(*h20.tpp < 2400.0);
  CHECK(*h20.performance_density < 3.2);
  const auto a100 = model::export_control(Catalog::builtin().chip("a100"));
  CHECK(a100.classification == "3A090.a");  // TPP 4992 >= 4800
}

namespace {
model::ExportControl classify(const std::string& bf16, const std::string& area) {
  std::string extra = R"(, "compute": {"bf16": {"matrix": {"value": ")" + bf16 +
                      R"(", "source": "s", "confidence": "official"}}})";
  if (!area.empty()) {
    extra += R"(, "dies": {"value": 1, "source": "s", "confidence": "official"}, "die_area_mm2": {"value": )" + area +
             R"(, "source": "s", "confidence": "official"})";
  }
  const Catalog c = Catalog::empty().with_json(
      {{"t.json", R"({"id": "t-chip", "kind": "chip", "vendor": "T", "name": "t")" + extra + "}"}});
  return model::export_control(c.chip("t-chip"));
}
}  // namespace

TEST_CASE("every 3A090 band", "[model][export]") {
  // TPP = TFLOP/s x 16 for BF16.
  CHECK(classify("300 TFLOP/s", "").classification == "3A090.a");            // TPP 4800
  CHECK(classify("299 TFLOP/s", "800").classification == "3A090.a");          // TPP 4784, PD 5.98
  CHECK(classify("299 TFLOP/s", "1000").classification == "3A090.b");         // PD 4.78 in [3.2, 5.92)
  CHECK(classify("160 TFLOP/s", "1500").classification == "3A090.b");         // TPP 2560, PD 1.71
  CHECK(classify("140 TFLOP/s", "1000").classification == "below 3A090");     // TPP 2240, PD 2.24
  CHECK(classify("99 TFLOP/s", "").classification == "below 3A090");          // TPP 1584 < 1600
  const auto u = classify("200 TFLOP/s", "");
  CHECK(u.classification == "undetermined");                                   // needs die area
  CHECK(u.reason.find("die area is unknown") != std::string::npos);
}
