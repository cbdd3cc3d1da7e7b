// The built-in catalog: required parts, provenance, lookups, what-if parts.
#include <string>

#include <catch2/catch.hpp>

#include <libperfmodel/catalog/catalog.hpp>

using namespace perfmodel;
using catalog::Catalog;
using Catch::Matchers::Contains;

TEST_CASE("the built-in catalog holds every part the product promises", "[catalog]") {
  const Catalog& cat = Catalog::builtin();
  for (const char* id :
       {"nvidia-a100-sxm-80gb", "nvidia-h100-sxm", "nvidia-h200-sxm", "nvidia-h800-sxm", "nvidia-h20",
        "nvidia-b200", "nvidia-gb200", "nvidia-gb300", "huawei-ascend-910b", "huawei-ascend-910c",
        "huawei-ascend-950pr", "huawei-ascend-950dt", "cambricon-mlu590", "cambricon-mlu370-x8",
        "metax-c500", "metax-c550", "metax-c600", "alibaba-t-head-ppu", "google-tpu-v5p", "amd-mi300x"}) {
    INFO(id);
    CHECK(cat.kind(id) == catalog::PartKind::chip);
  }
  for (const char* id :
       {"nvidia-dgx-a100", "nvidia-dgx-h100", "nvidia-hgx-h200", "nvidia-hgx-h800", "nvidia-hgx-h20",
        "nvidia-dgx-b200", "huawei-atlas-800t-a2", "huawei-cloudmatrix-384", "nvidia-gb200-nvl72",
        "nvidia-gb300-nvl72", "huawei-atlas-950-superpod"}) {
    INFO(id);
    CHECK(cat.kind(id) == catalog::PartKind::system);
  }
  CHECK(cat.resolve("h100") == "nvidia-h100-sxm");
  CHECK(cat.resolve("cm384") == "huawei-cloudmatrix-384");
  CHECK(cat.resolve("nvl72") == "nvidia-gb200-nvl72");
}

TEST_CASE("every known figure carries a source and confidence", "[catalog]") {
  const Catalog& cat = Catalog::builtin();
  for (const auto& id : cat.names(catalog::PartKind::chip)) {
    const hw::Chip& c = cat.chip(id);
    INFO(id);
    CHECK(!c.vendor.empty());
    CHECK(!c.family.empty());
    for (hw::Precision p : hw::kAllPrecisions) {
      for (const auto* f : {&c.units(p).matrix, &c.units(p).vector}) {
        if (!f->known()) continue;
        CHECK(!f->provenance().source.empty());
        if (f->provenance().confidence == hw::Confidence::derived) CHECK(!f->provenance().derived_from.empty());
      }
    }
    if (c.main_memory.capacity.known()) CHECK(!c.main_memory.capacity.provenance().source.empty());
  }
}

TEST_CASE("announced parts are marked announced, not shipping", "[catalog]") {
  const Catalog& cat = Catalog::builtin();
  CHECK(cat.chip("huawei-ascend-950pr").status == "announced");
  CHECK(cat.chip("huawei-ascend-950dt").status == "announced");
  CHECK(cat.system("huawei-atlas-950-superpod").status == "announced");
}

TEST_CASE("unknown figures stay unknown and say so when needed", "[catalog]") {
  const hw::Chip& mlu590 = Catalog::builtin().chip("cambricon-mlu590");
  CHECK(mlu590.units(hw::Precision::bf16).matrix.is_unknown());
  CHECK_THROWS_WITH(mlu590.peak(hw::Precision::bf16),
                    Contains("cambricon-mlu590") && Contains("compute.bf16.matrix") && Contains("unknown"));
  const hw::Chip& a910b = Catalog::builtin().chip("910b");
  CHECK_THROWS_WITH(a910b.peak(hw::Precision::fp8), Contains("no fp8 support"));
}

TEST_CASE("values are parsed with units and links stored per direction", "[catalog]") {
  const Catalog& cat = Catalog::builtin();
  const hw::Chip& h100 = cat.chip("h100");
  CHECK(h100.main_memory.bandwidth.require(h100.id).value() == Approx(3.35e12));
  CHECK(h100.main_memory.capacity.require(h100.id).value() == Approx(80e9));
  CHECK(h100.peak(hw::Precision::bf16).value() == Approx(989.4e12).epsilon(0.001));
  // NVIDIA's "900 GB/s NVLink" is both directions summed.
  CHECK(h100.scale_up.stated_bidirectional);
  CHECK(h100.scale_up.bandwidth_per_direction.require(h100.id).value() == Approx(450e9));
  const hw::Chip& c910 = cat.chip("910c");
  CHECK(!c910.scale_up.stated_bidirectional);
  CHECK(c910.scale_up.bandwidth_per_direction.require(c910.id).value() == Approx(392e9));
}

