"""Power of catalog systems, energy models of chips, and the cost of estimated work.

>>> import perfmodel
>>> df = perfmodel.power("nvidia-dgx-h100")
>>> round(df.attrs["it_watts"] / 1e3, 1)
8.7
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import _args, _core
from .catalog import Catalog, using

__all__ = ["CostResult", "chip_energy", "cost", "power"]

_COLUMNS = ["component", "count", "watts_each", "watts", "source", "confidence"]


def power(system: str, utilization: float = 1.0, *, pue: float = 1.0, overrides: Mapping[str, float | str] | None = None,
          catalog: Catalog | None = None) -> pd.DataFrame:
    """Power breakdown of ``system`` with its chips at ``utilization`` of their dynamic range
    (idle + u x (TDP - idle)): one row per component (chips, CPUs, switch chips, NICs, optics, ...,
    power-delivery losses, in-rack cooling, and the facility overhead when ``pue`` > 1).

    ``overrides`` replaces figures by name: a component's watts each, ``chip_max_watts`` (idle
    scales with it unless ``chip_idle_watts`` is given too), ``chip_idle_watts``,
    ``delivery_efficiency`` or ``cooling_overhead``; watts as numbers or text with a power unit
    (``"1.1 kW"``), the two ratios as numbers or percentages (``"93 %"``). Totals are in
    ``df.attrs``: ``it_watts`` (the system), ``facility_watts`` (x PUE), ``chip_watts`` (per chip)
    and ``published_watts`` (the catalog's published figure, or None)."""
    cat = using(catalog)
    ov = _overrides(overrides)
    d = _core.system_power(cat._core, _args.text("system", system), _args.number("utilization", utilization),
                           _args.number("pue", pue), ov)
    df = pd.DataFrame([list(r) for r in d["rows"]], columns=_COLUMNS)
    if (df["count"] == df["count"].round()).all():  # counts of parts are whole: integers, not 8.0
        df["count"] = df["count"].astype("int64")
    totals = [d[k] for k in ("chip_watts", "it_watts", "facility_watts")]
    if not (all(math.isfinite(x) for x in totals) and all(math.isfinite(x) for x in df["watts"])):
        raise _core.InvalidArgument(f"power of {system}: the figures overflow (pue={pue!r}, overrides={dict(ov)!r}); "
                                    "expected watts a float can sum")
    for k in ("system", "utilization", "pue", "chip_watts", "it_watts", "facility_watts", "published_watts"):
        df.attrs[k] = d[k]
    return df


def mixed_basis_warning(where: str, all_in: list[str], chips_only: list[str]) -> str | None:
    """The one warning for energy figures standing on different bases: all-in (the system's power
    model: chips plus their share of CPUs, switches, optics, losses and cooling) for `all_in`, the
    chips alone for `chips_only` (no power model in the catalog). None when they do not mix."""
    if not (all_in and chips_only):
        return None
    return (f"{where}: energy figures mix bases: {', '.join(sorted(all_in))} all-in (system power model), "
            f"{', '.join(sorted(chips_only))} chips only (no system power model in the catalog); compare power "
            "and per-joule figures only between systems on the same basis")


_FRACTIONS = ("delivery_efficiency", "cooling_overhead")  # the overrides that are ratios, not watts


def override_value(name: str, value: Any) -> float:
    """One override as the core takes it: watts for components and chip figures (a number, or a
    string with a power unit such as "1.5 kW"), a plain ratio for ``delivery_efficiency`` and
    ``cooling_overhead`` (a number, or "93 %")."""
    where = f"overrides[{name!r}]"
    if not isinstance(value, str):
        return _args.number(where, value)
    try:  # a plain number in text ("1500") is watts or a ratio as a number would be
        return _args.number(where, float(value))
    except ValueError:
        pass
    from .units import parse

    try:
        q = parse(value)
    except _core.Error as exc:
        raise _core.InvalidArgument(f"{where}: {exc}") from None
    want = "dimensionless ratio" if name in _FRACTIONS else "power"
    if q.dimension_name != want:
        example = "a plain number or '93 %'" if name in _FRACTIONS else "watts, e.g. '1.5 kW' or 1500"
        raise _core.InvalidArgument(f"{where}: {value!r} is a {q.dimension_name}; expected {example}")
    return float(q.value)


def _overrides(overrides: Mapping[str, Any] | None) -> list[tuple[str, float]]:
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        raise _core.InvalidArgument(f"overrides: expected a dict of name -> value, got {type(overrides).__name__}")
    return [(str(k), override_value(str(k), v)) for k, v in overrides.items()]


def chip_energy(chip: str, catalog: Catalog | None = None) -> dict[str, Any]:
    """The chip's energy model: pJ per matrix FLOP by format, per vector FLOP and per HBM byte,
    idle and maximum watts, and how the maximum was obtained (TDP, or derived when TDP is unknown)."""
    cat = using(catalog)
    return dict(_core.chip_energy(cat._core, cat.resolve(chip)))


class CostResult(dict):
    """Cost of an estimate: a dict of dollars and dollars per hour. Fields that need an unknown
    price are absent and listed under ``"unknown"`` with the reason (never NaN)."""

    def __repr__(self) -> str:
        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.items() if k != "assumptions"}
        return f"<CostResult {shown}>"


