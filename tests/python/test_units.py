"""The Python face of the unit system: parsing, formatting, errors, arithmetic."""

import math

import pytest

import perfmodel
from perfmodel import units


@pytest.mark.parametrize(
    ("text", "value", "dimension"),
    [
        ("3.35 TB/s", 3.35e12, "B/s"),
        ("989.4 TFLOP/s", 989.4e12, "FLOP/s"),
        ("141 GB", 141e9, "B"),
        ("80 GiB", 80 * 2**30, "B"),
        ("400 Gb/s", 50e9, "B/s"),
        ("700 W", 700.0, "W"),
        ("1.2 kW", 1200.0, "W"),
        ("2 us", 2e-6, "s"),
        ("1979 TOPS", 1979e12, "FLOP/s"),
        ("1.98 GHz", 1.98e9, "Hz"),
        ("65.4 %", 0.654, "1"),
    ],
)
def test_parse_datasheet_strings(text, value, dimension):
    q = units.parse(text)
    assert q.value == pytest.approx(value, rel=1e-12)
    assert q.dimension == dimension


def test_bandwidth_times_time_is_bytes():
    moved = units.parse("3.35 TB/s") * units.parse("1 ms")
    assert moved.dimension == "B"
    assert moved.value == pytest.approx(3.35e9)
    assert str(moved) == "3.35 GB"


def test_gib_is_not_gb():
    assert units.parse("1 GiB") != units.parse("1 GB")
    assert units.parse("1 GiB").value == 2**30
    assert units.parse("1 GB").value == 1e9


def test_bits_are_an_eighth_of_a_byte():
    assert units.parse("400 Gb/s") == units.parse("50 GB/s")


def test_str_uses_sensible_prefixes():
    assert str(units.parse("3.35 TB/s")) == "3.35 TB/s"
    assert str(units.parse("989.4 TFLOP/s")) == "989 TFLOP/s"
    assert str(units.parse("80 GiB")) == "80 GiB"
    assert units.format(50e9, "B/s", bits=True) == "400 Gb/s"
    assert units.format(3.35, "TB/s") == "3.35 TB/s"
    assert units.format(989.4e12, "FLOP/s", significant=4) == "989.4 TFLOP/s"
    # Rounding that reaches the next binary prefix moves to it (was '1024 TiB').
    assert units.format(1023.999 * 2**40, "B", prefixes="iec", significant=4) == "1 PiB"
    assert units.format(1023.4 * 2**40, "B", prefixes="iec", significant=5) == "1023.4 TiB"


def test_quantity_to_and_repr():
    q = perfmodel.units.Quantity(3.35, "TB/s")
    assert q.to("GB/s") == pytest.approx(3350.0)
    assert repr(q) == "Quantity(3350000000000.0, 'B/s')"
    with pytest.raises(perfmodel.UnitMismatch):
        q.to("GB")


def test_quantity_arithmetic_and_comparison():
    a = units.parse("1 kW")
    b = units.parse("500 W")
    assert (a + b).value == 1500.0
    assert (a - b).value == 500.0
    assert a > b
    assert (2 * b) == a
    assert (a / 2.0) == b
    energy = a * units.parse("1 h")
    assert energy.dimension == "J"
    assert energy.value == pytest.approx(3.6e6)
    with pytest.raises(perfmodel.UnitMismatch):
        _ = a + units.parse("1 s")
    with pytest.raises(perfmodel.UnitMismatch):
        _ = a < units.parse("1 s")


@pytest.mark.parametrize(
    "bad",
    ["", "TB/s", "3.35 XB/s", "3.35 KB", "nan GB", "inf W", "-5 W", "1,200 W", "10 TFLOPs", "3 mB"],
)
def test_bad_strings_raise_error_and_value_error_quoting_the_text(bad):
    with pytest.raises(perfmodel.Error) as info:
        units.parse(bad)
    assert isinstance(info.value, ValueError)
    if bad:
        assert f'"{bad}"' in str(info.value)