TEST_CASE("unknown names get NotFound with suggestions", "[catalog][errors]") {
  CHECK_THROWS_AS(Catalog::builtin().chip("h1000"), NotFound);
  CHECK_THROWS_WITH(Catalog::builtin().chip("nvidia-h100-sx"), Contains("did you mean") && Contains("nvidia-h100-sxm"));
  CHECK_THROWS_WITH(Catalog::builtin().system("h100"), Contains("\"h100\" is a chip, not a system"));
  CHECK_THROWS_WITH(Catalog::builtin().chip("nvl72"), Contains("\"nvl72\" is a system, not a chip"));
  // An efficiency policy's id resolves too; it is named for what it is (it said "a system").
  CHECK_THROWS_WITH(Catalog::builtin().chip("nvidia-hopper"), Contains("is an efficiency policy, not a chip"));
  CHECK_THROWS_WITH(Catalog::builtin().system("nvidia-hopper"), Contains("is an efficiency policy, not a system"));
}

TEST_CASE("a what-if part extends a catalog part and overrides fields", "[catalog]") {
  const Catalog cat = Catalog::builtin().with_json({{"whatif.json", R"({
    "id": "h100-fast-hbm", "kind": "chip", "extends": "h100", "name": "H100 with 2x HBM bandwidth",
    "memory": {"main": {"bandwidth": {"value": "6.7 TB/s", "source": "what-if", "confidence": "derived",
                                      "derived_from": "2 x H100 SXM"}}}})"}});
  const hw::Chip& c = cat.chip("h100-fast-hbm");
  CHECK(c.main_memory.bandwidth.require(c.id).value() == Approx(6.7e12));
  CHECK(c.main_memory.capacity.require(c.id).value() == Approx(80e9));  // inherited
  CHECK(c.peak(hw::Precision::bf16) == cat.chip("h100").peak(hw::Precision::bf16));
  CHECK(c.aliases.empty());  // aliases are not inherited
  CHECK(c.extends == "h100");
  // The built-in catalog is untouched.
  CHECK(!Catalog::builtin().contains("h100-fast-hbm"));
}

TEST_CASE("a what-if figure replaces the base figure whole", "[catalog]") {
  // Filling a figure the base leaves unknown (the 910C has no published TDP) ...
  const Catalog known = Catalog::builtin().with_json({{"tdp.json", R"({
    "id": "910c-with-tdp", "kind": "chip", "extends": "910c",
    "tdp": {"value": "850 W", "source": "what-if", "confidence": "derived", "derived_from": "assumed"}})"}});
  const hw::Chip& k = known.chip("910c-with-tdp");
  CHECK(k.tdp.require(k.id).value() == Approx(850.0));
  CHECK(k.tdp.provenance().source == "what-if");
  // ... making a known figure unknown ...
  const Catalog unknown = Catalog::builtin().with_json({{"u.json", R"({
    "id": "h100-no-tdp", "kind": "chip", "extends": "h100", "tdp": {"unknown": true, "note": "what-if"}})"}});
  CHECK(!unknown.chip("h100-no-tdp").tdp.known());
  // ... and a new value never inherits the base's source: without its own, loading fails.
  CHECK_THROWS_WITH(Catalog::builtin().with_json({{"s.json", R"({
    "id": "h100-nosrc", "kind": "chip", "extends": "h100", "tdp": {"value": "800 W", "confidence": "official"}})"}}),
                    Contains("s.json") && Contains("$.tdp.source"));
}

TEST_CASE("a figure a part does not give names its field when required", "[catalog][errors]") {
  const Catalog cat = Catalog::builtin().with_json({{"bare.json", R"({
    "id": "bare-chip", "kind": "chip", "vendor": "v", "name": "n",
    "memory": {"main": {"bandwidth": {"value": "1 TB/s", "source": "s", "confidence": "official"}}}})"}});
  const hw::Chip& c = cat.chip("bare-chip");
  CHECK(c.main_memory.capacity.absent());
  CHECK_THROWS_WITH(c.main_memory.capacity.require(c.id),
                    Contains("bare-chip: memory.main.capacity is not given for this part"));
}

TEST_CASE("a catalog can be loaded from a directory", "[catalog]") {
  const Catalog cat = Catalog::empty().load(std::string(PERFMODEL_SOURCE_DIR) + "/data/catalog");
  CHECK(cat.names() == Catalog::builtin().names());
}
