"""Which time zone a customer lives in: the tz database's own table of zones by country."""

import functools
import importlib.resources
from zoneinfo import ZoneInfo


@functools.cache
def _first_zone_by_country() -> dict[str, str]:
    """zone.tab's first zone for each ISO 3166 country code (as the tzdata package ships it)."""
    table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, str] = {}
    for line in table.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        for country in fields[0].split(","):
            zones.setdefault(country, fields[2])
    return zones


def zone_for(country: str | None, fallback: str) -> ZoneInfo:
    """The customer's zone: the first zone.tab lists for their country (GB: Europe/London), else `fallback`."""
    name = _first_zone_by_country().get(country.upper(), fallback) if country else fallback
    return ZoneInfo(name)


@functools.cache
def _zone_names() -> frozenset[str]:
    """Every zone the tzdata package names, but Factory (the "-00" zone of a machine not set up yet).

    The package's list, not whatever the host's zoneinfo folder holds: `localtime` or `posixrules` there
    are files of this machine's set-up, and would mean another zone on another node.
    """
    names = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(names) - {"Factory"}


def is_zone(name: str) -> bool:
    """Whether the tz database knows this zone name."""
    return name in _zone_names()
