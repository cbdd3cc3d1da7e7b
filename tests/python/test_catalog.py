"""Catalog from Python: lookups, provenance, what-if parts, every bad-input class, schema."""

import json
import pathlib

import jsonschema
import pytest

import perfmodel
from perfmodel import catalog


def test_names_and_aliases():
    names = catalog.names()
    assert "huawei-cloudmatrix-384" in names and "nvidia-gb200-nvl72" in names
    assert set(catalog.names("chip")) | set(catalog.names("system")) == set(names)
    assert catalog.get("cm384").id == "huawei-cloudmatrix-384"
    assert catalog.get("nvl72").kind == "system"
    assert "h100" in catalog.builtin()
    assert "h1000" not in catalog.builtin()


def test_part_to_dict_keeps_units_and_sources():
    d = catalog.get("h100").to_dict()
    bw = d["memory"]["main"]["bandwidth"]
    assert bw["value"] == "3.35 TB/s"
    assert bw["confidence"] == "official"
    assert bw["source"]
    d["name"] = "changed"  # a copy: the catalog is not modified
    assert catalog.get("h100").name != "changed"


def test_html_repr_shows_value_confidence_and_source():
    html = catalog.get("910c")._repr_html_()
    assert "752 TFLOP/s" in html
    assert "vendor-paper" in html
    assert "arXiv:2506.12708" in html
    assert "unknown" in html  # e.g. die area


def test_unknown_is_explicit():
    figs = {f["field"]: f for f in catalog.get("cambricon-mlu590").figures()}
    assert figs["compute.bf16.matrix"]["value"] == "unknown"
    assert figs["compute.bf16.matrix"]["note"]


def test_not_found_suggests():
    with pytest.raises(perfmodel.NotFound) as info:
        catalog.get("nvidia-h100-sx")
    assert "nvidia-h100-sxm" in str(info.value)
    assert isinstance(info.value, KeyError)


def _write(tmp_path: pathlib.Path, name: str, obj) -> pathlib.Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_what_if_part_extends_and_overrides(tmp_path):
    _write(tmp_path, "fast.json", {
        "id": "h100-fast-hbm", "kind": "chip", "extends": "h100", "name": "H100, 2x HBM bandwidth",
        "memory": {"main": {"bandwidth": {"value": "6.7 TB/s", "source": "what-if",
                                          "confidence": "derived", "derived_from": "2 x H100"}}},
    })
    cat = catalog.load(tmp_path)
    part = cat.get("h100-fast-hbm")
    assert part["memory"]["main"]["bandwidth"]["value"] == "6.7 TB/s"
    assert part["memory"]["main"]["capacity"]["value"] == catalog.get("h100")["memory"]["main"]["capacity"]["value"]
    assert "h100-fast-hbm" not in catalog.builtin()


def test_memory_checks_use_the_driver_total_and_a_what_if_capacity_drops_it(tmp_path):
    # H100: the datasheet's 80 GB stays the displayed capacity; the driver's 81,559 MiB (85.5 GB)
    # is what a plan must fit in. A variant that restates the capacity gets its own (no inherited total).
    h100 = catalog.get("h100")["memory"]["main"]
    assert h100["capacity"]["value"] == "80 GB" and h100["usable_capacity"]["value"] == "81559 MiB"
    rec = {f["field"]: f for f in catalog.get("h100").figures()}
    assert "361 MiB" in rec["memory.main.usable_capacity"]["derived_from"]
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=8)
    assert r.memory["capacity"] == pytest.approx(81559 * 2**20)
    _write(tmp_path, "big.json", {
        "id": "h100-160g", "kind": "chip", "extends": "h100", "name": "H100 with 160 GB",
        "memory": {"main": {"capacity": {"value": "160 GB", "source": "what-if", "confidence": "derived",
                                         "derived_from": "2 x H100"}}},
    })
    _write(tmp_path, "node.json", {
        "id": "dgx-h100-160g", "kind": "system", "extends": "nvidia-dgx-h100", "name": "DGX with 160 GB GPUs",
        "chip": "h100-160g"})
    cat = catalog.load(tmp_path)
    assert "usable_capacity" not in cat.get("h100-160g")["memory"]["main"]
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100-160g", batch=8, catalog=cat)
    assert r.memory["capacity"] == pytest.approx(160e9)


CHIP = {"id": "test-chip", "kind": "chip", "vendor": "T", "name": "Test"}


def _fig(value):
    return {"value": value, "source": "s", "confidence": "official"}


