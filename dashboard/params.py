"""What a report page shows: the period and attribution model from the query.

Pages never fail on a mistyped date: they fall back to the default period
and say so, because a marketer fixing a URL by hand should see a page.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import request

from conversions.attribution import MODELS
from conversions.reports import Period
from shortener.clock import utcnow

PRESETS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
PRESET_LABELS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 12 months",
    "all": "All time",
    "custom": "Custom",
}
MODEL_LABELS = {
    "last_touch": "Last touch",
    "first_touch": "First touch",
    "linear": "Linear",
    "position_based": "Position-based (40/20/40)",
    "time_decay": "Time decay",
}
DEFAULT_PRESET = "30d"


@dataclass
class View:
    period: Period
    preset: str
    model: str
    problems: list[str] = field(default_factory=list)

    def args(self, **overrides) -> dict:
        """Query arguments that reproduce this view (for links and forms)."""
        values = {"model": self.model, "period": self.preset}
        if self.preset == "custom":
            values["from"] = self.period.start.isoformat() if self.period.start else None
            values["to"] = self.period.end.isoformat() if self.period.end else None
        values.update(overrides)
        return {k: v for k, v in values.items() if v}

    def api_args(self) -> dict:
        """The same view as the JSON/CSV API's `from`, `to` and `model`."""
        values = {"model": self.model}
        if self.period.start:
            values["from"] = self.period.start.isoformat()
        if self.period.end:
            values["to"] = self.period.end.isoformat()
        return values

    @property
    def label(self) -> str:
        if self.preset != "custom":
            return PRESET_LABELS[self.preset]
        start = self.period.start.isoformat() if self.period.start else "the start"
        end = self.period.end.isoformat() if self.period.end else "today"
        return f"{start} to {end}"


def preset_period(preset: str, today: date) -> Period:
    days = PRESETS[preset]
    if days is None:
        return Period()
    return Period(today - timedelta(days=days - 1), today)


def _day(name: str, problems: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"'{raw[:40]}' is not a date like 2026-03-31; showing {name} as empty")
        return None


def read_view(default_preset: str = DEFAULT_PRESET) -> View:
    problems: list[str] = []
    today = utcnow().date()
    model = request.args.get("model") or "last_touch"
    if model not in MODELS:
        problems.append(f"unknown attribution model '{model[:40]}'; showing last touch")
        model = "last_touch"
    preset = request.args.get("period")
    dates_given = request.args.get("from") or request.args.get("to")
    if preset == "custom" or (preset is None and dates_given):
        start, end = _day("from", problems), _day("to", problems)
        if start and end and start > end:
            problems.append("the period's start was after its end; they were swapped")
            start, end = end, start
        return View(Period(start, end), "custom", model, problems)
    preset = preset or default_preset
    if preset not in PRESETS:
        problems.append(f"unknown period '{preset[:40]}'")
        preset = default_preset
    return View(preset_period(preset, today), preset, model, problems)