def _positive(name: str, v: Any, *, allow_zero: bool = False) -> float:
    x = _args.number(name, v)  # finite, not a bool or string
    if x < 0 or (x == 0 and not allow_zero):
        expected = "a number >= 0" if allow_zero else "a positive number"
        raise _core.InvalidArgument(f"{name}: expected {expected}, got {v!r}")
    return x


def cost(result: Any, *, price_per_kwh: float = 0.08, years: float = 4.0, utilization: float = 1.0, pue: float = 1.3,
         capex: float | Mapping[str, float] | None = None, catalog: Catalog | None = None) -> CostResult:
    """Cost of the work in an :class:`~perfmodel.InferenceResult` or
    :class:`~perfmodel.TrainingResult`.

    Capital cost is the system's catalog price (or ``capex`` in USD for one system, or a mapping
    ``{system id or alias: USD}`` whose other systems keep their catalog price; ``catalog``
    defaults to the one the result was estimated with), straight-line
    over ``years`` and spread over the busy hours (``utilization`` of all hours). Power is paid at
    the estimate's all-in draw while busy and at idle draw otherwise (serving: chips outside the
    plan's whole instances idle throughout, and only the instances' tokens count), times ``pue``, at
    ``price_per_kwh`` USD. Defaults: 0.08 USD/kWh (US industrial average 2023, EIA: 8.06 cents;
    China ~0.088 USD/kWh 2024, China Briefing), PUE 1.3 (between hyperscale ~1.1 and the Uptime
    2024 survey average 1.56), 4 years.

    Returns USD per busy hour per catalog system (capital, power, total; a search's ``usd_per_hour``
    prices only what a candidate occupies, so it can be lower), USD per million output tokens
    (serving) or per million trained tokens and per run (training, when ``train_tokens`` was given),
    and ``power_basis``: all-in (the system's power model) or the chips alone (no power model in
    the catalog), which costs less electricity for the same silicon."""
    from .inference import InferenceResult
    from .training import TrainingResult

    if not isinstance(result, (InferenceResult, TrainingResult)):
        raise _core.InvalidArgument(f"result: expected an InferenceResult or TrainingResult, got {type(result).__name__}")
    price = _positive("price_per_kwh", price_per_kwh, allow_zero=True)
    yrs = _positive("years", years)
    u = _positive("utilization", utilization)
    if u > 1:
        raise _core.InvalidArgument(f"utilization: expected a fraction in (0, 1], got {utilization!r}")
    if _args.number("pue", pue) < 1:
        raise _core.InvalidArgument(f"pue: expected a value >= 1 (facility power over IT power), got {pue!r}")
    # The catalog the result was estimated with, unless another is given (a what-if system's price).
    cat = using(catalog if catalog is not None else result.__dict__.get("_catalog"))
    d = result.to_dict()
    if isinstance(result, InferenceResult):
        e = d["energy"]
        phase = d["decode"] if d["decode"] is not None else d["prefill"]
        busy_w = None if e is None else e["watts_per_chip"]
        idle_w = None if phase["energy"] is None else phase["energy"]["idle_watts_per_chip"]
        tokens_per_s_per_chip = d["output_tokens_per_s_per_chip"] or d["input_tokens_per_s_per_chip"]
        token_kind = "output" if d["output_tokens_per_s_per_chip"] else "input"
        # Chips the plan's whole instances occupy; the rest of the system idles (and still costs).
        busy_chips = d["busy_chips_per_system"]
    elif isinstance(result, TrainingResult):
        e = d["energy"]
        busy_w = None if e is None else e["watts_per_chip"]
        idle_w = None if e is None else e["idle_watts_per_chip"]
        tokens_per_s_per_chip = d["tokens_per_s_per_chip"]
        token_kind = "trained"
        busy_chips = None
    else:
        raise _core.InvalidArgument(f"result: expected an InferenceResult or TrainingResult, got {type(result).__name__}")
    sysd = cat.get(d["system"]).to_dict()
    chips = int(sysd["chips"]["value"])
    busy = float(chips if busy_chips is None else min(busy_chips, chips))
    out = CostResult(system=d["system"], chips_per_system=chips, price_per_kwh=price, years=yrs, utilization=u, pue=float(pue))
    unknown: dict[str, str] = {}
    if isinstance(capex, Mapping):  # prices per system; the result's system may not be among them
        given = {}
        for k, v in capex.items():
            try:
                sid = cat.resolve(_args.text("capex", k))
            except _core.NotFound as exc:  # the key, named as an argument, not a bare lookup failure
                raise _core.InvalidArgument(f"capex: key {k!r}: {exc}") from None
            if sid in given:  # an alias and the id: which price wins would depend on their order
                raise _core.InvalidArgument(f"capex: key {k!r} names {sid}, which another key already prices")
            given[sid] = _positive(f"capex[{k!r}]", v)  # every price checked, not only the one used
        capex = given.get(cat.resolve(d["system"]))
    if capex is not None:
        out["capex_usd"] = _positive("capex", capex)
        out["capex_source"] = "user"
    else:
        pf = sysd.get("price", {})
        if isinstance(pf, dict) and "value" in pf:
            out["capex_usd"] = _core.parse_quantity(str(pf["value"]), False).value  # as the loader read it
            out["capex_source"] = f"{pf.get('source', '')} [{pf.get('confidence', '')}]"
        else:
            note = pf.get("note", "no price in the catalog") if isinstance(pf, dict) else "no price in the catalog"
            unknown["capex_usd"] = f"{d['system']}: price is unknown ({note}); pass capex=USD"
    hours = yrs * 8760.0 * u
    if "capex_usd" in out:
        out["capex_usd_per_hour"] = out["capex_usd"] / hours
    if busy_w is None:
        unknown["power_usd_per_hour"] = "energy unknown: " + d.get("energy_missing", "")
    else:
        # Idle hours' draw is charged to the busy hours; chips outside the plan's instances idle throughout.
        avg_w = (busy_w + (1.0 - u) / u * idle_w) * busy + idle_w / u * (chips - busy)
        out["power_usd_per_hour"] = avg_w * float(pue) / 1e3 * price
        # All-in (the system's power model) or the chips alone: an H800 node without a power model
        # costs half an H100 node's electricity for the same silicon.
        out["power_basis"] = "all-in (system power model)" if d["energy"]["basis"] == "system" else \
            "chips only (no system power model in the catalog)"
    if "capex_usd_per_hour" in out and "power_usd_per_hour" in out:
        out["usd_per_hour"] = out["capex_usd_per_hour"] + out["power_usd_per_hour"]
        tokens_per_hour = tokens_per_s_per_chip * busy * 3600.0
        if tokens_per_hour > 0:
            out[f"usd_per_million_{token_kind}_tokens"] = out["usd_per_hour"] / tokens_per_hour * 1e6
        if isinstance(result, TrainingResult) and d["time_to_train_s"] is not None:
            out["usd_per_run"] = out["usd_per_hour"] * d["chips"] / chips * d["time_to_train_s"] / 3600.0
    else:
        for k in ("usd_per_hour", f"usd_per_million_{token_kind}_tokens"):
            unknown[k] = "needs " + " and ".join(f for f in ("capex_usd", "power_usd_per_hour") if f in unknown)
    if unknown:
        out["unknown"] = unknown
    overflow = sorted(k for k, v in out.items() if isinstance(v, float) and not math.isfinite(v))
    if overflow:
        raise _core.InvalidArgument(f"cost: {', '.join(overflow)} overflow (price_per_kwh={price_per_kwh!r}, "
                                    f"capex={capex!r}); expected figures a float can hold")
    return out
