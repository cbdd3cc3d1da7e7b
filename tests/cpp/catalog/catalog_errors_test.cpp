// Every class of bad catalog input is a ConfigError naming file, JSON path, value, expectation.
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <libperfmodel/catalog/catalog.hpp>

using namespace perfmodel;
using catalog::Catalog;
using Catch::Matchers::Contains;

namespace {

std::string chip_json(const std::string& id, const std::string& extra) {
  return R"({"id": ")" + id + R"(", "kind": "chip", "vendor": "Test", "name": "Test chip")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string error_of(const std::vector<std::pair<std::string, std::string>>& files) {
  try {
    (void)Catalog::builtin().with_json(files);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string error_of(const std::string& text) { return error_of({{"user/bad.json", text}}); }

const std::string kBw = R"("memory": {"main": {"bandwidth": {"value": %, "source": "s", "confidence": "official"}}})";

std::string with_bw(const std::string& value) {
  std::string s = kBw;
  s.replace(s.find('%'), 1, value);
  return chip_json("test-chip", s);
}

}  // namespace

TEST_CASE("malformed JSON names file, line and column", "[catalog][errors]") {
  const std::string msg = error_of("{\n  \"id\": \"x\",\n  \"kind\": chip\n}");
  CHECK_THAT(msg, Contains("user/bad.json:3:") && Contains("malformed JSON"));
}

TEST_CASE("unknown key is rejected with its path and the allowed keys", "[catalog][errors]") {
  const std::string msg = error_of(chip_json("test-chip", R"("tdp_watts": 700)"));
  CHECK_THAT(msg, Contains("user/bad.json") && Contains("$.tdp_watts") && Contains("unknown key"));
  CHECK_THAT(error_of(with_bw(R"("3.35 TB/s", "colour": "red")")), Contains("$.memory.main.bandwidth.colour"));
}

TEST_CASE("wrong dimension names path, value and expected dimension", "[catalog][errors]") {
  const std::string msg = error_of(with_bw(R"("3.35 TB")"));
  CHECK_THAT(msg, Contains("user/bad.json") && Contains("$.memory.main.bandwidth.value") &&
                      Contains("\"3.35 TB\"") && Contains("B/s"));
}

TEST_CASE("negative, zero, NaN and inf values are rejected", "[catalog][errors]") {
  CHECK_THAT(error_of(with_bw(R"("-3 TB/s")")), Contains("$.memory.main.bandwidth.value") && Contains("negative"));
  CHECK_THAT(error_of(with_bw(R"("0 TB/s")")), Contains("$.memory.main.bandwidth.value") && Contains("> 0"));
  CHECK_THAT(error_of(with_bw(R"("nan TB/s")")), Contains("finite"));
  CHECK_THAT(error_of(with_bw(R"("inf TB/s")")), Contains("finite"));
  CHECK_THAT(error_of(with_bw("3.35")), Contains("expected a string with a unit"));
  CHECK_THAT(error_of(chip_json("test-chip", R"("dies": {"value": 0, "source": "s", "confidence": "official"})")),
             Contains("$.dies.value") && Contains("integer"));
  CHECK_THAT(error_of(chip_json("test-chip", R"("dies": {"value": 1.5, "source": "s", "confidence": "official"})")),
             Contains("$.dies.value"));
}

TEST_CASE("missing required fields are named", "[catalog][errors]") {
  CHECK_THAT(error_of(R"({"id": "test-chip", "kind": "chip", "name": "x"})"), Contains("$.vendor") && Contains("missing"));
  CHECK_THAT(error_of(chip_json("test-chip", R"("tdp": {"value": "700 W", "confidence": "official"})")),
             Contains("$.tdp.source") && Contains("missing"));
  CHECK_THAT(error_of(chip_json("test-chip", R"("tdp": {"value": "700 W", "source": "s", "confidence": "derived"})")),
             Contains("$.tdp.derived_from"));
  CHECK_THAT(error_of(chip_json("test-chip", R"("tdp": {"value": "700 W", "source": "s", "confidence": "guess"})")),
             Contains("$.tdp.confidence") && Contains("\"guess\""));
  CHECK_THAT(error_of(chip_json("test-chip", R"("tdp": {"unknown": true})")), Contains("$.tdp.note"));
  CHECK_THAT(error_of(R"({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "rack", "chip": "h100"})"),
             Contains("$.chips") && Contains("missing"));
}

TEST_CASE("duplicate ids and aliases are rejected naming both files", "[catalog][errors]") {
  CHECK_THAT(error_of(chip_json("nvidia-h100-sxm", "")), Contains("duplicate id") && Contains("nvidia-h100-sxm.json"));
  CHECK_THAT(error_of(chip_json("test-chip", R"("aliases": ["h100"])")), Contains("$.aliases[0]") && Contains("\"h100\""));
  CHECK_THAT(error_of({{"a.json", chip_json("test-chip", "")}, {"b.json", chip_json("test-chip", "")}}),
             Contains("b.json") && Contains("a.json"));
}

TEST_CASE("unknown references are rejected", "[catalog][errors]") {
  const std::string sys = R"({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "node",
    "chip": "nvidia-h1000", "chips": {"value": 8, "source": "s", "confidence": "official"}})";
  CHECK_THAT(error_of(sys), Contains("$.chip") && Contains("unknown reference") && Contains("nvidia-h1000"));
  CHECK_THAT(error_of(R"({"id": "x", "kind": "chip", "extends": "nope"})"), Contains("$.extends") && Contains("\"nope\""));
}

