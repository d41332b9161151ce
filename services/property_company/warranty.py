"""A flat's warranty table and who repairs what, from the handover date.

Plain Python, no framework. The periods are those of Art. 40 of the
Regulation on the Quality Management of Construction Projects, each running
from the handover date:

- foundations and main structure (`structure`): the design life, in years;
- waterproofing of roofs, wet rooms and exterior walls (`waterproofing`): 5 years;
- heating and cooling (`heating`, `cooling`): 2 heating or cooling seasons;
- electrical, plumbing, equipment installation and decoration: 2 years.

A period in years ends the day before the handover's anniversary (a flat
handed over on 2024-03-10 is under a 2-year warranty through 2026-03-09; an
anniversary of 29 February in a common year falls on 1 March). A period in
seasons counts the seasons that begin on or after the handover date (a
handover in the middle of a season is covered for the rest of it too, since
that is before the end) and ends on the last day of the second one.

Who repairs: under warranty the developer (through its builder); after it,
common parts are the property company's (the maintenance fund) and in-flat
items the owner's.
"""
from dataclasses import dataclass
from datetime import date, timedelta

YEARS = "years"
SEASONS = "seasons"

# category -> (what it covers, unit, length; None: the design-life setting)
PERIODS = {
    "structure": ("foundations and main structure", YEARS, None),
    "waterproofing": ("waterproofing of roofs, wet rooms and exterior walls", YEARS, 5),
    "heating": ("heating system", SEASONS, 2),
    "cooling": ("cooling system", SEASONS, 2),
    "electrical": ("electrical installation", YEARS, 2),
    "plumbing": ("water supply and drainage pipes", YEARS, 2),
    "equipment": ("equipment installation", YEARS, 2),
    "decoration": ("decoration", YEARS, 2),
}
WARRANTY_CATEGORIES = tuple(PERIODS)
# Repairs no warranty period covers.
OTHER_CATEGORIES = ("common_area", "appliance", "other")
REPAIR_CATEGORIES = WARRANTY_CATEGORIES + OTHER_CATEGORIES
PARTS = ("common", "in_flat")
# Leaks and structural defects: the developer must accept within the urgent limit.
URGENT_CATEGORIES = ("structure", "waterproofing")

DEVELOPER = "developer"
PROPERTY_COMPANY = "property_company"
OWNER = "owner"
RESPONSIBLE = (DEVELOPER, PROPERTY_COMPANY, OWNER)


class BadSeason(ValueError):
    pass


@dataclass(frozen=True)
class Season:
    """A yearly season from (month, day) to (month, day), both days included;
    it may run over the new year (heating: 15 November to 15 March)."""
    start: tuple
    end: tuple

    @classmethod
    def parse(cls, text, name="season"):
        """`MM-DD/MM-DD`, e.g. `11-15/03-15`."""
        try:
            first, last = str(text).strip().split("/")
            start = tuple(int(part) for part in first.split("-"))
            end = tuple(int(part) for part in last.split("-"))
            for month, day in (start, end):
                date(2024, month, day)  # a leap year: 02-29 is a day
        except (ValueError, TypeError) as exc:
            raise BadSeason("%s must be MM-DD/MM-DD (e.g. 11-15/03-15), not %r (%s)"
                            % (name, text, exc))
        if start == end:
            raise BadSeason("%s must not start and end on the same day" % name)
        return cls(start, end)

    def starts_on(self, year):
        return _day(year, *self.start)

    def ends_after(self, start):
        """The last day of the season that starts on `start`."""
        end = _day(start.year, *self.end)
        return end if end >= start else _day(start.year + 1, *self.end)

    def seasons_from(self, day):
        """(start, end) of each season that starts on or after `day`."""
        year = day.year - 1
        while True:
            start = self.starts_on(year)
            if start >= day:
                yield start, self.ends_after(start)
            year += 1

    def __str__(self):
        return "%02d-%02d/%02d-%02d" % (self.start + self.end)


def _day(year, month, day):
    """The day, with 29 February of a common year read as 1 March."""
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, 3, 1)


def years_later(day, years):
    return _day(day.year + years, day.month, day.day)


@dataclass(frozen=True)
class Rules:
    """The settings the table depends on."""
    design_life_years: int = 50
    heating_season: Season = Season((11, 15), (3, 15))
    cooling_season: Season = Season((6, 1), (9, 30))


def period_end(category, handed_over_on, rules):
    """The last day the warranty of `category` covers."""
    _, unit, length = PERIODS[category]
    if unit == YEARS:
        years = rules.design_life_years if length is None else length
        return years_later(handed_over_on, years) - timedelta(days=1)
    season = rules.heating_season if category == "heating" else rules.cooling_season
    seasons = season.seasons_from(handed_over_on)
    for _ in range(length - 1):
        next(seasons)
    return next(seasons)[1]


def period_text(category, rules):
    _, unit, length = PERIODS[category]
    if unit == YEARS:
        years = rules.design_life_years if length is None else length
        return "%d years%s" % (years, " (design life)" if length is None else "")
    season = rules.heating_season if category == "heating" else rules.cooling_season
    return "%d %s seasons (%s)" % (length, category, season)


def period_length(category, rules):
    """(unit, how many): ("years", 5), ("seasons", 2)."""
    _, unit, length = PERIODS[category]
    return unit, rules.design_life_years if length is None else length


def table(handed_over_on, rules):
    """The flat's warranty table: one row per category."""
    return [{"category": category, "covers": PERIODS[category][0],
             "period": period_text(category, rules),
             "unit": period_length(category, rules)[0], "length": period_length(category, rules)[1],
             "starts": handed_over_on, "end": period_end(category, handed_over_on, rules)}
            for category in WARRANTY_CATEGORIES]


def default_part(category):
    """Where a repair is, when the report does not say: the common area is
    common, everything else is taken to be inside the flat."""
    return "common" if category == "common_area" else "in_flat"


def decide(category, part, handed_over_on, reported_on, rules):
    """Who repairs, under which warranty, and why:
    {responsible, warranty: {category, period, end, covered} or None, reason}."""
    if reported_on < handed_over_on:
        raise ValueError("reported on %s, before the handover on %s" % (reported_on, handed_over_on))
    after = PROPERTY_COMPANY if part == "common" else OWNER
    whose = ("common parts are the property company's (maintenance fund)" if part == "common"
             else "in-flat items are the owner's")
    if category not in PERIODS:
        return {"responsible": after, "warranty": None,
                "reason": "%s is not a warranty category; %s" % (category, whose)}
    end = period_end(category, handed_over_on, rules)
    covered = reported_on <= end
    warranty = {"category": category, "period": period_text(category, rules), "end": end,
                "covered": covered}
    if covered:
        return {"responsible": DEVELOPER, "warranty": warranty,
                "reason": "%s is under warranty (%s from the handover on %s, through %s): "
                          "the developer repairs" % (category, warranty["period"],
                                                     handed_over_on.isoformat(), end.isoformat())}
    return {"responsible": after, "warranty": warranty,
            "reason": "the %s warranty (%s from the handover on %s) ended on %s; %s"
                      % (category, warranty["period"], handed_over_on.isoformat(),
                         end.isoformat(), whose)}


def urgent(category):
    return category in URGENT_CATEGORIES