def test_wrong_dimension_is_unit_mismatch_naming_text_and_expected():
    with pytest.raises(perfmodel.UnitMismatch) as info:
        units.parse("3.35 TB", "B/s")
    msg = str(info.value)
    assert '"3.35 TB"' in msg and "B/s" in msg
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, perfmodel.Error)


def test_non_string_is_rejected():
    with pytest.raises(perfmodel.InvalidArgument):
        units.parse(3.35)  # type: ignore[arg-type]


def test_format_rejects_bad_options():
    with pytest.raises(perfmodel.InvalidArgument):
        units.format(1.0, "B", significant=0)
    with pytest.raises(perfmodel.InvalidArgument):
        units.format(1.0, "B", prefixes="binary")
    assert units.format(math.nan, "W") == "nan W"


def test_negative_allowed_only_on_request():
    assert units.parse("-5 W", allow_negative=True).value == -5.0


def test_extreme_magnitudes_keep_an_exponent_and_never_print_nan():
    # The rounding scale overflowed below ~1e-306 ('-nan W'); beyond the prefixes the number keeps
    # its exponent instead of printing zeros or 0.
    assert units.format(1e-307, "W") == "1e-295 pW"
    assert units.format(1e-30, "s") == "1e-18 ps"
    assert units.format(1e308, "W") == "1e+290 EW"
    assert "nan" not in str(units.parse("1e-320 W"))
    assert units.format(5e-13, "s") == "0.5 ps" and units.format(3.35e12, "B/s") == "3.35 TB/s"


@pytest.mark.parametrize("text, words", [
    ("1 bytes", ["'bytes' is not a unit", "B (byte)"]), ("10 GBps", ["'GBps' is not a unit", "GB/s"]),
    ("5 XW", ["unknown prefix 'X' on 'W'"]),
])
def test_words_that_end_in_a_unit_symbol_are_not_reported_as_prefixes(text, words):
    with pytest.raises(perfmodel.InvalidArgument) as exc:
        units.parse(text)
    for w in words:
        assert w in str(exc.value)


def test_greek_mu_and_micro_sign_both_mean_micro():
    assert units.parse("1 \u03bcs").value == units.parse("1 \u00b5s").value == pytest.approx(1e-6)


def test_format_refuses_what_would_not_read_back_and_parse_names_bad_text():
    # 1e308 bytes as bits printed 'inf Eb'; 10**400 raised a bare OverflowError; a lone surrogate
    # (undecodable bytes) was a pybind TypeError.
    for call, words in ((lambda: perfmodel.units.format(1e308, "B", bits=True), "does not read back as a finite quantity"),
                        (lambda: perfmodel.units.format(10 ** 400, "B"), "an integer of 401 digits is beyond a double"),
                        (lambda: perfmodel.units.format(1.0, "B", significant=16), "significant"),
                        (lambda: perfmodel.units.parse("1 \udce9B"), "is not valid UTF-8 text")):
        with pytest.raises(perfmodel.InvalidArgument, match=words):
            call()
    assert perfmodel.units.parse(perfmodel.units.format(1e308, "B")).value == pytest.approx(1e308, rel=1e-2)


def test_prefixes_combine_before_rounding():
    # A unit's SI prefixes are powers of ten summed first: 1 B/ns is 1e9 B/s exactly (1 / 1e-9 was
    # one bit below), and units that name the same rate parse to the same double.
    same = [("1 B/ns", "1 GB/s"), ("1 kB/ms", "1 MB/s"), ("3 mW", "0.003 W"), ("1 Gbps", "125 MB/s"),
            ("1 pJ/B", "1e-12 J/B"), ("50 %", "0.5")]
    for a, b in same:
        assert units.parse(a).value == units.parse(b).value, (a, b)
    # The number meets the power of ten once: 5 us is the double 5e-6 (5 x 1e-6 was one bit off),
    # for every small prefix and value.
    for prefix, exp in (("m", -3), ("u", -6), ("n", -9), ("p", -12)):
        for n in range(1, 100):
            assert units.parse(f"{n} {prefix}s").value == float(f"{n}e{exp}"), (n, prefix)

