"""Local mode's price flags (issue 12): each a number >= 0 or a daily schedule's text in
``--price-timezone``, checked here so a bad one is one line naming the flag."""

from __future__ import annotations

import argparse

from autoscaler.cli.errors import UserError


def add_price_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--price-per-kwh", metavar="X", default=None,
        help="electricity price per kWh (a number >= 0, any currency): the cost objective's "
        "energy term, and cost per sample in the output",
    )
    parser.add_argument(
        "--price-per-worker-hour", metavar="X", default=None,
        help="price of one worker for one hour (same currency as --price-per-kwh): the cost "
        "objective's worker term",
    )
    parser.add_argument(
        "--carbon-g-per-kwh", metavar="X", default=None,
        help="grid carbon intensity in gCO2 per kWh (>= 0): what the carbon objective minimises",
    )
    parser.add_argument(
        "--price-timezone", metavar="TZ", default="UTC",
        help="time zone of daily price schedules: each price flag also takes "
        "'HH:MM=value,HH:MM=value' (e.g. 07:00=0.30,22:00=0.12), local times in TZ "
        "(IANA name, default UTC)",
    )


def price_flags(args: argparse.Namespace) -> tuple[float | str | None, ...]:
    """(per kWh, per worker-hour, gCO2 per kWh), each as :func:`_rate` reads it."""
    return tuple(_rate(args, flag, dest) for flag, dest in _RATE_FLAGS)


# Price flags -> their LocalSettings field (and the argparse dest).
_RATE_FLAGS = (
    ("--price-per-kwh", "price_per_kwh"),
    ("--price-per-worker-hour", "price_per_worker_hour"),
    ("--carbon-g-per-kwh", "carbon_g_per_kwh"),
)



def _rate(args: argparse.Namespace, flag: str, dest: str) -> float | str | None:
    """One price flag: a number >= 0, a daily schedule's text (autoscaler.tariffs), or None
    when not given; a bad one is a UserError."""
    from autoscaler import tariffs, units

    raw = getattr(args, dest)
    try:
        if raw is not None and tariffs.is_schedule(raw):
            tariffs.periods(raw)
            tariffs.zone(args.price_timezone)
            return str(raw)
        return None if raw is None else units.parse_rate(raw)
    except ValueError as e:
        raise UserError(f"{flag}: {e}") from None