TEST_CASE("extends cycles are rejected with the cycle spelled out", "[catalog][errors]") {
  const std::string msg = error_of({{"a.json", R"({"id": "cyc-a", "kind": "chip", "extends": "cyc-b"})"},
                                    {"b.json", R"({"id": "cyc-b", "kind": "chip", "extends": "cyc-a"})"}});
  CHECK_THAT(msg, Contains("cycle") && Contains("cyc-a -> cyc-b -> cyc-a"));
}

TEST_CASE("systems whose counts do not add up are rejected", "[catalog][errors]") {
  auto sys = [](const std::string& extra) {
    return R"({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "node", "chip": "h100",
      "chips": {"value": 8, "source": "s", "confidence": "official"})" + extra + "}";
  };
  CHECK_THAT(error_of(sys(R"(, "nodes": {"count": {"value": 3, "source": "s", "confidence": "official"}, "chips_per_node": 4})")),
             Contains("$.nodes") && Contains("3 nodes x 4") && Contains("chips is 8"));
  CHECK_THAT(error_of(sys(R"(, "scale_up": {"domain_size": {"value": 3, "source": "s", "confidence": "official"}})")),
             Contains("$.scale_up.domain_size") && Contains("does not divide"));
  CHECK_THAT(error_of(sys(R"(, "scale_up": {"topology": "ring"})")), Contains("$.scale_up.topology") && Contains("full-mesh"));
  CHECK_THAT(error_of(R"({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "galaxy",
      "chip": "h100", "chips": {"value": 8, "source": "s", "confidence": "official"}})"),
             Contains("$.level") && Contains("\"galaxy\""));
}

TEST_CASE("a link takes exactly one of per-direction and bidirectional bandwidth", "[catalog][errors]") {
  const std::string both = chip_json("test-chip", R"("scale_up": {
      "bandwidth_per_direction": {"value": "450 GB/s", "source": "s", "confidence": "official"},
      "bandwidth_bidirectional": {"value": "900 GB/s", "source": "s", "confidence": "official"}})");
  CHECK_THAT(error_of(both), Contains("$.scale_up") && Contains("exactly one"));
}

TEST_CASE("loading is all-or-nothing", "[catalog][errors]") {
  // Catalogs are immutable values: the batch with one bad file is refused as a whole, naming
  // that file, where the good file alone loads.
  const Catalog before = Catalog::builtin();
  CHECK_THROWS_WITH(before.with_json({{"good.json", chip_json("good-chip", "")}, {"bad.json", "{"}}), Contains("bad.json"));
  CHECK(before.with_json({{"good.json", chip_json("good-chip", "")}}).contains("good-chip"));
  CHECK_THROWS_WITH(Catalog::builtin().load("/nonexistent/path.json"), Contains("/nonexistent/path.json"));
}

// Fuzz: random byte edits, truncations and splices of real catalog files. The loader may
// accept or reject them, but may only ever throw perfmodel::Error (bounded time for CI).
TEST_CASE("fuzz: mutated catalog files only ever load or throw perfmodel::Error", "[catalog][fuzz]") {
  const Catalog& cat = Catalog::builtin();
  std::vector<std::string> seeds;
  for (const auto& id : cat.names()) seeds.push_back(cat.json(id));
  std::mt19937_64 rng(20261123);
  // Sized from the literal: a const char* would stop at the NUL and drop it and 0xFF.
  static constexpr char kAlphabet[] = "{}[]\":,.-+0123456789eE tfnaulKMGTPiBbWs/%\\\x00\xff";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);
  REQUIRE(alphabet.back() == '\xff');
  int accepted = 0, rejected = 0, foreign = 0;
  const std::vector<std::string> ids = cat.names();
  constexpr int kIterations = 20000;
  for (int iter = 0; iter < kIterations; ++iter) {
    const std::size_t pick = rng() % ids.size();
    std::string text = seeds[pick];
    // A system needs its chip: load that unmodified beside the mutated file.
    std::vector<std::pair<std::string, std::string>> files;
    if (cat.kind(ids[pick]) == catalog::PartKind::system) {
      files.emplace_back("chip.json", cat.json(cat.system(ids[pick]).chip));
    }
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t pos = rng() % text.size();
      switch (rng() % 5) {
        case 0: text[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(pos, 1 + rng() % 8); break;
        case 2: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: text.resize(pos); break;
        default: {
          const std::string& other = seeds[rng() % seeds.size()];
          const std::size_t from = rng() % other.size();
          text.insert(pos, other.substr(from, 1 + rng() % 40));
        }
      }
    }
    try {
      files.emplace_back("fuzz.json", text);
      (void)Catalog::empty().with_json(files);
      ++accepted;
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {  // anything else is a loader bug: report it, keep fuzzing
      ++foreign;
      FAIL_CHECK("not a perfmodel::Error: " << e.what());
    }
  }
  INFO("accepted " << accepted << ", rejected " << rejected);
  CHECK(foreign == 0);
  CHECK(rejected > 0);
}