BAD_INPUTS = {
    "malformed JSON": ("{\n \"id\": \"x\",\n \"kind\": chip }", ["bad.json:3:", "malformed JSON"]),
    "unknown key": ({**CHIP, "tdp_watts": 700}, ["$.tdp_watts", "unknown key"]),
    "wrong dimension": ({**CHIP, "memory": {"main": {"bandwidth": _fig("3.35 TB")}}},
                        ["$.memory.main.bandwidth.value", '"3.35 TB"', "B/s"]),
    "negative": ({**CHIP, "tdp": _fig("-700 W")}, ["$.tdp.value", "negative"]),
    "zero": ({**CHIP, "tdp": _fig("0 W")}, ["$.tdp.value", "> 0"]),
    "nan": ({**CHIP, "tdp": _fig("nan W")}, ["$.tdp.value", "finite"]),
    "inf": ({**CHIP, "tdp": _fig("inf W")}, ["$.tdp.value", "finite"]),
    "missing required": ({"id": "test-chip", "kind": "chip", "name": "x"}, ["$.vendor", "missing"]),
    "duplicate id": ({**CHIP, "id": "nvidia-h100-sxm"}, ["duplicate id", "nvidia-h100-sxm.json"]),
    "unknown reference": ({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "node",
                           "chip": "nvidia-h1000", "chips": _fig(8)}, ["$.chip", "nvidia-h1000"]),
    "count mismatch": ({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "node",
                        "chip": "h100", "chips": _fig(8), "nodes": {"count": _fig(3), "chips_per_node": 4}},
                       ["$.nodes", "chips is 8"]),
    "bool figure": ({"id": "x-eff", "kind": "efficiency", "extends": "huawei-ascend-davinci",
                     "fused_mla_prologue": _fig("yes")}, ["$.fused_mla_prologue.value", "expected true or false"]),
    "usable capacity of another memory": ({**CHIP, "memory": {"main": {"capacity": _fig("80 GB"),
                                                                       "usable_capacity": _fig("160 GiB")}}},
                                          ["$.memory.main.usable_capacity", "160 GiB", "80 GB", "within 15 %"]),
    # Finite but past any real part: sums and products of estimates overflowed to inf/NaN.
    "implausible power": ({**CHIP, "tdp": _fig("1e12 W")}, ["$.tdp.value", "between 1 mW and 1 GW"]),
    "implausible bandwidth": ({**CHIP, "memory": {"main": {"bandwidth": _fig("1e308 B/s")}}},
                              ["$.memory.main.bandwidth.value", "between 1 B/s and 1 EB/s"]),
    "implausible number": ({**CHIP, "die_area_mm2": _fig(1e9)}, ["$.die_area_mm2.value", "between 1e-6 and 1e6"]),
    "byte-order mark": ("\ufeff" + json.dumps(CHIP), ["bad.json:1:1", "byte-order mark"]),
    # A misspelt family silently took default.json's fractions (GEMMs 8 % slower on an H100).
    "family typo": ({**CHIP, "family": "nvidia-hoper"}, ["$.family", 'did you mean "nvidia-hopper"']),
    "family in capitals": ({**CHIP, "family": "NVIDIA-Hopper"}, ["$.family", 'did you mean "nvidia-hopper"']),
    "family is a chip": ({**CHIP, "family": "nvidia-h100-sxm"}, ["$.family", "names a chip"]),
    "system on an efficiency part": ({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "node",
                                      "chip": "nvidia-hopper", "chips": _fig(8)},
                                     ["$.chip", "is an efficiency policy, expected a chip"]),
    "topology": ({"id": "x-sys", "kind": "system", "vendor": "v", "name": "n", "level": "node",
                  "chip": "h100", "chips": _fig(8), "scale_up": {"domain_size": _fig(3)}},
                 ["$.scale_up.domain_size", "does not divide"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_config_error_naming_file_path_and_value(tmp_path, case):
    obj, expected = BAD_INPUTS[case]
    path = _write(tmp_path, "bad.json", obj)
    with pytest.raises(perfmodel.ConfigError) as info:
        catalog.load(path)
    msg = str(info.value)
    assert str(path) in msg
    for e in expected:
        assert e in msg, f"{e!r} not in {msg!r}"
    assert isinstance(info.value, ValueError)


def test_extends_cycle(tmp_path):
    _write(tmp_path, "a.json", {"id": "cyc-a", "kind": "chip", "extends": "cyc-b"})
    _write(tmp_path, "b.json", {"id": "cyc-b", "kind": "chip", "extends": "cyc-a"})
    with pytest.raises(perfmodel.ConfigError, match="cyc-a -> cyc-b -> cyc-a"):
        catalog.load(tmp_path)


def test_loading_is_all_or_nothing(tmp_path):
    _write(tmp_path, "a-good.json", {**CHIP, "id": "good-chip"})
    _write(tmp_path, "b-bad.json", "{")
    with pytest.raises(perfmodel.ConfigError):
        catalog.load(tmp_path)
    assert "good-chip" not in catalog.builtin()


def test_missing_path():
    with pytest.raises(perfmodel.ConfigError, match="no such file"):
        catalog.load("/nonexistent/catalog")


def test_every_catalog_file_validates_against_the_schema(repo_root):
    root = repo_root / "data/catalog"
    schema = json.loads((root / "schema/part.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = [f for sub in ("chips", "systems", "efficiency") for f in sorted((root / sub).glob("*.json"))]
    assert len(files) >= 36
    for f in files:
        doc = json.loads(f.read_text())
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, f"{f.name}: {errors[:3]}"
        assert doc["id"] == f.stem, f"{f.name}: id {doc['id']!r} differs from the file name"


def test_schema_rejects_what_the_loader_rejects(repo_root):
    schema = json.loads((repo_root / "data/catalog/schema/part.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({**CHIP, "tdp": _fig("700 W")}))
    assert list(validator.iter_errors({**CHIP, "tdp_watts": 700}))
    assert list(validator.iter_errors({**CHIP, "tdp": {"value": "700 W", "source": "s", "confidence": "guess"}}))


def test_installed_data_dir_has_the_catalog():
    root = pathlib.Path(catalog.data_dir())
    assert (root / "chips/nvidia-h100-sxm.json").exists()
    assert (root / "schema/part.schema.json").exists()


def test_flag_figures_read_as_in_the_file():
    # Bool figures (efficiency flags) print as JSON writes them, with their sources.
    rec = {f["field"]: f for f in catalog.get("nvidia-hopper").figures()}
    assert rec["epilogue_overlap"]["value"] == "false"
    assert "DeepGEMM" in rec["epilogue_overlap"]["source"]
    rec = {f["field"]: f for f in catalog.get("huawei-ascend-davinci").figures()}
    assert rec["fused_mla_prologue"]["value"] == "true" and rec["fused_mla_prologue"]["confidence"] == "official"


def test_lookup_ignores_case():
    # Ids and aliases are lower case; "H100" or "GB200-NVL72" as typed from a datasheet resolve too,
    # and a typo suggests the part it is closest to in lower case.
    cat = catalog.builtin()
    assert cat.resolve("H100") == "nvidia-h100-sxm" and "GB200-NVL72" in cat
    with pytest.raises(perfmodel.NotFound, match='did you mean "h100"'):
        cat.resolve("H1OO")


def test_variants_inherit_devices_but_not_the_base_systems_published_power(tmp_path):
    # A 910C copy is still two CANN devices per package (the chip's "devices" figure), so recipes
    # run it on its dies like the 910C itself; a system variant with other chips drops the base's
    # published power and price (measured and quoted for the base's hardware).
    _write(tmp_path, "chip.json", {"id": "910c-copy", "kind": "chip", "extends": "910c", "name": "910C copy"})
    _write(tmp_path, "sys.json", {"id": "cm384-copy", "kind": "system", "extends": "cm384", "name": "CM384 copy",
                                  "chip": "910c-copy"})
    _write(tmp_path, "dgx.json", {"id": "dgx-copy", "kind": "system", "extends": "dgx-h100", "name": "DGX copy",
                                  "chips": {"value": 8, "source": "s", "confidence": "official"}})
    cat = catalog.load(tmp_path)
    base = perfmodel.serving_results("cm384")
    copy = perfmodel.serving_results("cm384-copy", catalog=cat)
    assert copy["ranks_per_chip"] == base["ranks_per_chip"] == 2
    assert copy["decode"].output_tokens_per_s_per_chip == pytest.approx(base["decode"].output_tokens_per_s_per_chip)
    assert "power" not in cat.get("cm384-copy") and "price" not in cat.get("dgx-copy")
    assert cat.get("dgx-copy")["power_model"] == catalog.get("dgx-h100")["power_model"]
    assert "power" in catalog.get("dgx-h100")


def test_more_devices_than_dies_is_a_config_error(tmp_path):
    path = _write(tmp_path, "bad.json", {"id": "x-chip", "kind": "chip", "extends": "h100", "name": "x",
                                         "devices": {"value": 2, "source": "s", "confidence": "official"}})
    with pytest.raises(perfmodel.ConfigError, match=r"\$\.devices: is 2 but the package has 1 dies"):
        catalog.load(path)


def test_missing_link_names_its_field_and_delivery_efficiency_has_one_range(tmp_path):
    _write(tmp_path, "chip.json", {**CHIP, "id": "nolink", "memory": {"main": {"bandwidth": _fig("1 TB/s")}}})
    _write(tmp_path, "sys.json", {"id": "nolink-node", "kind": "system", "vendor": "v", "name": "n", "level": "node",
                                  "chip": "nolink", "chips": _fig(8),
                                  "scale_up": {"domain_size": _fig(8), "topology": "single-hop-switched"}})
    cat = catalog.load(tmp_path)
    with pytest.raises(perfmodel.InvalidArgument, match=r"nolink: scale_up\.bandwidth_per_direction is not given"):
        perfmodel.collective("nolink-node", "all_reduce", "1M", catalog=cat)
    for value in (2.0, 1.1):
        path = _write(tmp_path / "..", "bad.json", {
            "id": "dgx-lossless", "kind": "system", "extends": "dgx-h100", "name": "x",
            "power_model": {"delivery_efficiency": {"value": value, "source": "s", "confidence": "derived",
                                                    "derived_from": "x"}}})
        with pytest.raises(perfmodel.ConfigError, match=r"delivery_efficiency.*expected a fraction in \(0, 1\]"):
            catalog.load(path)


def test_estimates_say_which_rumour_figures_they_rest_on():
    # Every H20 figure is 'rumour' (a leaked spec sheet); no output said so.
    import pickle
    import subprocess
    import sys

    r = perfmodel.inference("llama-3.1-70b", "hgx-h20", mode="decode", precision="fp8", tp=8, batch=16, kv_len=2048)
    found = r.rumour_inputs
    assert "nvidia-h20: memory.main.bandwidth" in found and "nvidia-h20: compute.fp8.matrix" in found
    assert "nvidia-h20: compute.int8.matrix" not in found          # a precision the plan does not use
    assert "nvidia-h20: tdp" in found                              # its chips-only energy scales from the TDP
    assert "nvidia-hgx-h20: chips" in found
    assert perfmodel.inference("llama-3.1-70b", "dgx-h100", mode="decode", precision="fp8", tp=8, batch=16,
                               kv_len=2048).rumour_inputs == []
    assert pickle.loads(pickle.dumps(r)).rumour_inputs is None     # the catalog does not travel
    import copy

    assert copy.copy(r).rumour_inputs == copy.deepcopy(r).rumour_inputs == found
    # The KV-cache format is storage, not a compute precision the plan runs.
    kv = perfmodel.inference("llama-3.1-70b", "hgx-h20", mode="decode", tp=8, batch=16, kv_len=2048,
                             precision={"weights": "int8", "kv_cache": "fp8"})
    assert "nvidia-h20: compute.int8.matrix" in kv.rumour_inputs and "nvidia-h20: compute.fp8.matrix" not in kv.rumour_inputs
    # One precision as a string (it was iterated letter by letter), any case; unknown ones and chip ids refused.
    assert "nvidia-h20: compute.fp8.matrix" in perfmodel.catalog.rumour_inputs("hgx-h20", "FP8")
    with pytest.raises(perfmodel.InvalidArgument, match="precisions: unknown 'fp9'"):
        perfmodel.catalog.rumour_inputs("hgx-h20", ["fp9"])
    with pytest.raises(perfmodel.InvalidArgument, match="'h20' is a chip; expected a system id"):
        perfmodel.catalog.rumour_inputs("h20")
    t = perfmodel.training("llama-3.1-8b", "hgx-h20", n_chips=8, tp=8, global_batch=8, seq_len=2048)
    assert "nvidia-h20: compute.bf16.matrix" in t.rumour_inputs
    # The hardware comparison lists them per system, power and price included.
    df = perfmodel.compare(["cm384", "nvl72"])
    assert df.attrs["rumour"]["nvidia-gb200-nvl72"] == ["nvidia-gb200-nvl72: price"]
    assert any("optical transceivers (LPO)" in f for f in df.attrs["rumour"]["huawei-cloudmatrix-384"])
    out = subprocess.run([sys.executable, "-m", "perfmodel", "infer", "llama-3.1-70b", "hgx-h20", "--mode", "decode",
                          "--precision", "fp8", "--tp", "8", "--batch", "16", "--kv-len", "2048"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "rests on figures of 'rumour' confidence" in out.stdout
    assert "  - nvidia-h20: " in out.stdout and "memory.main.bandwidth" in out.stdout


def test_builtin_families_are_files_or_far_from_every_file():
    # The typo check skips built-in chips; this keeps them honest instead: each family has its
    # efficiency file, or is more than two edits from every file's id (a new family, not a typo).
    def edits(a, b):
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        return prev[-1]

    files = set(catalog.names("efficiency"))
    for chip in catalog.names("chip"):
        fam = catalog.get(chip)["family"]
        assert fam in files or all(edits(fam, f) > 2 for f in files - {"default"}), (chip, fam)
