"""The annotation contract, table by table: what parses into which spec, and what is refused
with a message naming the key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoscaler.decision.types import Objective
from autoscaler.kube import annotations as ann

P = ann.PREFIX


def parse(current: int = 4, elastic: tuple[int | None, int | None] = (None, None),
          **extra: str) -> ann.JobAnnotations:
    annotations = {P + "enabled": "true"}
    annotations.update({P + k.replace("_", "-"): v for k, v in extra.items()})
    return ann.parse_job_annotations(annotations, current_replicas=current,
                                     elastic_min=elastic[0], elastic_max=elastic[1])


@pytest.mark.parametrize(("text", "joules"), [
    ("1 J", 1.0),
    ("2.5kJ", 2500.0),
    ("3 MJ", 3e6),
    ("1 GJ", 1e9),
    ("10 Wh", 36_000.0),
    ("1.5 kWh", 5.4e6),
    ("2 MWh", 7.2e9),
    (" 1e3 J ", 1000.0),
])
def test_energy_budget_units_convert_to_joules(text: str, joules: float) -> None:
    assert parse(energy_budget=text).spec.energy_budget_j == pytest.approx(joules)


@pytest.mark.parametrize("text", ["5", "5 kw", "5 kj", "five kWh", "-3 kWh", "0 J", "5 mJ", ""])
def test_energy_budget_without_a_listed_unit_or_positive_number_is_refused(text: str) -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(energy_budget=text)
    assert e.value.errors[0].key == P + "energy-budget"


@pytest.mark.parametrize(("text", "expected"), [
    ("2027-01-31T18:00:00Z", datetime(2027, 1, 31, 18, tzinfo=UTC)),
    ("2027-01-31T19:00:00+01:00", datetime(2027, 1, 31, 18, tzinfo=UTC)),
    ("2027-01-31t18:00:00.5z", datetime(2027, 1, 31, 18, 0, 0, 500_000, tzinfo=UTC)),
])
def test_deadline_is_rfc3339_as_absolute_posix_seconds(text: str, expected: datetime) -> None:
    assert parse(deadline=text).spec.deadline_s == pytest.approx(expected.timestamp())


@pytest.mark.parametrize(("text", "problem"), [
    ("2027-01-31T18:00:00", "timezone"),
    ("2027-01-31", "RFC 3339"),
    ("tomorrow", "RFC 3339"),
    ("2027-13-31T18:00:00Z", "not a valid"),
])
def test_deadline_without_offset_or_malformed_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(deadline=text)
    assert e.value.errors[0].key == P + "deadline"
    assert problem in e.value.errors[0].problem


@pytest.mark.parametrize(("current", "elastic", "extra", "bounds"), [
    (4, (None, None), {}, (1, 4)),  # no elasticPolicy: [1, current]
    (4, (2, 8), {}, (2, 8)),  # PyTorchJob elasticPolicy
    (4, (2, None), {}, (2, 4)),
    (4, (2, 8), {"min_replicas": "3"}, (3, 8)),  # annotation wins over elasticPolicy
    (4, (2, 8), {"max_replicas": "6"}, (2, 6)),
    (4, (None, None), {"max_replicas": "10"}, (1, 10)),
    (1, (3, None), {}, (3, 3)),  # elastic min above current: the job is raised to min
    (4, (None, None), {"min_replicas": "9"}, (9, 9)),  # the default max never undercuts min
])
def test_bounds_default_from_elastic_policy_else_one_to_current(
    current: int, elastic: tuple[int | None, int | None], extra: dict[str, str],
    bounds: tuple[int, int],
) -> None:
    spec = parse(current, elastic, **extra).spec
    assert (spec.min_replicas, spec.max_replicas) == bounds


@pytest.mark.parametrize(("extra", "key"), [
    ({"min_replicas": "6", "max_replicas": "2"}, "max-replicas"),
    ({"min_replicas": "9", "max_replicas": "8"}, "max-replicas"),
    ({"min_replicas": "0"}, "min-replicas"),
    ({"max_replicas": "2.5"}, "max-replicas"),
    ({"mode": "yolo"}, "mode"),
    ({"objective": "cheapest"}, "objective"),
    ({"objective": "balanced:2"}, "objective"),
    ({"total_samples": "lots"}, "total-samples"),
    ({"total_samples": "-1"}, "total-samples"),
    ({"min_replica": "2"}, "min-replica"),  # a typo is not silently ignored
    ({"enabled": "yes"}, "enabled"),
])
def test_invalid_values_name_their_key(extra: dict[str, str], key: str) -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(4, (None, None), **extra)
    assert [err.key for err in e.value.errors] == [P + key]
    assert str(e.value).startswith(P + key + ": ")


def test_every_problem_is_reported_not_only_the_first() -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(mode="fast", energy_budget="3", deadline="soon")
    assert {err.key for err in e.value.errors} == {P + "mode", P + "energy-budget", P + "deadline"}


def test_defaults_are_dry_run_energy_and_no_constraints() -> None:
    parsed = parse()
    assert parsed.mode is ann.Mode.DRY_RUN
    assert parsed.spec.objective == Objective()
    assert (parsed.spec.energy_budget_j, parsed.spec.deadline_s, parsed.spec.total_samples) == (
        None, None, None)


@pytest.mark.parametrize(("extra", "mode", "objective"), [
    ({"mode": "enforce"}, ann.Mode.ENFORCE, "energy"),
    ({"mode": "Dry-Run"}, ann.Mode.DRY_RUN, "energy"),
    ({"objective": "time"}, ann.Mode.DRY_RUN, "time"),
    ({"objective": "balanced:0.3"}, ann.Mode.DRY_RUN, "balanced:0.3"),
])
def test_mode_and_objective_parse(extra: dict[str, str], mode: ann.Mode, objective: str) -> None:
    parsed = parse(4, (None, None), **extra)
    assert parsed.mode is mode
    assert str(parsed.spec.objective) == objective


def test_total_samples_accepts_scientific_notation() -> None:
    assert parse(total_samples="1.2e9").spec.total_samples == pytest.approx(1.2e9)


def test_operator_written_keys_are_not_user_errors() -> None:
    parsed = parse(recommendation="{}", state="v1:xyz")
    assert parsed.mode is ann.Mode.DRY_RUN


@pytest.mark.parametrize(("annotations", "enabled"), [
    ({P + "enabled": "true"}, True),
    ({P + "enabled": "True"}, True),
    ({P + "enabled": "false"}, False),
    ({P + "enabled": "yes"}, False),
    ({}, False),
    ({"other.io/enabled": "true"}, False),
])
def test_only_enabled_true_opts_in(annotations: dict[str, str], enabled: bool) -> None:
    assert ann.is_enabled(annotations) is enabled


# --- issue 12: prices, carbon intensity, power cap, cost / carbon objectives ---------------

@pytest.mark.parametrize(("text", "watts"), [
    ("300 W", 300.0),
    ("1.5kW", 1500.0),
    ("2 MW", 2e6),
    (" 1e3 W ", 1000.0),
])
def test_max_power_units_convert_to_watts(text: str, watts: float) -> None:
    assert parse(max_power=text).spec.max_power_w == pytest.approx(watts)


@pytest.mark.parametrize("text", ["300", "5 kw", "5 mW", "5 KW", "5 kWh", "-1 kW", "0 W",
                                  "lots", "", "1e400 W"])
def test_max_power_without_a_listed_unit_or_positive_number_is_refused(text: str) -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(max_power=text)
    assert [err.key for err in e.value.errors] == [P + "max-power"]


@pytest.mark.parametrize(("extra", "objective", "per_kwh", "per_worker_h", "carbon"), [
    ({"objective": "cost", "price_per_kwh": "0.20"}, "cost", 0.20, None, None),
    ({"objective": "cost", "price_per_worker_hour": "2.5"}, "cost", None, 2.5, None),
    ({"objective": "cost", "price_per_kwh": "0", "price_per_worker_hour": "1e1"}, "cost",
     0.0, 10.0, None),
    ({"objective": "Carbon", "carbon_g_per_kwh": "350"}, "carbon", None, None, 350.0),
    ({"carbon_g_per_kwh": "350", "price_per_kwh": " 0.3 "}, "energy", 0.3, None, 350.0),
])
def test_prices_parse_into_constant_rates(
    extra: dict[str, str], objective: str, per_kwh: float | None, per_worker_h: float | None,
    carbon: float | None,
) -> None:
    spec = parse(**extra).spec
    assert str(spec.objective) == objective
    assert spec.prices is not None

    def value(rate: object) -> float | None:
        return None if rate is None else rate.value_at(0.0)  # type: ignore[attr-defined]

    assert value(spec.prices.energy_per_kwh) == per_kwh
    assert value(spec.prices.per_worker_hour) == per_worker_h
    assert value(spec.prices.carbon_g_per_kwh) == carbon


def test_no_price_annotations_means_no_prices() -> None:
    assert parse().spec.prices is None


@pytest.mark.parametrize(("extra", "key"), [
    ({"price_per_kwh": "-0.1"}, "price-per-kwh"),
    ({"price_per_kwh": "0.20 EUR"}, "price-per-kwh"),
    ({"price_per_kwh": "nan"}, "price-per-kwh"),
    ({"price_per_worker_hour": "inf"}, "price-per-worker-hour"),
    ({"price_per_worker_hour": "cheap"}, "price-per-worker-hour"),
    ({"carbon_g_per_kwh": "-5"}, "carbon-g-per-kwh"),
    ({"carbon_g_per_kwh": "350 g"}, "carbon-g-per-kwh"),
    ({"objective": "cost", "price_per_kwh": "-1"}, "price-per-kwh"),  # not twice: no repeat
])
def test_invalid_prices_name_their_key(extra: dict[str, str], key: str) -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(**extra)
    assert [err.key for err in e.value.errors] == [P + key]
    assert str(e.value).startswith(P + key + ": ")


@pytest.mark.parametrize(("extra", "missing"), [
    ({"objective": "cost"}, [P + "price-per-kwh", P + "price-per-worker-hour"]),
    ({"objective": "cost", "carbon_g_per_kwh": "300"}, [P + "price-per-kwh"]),
    ({"objective": "carbon"}, [P + "carbon-g-per-kwh"]),
    ({"objective": "carbon", "price_per_kwh": "0.2"}, [P + "carbon-g-per-kwh"]),
])
def test_cost_or_carbon_without_its_price_says_which_annotation_is_missing(
    extra: dict[str, str], missing: list[str]
) -> None:
    with pytest.raises(ann.InvalidAnnotations) as e:
        parse(**extra)
    [err] = e.value.errors
    assert err.key == P + "objective"
    assert all(m in err.problem for m in missing)
