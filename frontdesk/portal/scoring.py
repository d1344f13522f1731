"""Scoring the built-in measures: pure functions from answers to a total, its severity band
and the PHQ-9 item 9 flag, by the PHQ/GAD-7 instruction manual.

PHQ-9 (items 1-9, 0-3 each, total 0-27): 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19
moderately severe, 20-27 severe. GAD-7 (items 1-7, total 0-21): 0-4 minimal, 5-9 mild, 10-14
moderate, 15-21 severe. The difficulty item is not scored. PHQ-9 item 9 ("thoughts that you
would be better off dead or of hurting yourself") answered above "Not at all" is flagged,
whatever the total."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from frontdesk.portal.builtin_forms import GAD7, GAD7_ITEMS, PHQ9, PHQ9_ITEM9, PHQ9_ITEMS


class Severity(StrEnum):
    MINIMAL = "minimal"
    MILD = "mild"
    MODERATE = "moderate"
    MODERATELY_SEVERE = "moderately_severe"
    SEVERE = "severe"

    @property
    def label(self) -> str:
        """The band as people read it: "Moderately severe"."""
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    severity: Severity


@dataclass(frozen=True)
class Measure:
    key: str
    item_ids: tuple[str, ...]
    bands: tuple[Band, ...]

    @property
    def maximum(self) -> int:
        return 3 * len(self.item_ids)


@dataclass(frozen=True)
class MeasureScore:
    total: int
    severity: Severity
    item9_flag: bool  # PHQ-9 item 9 above "Not at all" (False for other measures)
    maximum: int


MEASURES: dict[str, Measure] = {
    PHQ9: Measure(
        PHQ9,
        tuple(f"phq9_{n}" for n in range(1, len(PHQ9_ITEMS) + 1)),
        (
            Band(0, 4, Severity.MINIMAL),
            Band(5, 9, Severity.MILD),
            Band(10, 14, Severity.MODERATE),
            Band(15, 19, Severity.MODERATELY_SEVERE),
            Band(20, 27, Severity.SEVERE),
        ),
    ),
    GAD7: Measure(
        GAD7,
        tuple(f"gad7_{n}" for n in range(1, len(GAD7_ITEMS) + 1)),
        (
            Band(0, 4, Severity.MINIMAL),
            Band(5, 9, Severity.MILD),
            Band(10, 14, Severity.MODERATE),
            Band(15, 21, Severity.SEVERE),
        ),
    ),
}


class ScoringError(ValueError):
    """Answers that cannot be scored (an item missing or off the 0-3 scale)."""


def is_scored(form_key: str) -> bool:
    return form_key in MEASURES


def severity_of(form_key: str, total: int) -> Severity:
    """The band of `total` on the measure `form_key`."""
    for band in MEASURES[form_key].bands:
        if band.low <= total <= band.high:
            return band.severity
    raise ScoringError(f"{form_key} total {total} is outside 0-{MEASURES[form_key].maximum}")


def score(form_key: str, answers: Mapping[str, object]) -> MeasureScore:
    """Total, band and item 9 flag of a measure's answers (each item "0".."3" or 0..3)."""
    measure = MEASURES[form_key]
    total = 0
    values: dict[str, int] = {}
    for item_id in measure.item_ids:
        value = item_value(answers.get(item_id))
        if value is None:
            raise ScoringError(f"{item_id} is not answered on the 0-3 scale")
        values[item_id] = value
        total += value
    flag = form_key == PHQ9 and values.get(PHQ9_ITEM9, 0) > 0
    return MeasureScore(total, severity_of(form_key, total), flag, measure.maximum)


def item_value(raw: object) -> int | None:
    """An item's answer as its score 0-3, or None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip() in ("0", "1", "2", "3"):
        value = int(raw.strip())
    else:
        return None
    return value if 0 <= value <= 3 else None
