"""Scoring golden cases at every band edge of the PHQ-9 and GAD-7 (the instruction manual's
bands), the item 9 flag, and answers that cannot be scored. Pure functions: no database."""

from __future__ import annotations

import pytest

from frontdesk.portal.scoring import ScoringError, Severity, score, severity_of


def answers_totalling(prefix: str, items: int, total: int) -> dict[str, str]:
    """Answers to `items` items summing to `total`, item 9 left at 0 where there is one."""
    values = [0] * items
    left = total
    order = [i for i in range(items) if not (prefix == "phq9" and i == 8)]
    for i in order:
        values[i] = min(3, left)
        left -= values[i]
    if left:  # only the PHQ-9's 25-27 need item 9
        values[8] = left
    return {f"{prefix}_{n}": str(v) for n, v in enumerate(values, start=1)}


PHQ9_EDGES = [
    (0, Severity.MINIMAL), (4, Severity.MINIMAL),
    (5, Severity.MILD), (9, Severity.MILD),
    (10, Severity.MODERATE), (14, Severity.MODERATE),
    (15, Severity.MODERATELY_SEVERE), (19, Severity.MODERATELY_SEVERE),
    (20, Severity.SEVERE), (24, Severity.SEVERE), (27, Severity.SEVERE),
]  # fmt: skip
GAD7_EDGES = [
    (0, Severity.MINIMAL), (4, Severity.MINIMAL),
    (5, Severity.MILD), (9, Severity.MILD),
    (10, Severity.MODERATE), (14, Severity.MODERATE),
    (15, Severity.SEVERE), (21, Severity.SEVERE),
]  # fmt: skip


@pytest.mark.parametrize(("total", "band"), PHQ9_EDGES)
def test_phq9_band_edges(total: int, band: Severity) -> None:
    result = score("phq-9", answers_totalling("phq9", 9, total))
    assert (result.total, result.severity, result.maximum) == (total, band, 27)
    assert severity_of("phq-9", total) is band


@pytest.mark.parametrize(("total", "band"), GAD7_EDGES)
def test_gad7_band_edges(total: int, band: Severity) -> None:
    result = score("gad-7", answers_totalling("gad7", 7, total))
    assert (result.total, result.severity, result.maximum) == (total, band, 21)
    assert not result.item9_flag


def test_band_words_and_values() -> None:
    assert Severity.MODERATELY_SEVERE.value == "moderately_severe"
    assert Severity.MODERATELY_SEVERE.label == "Moderately severe"
    # OpenEMR's PHQ-9 showed 5-9 as "Moderate"; here 5-9 is mild on both measures.
    assert severity_of("phq-9", 7) is Severity.MILD
    assert severity_of("gad-7", 7) is Severity.MILD


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_above_not_at_all_is_flagged_whatever_the_total(item9: int) -> None:
    answers = {f"phq9_{n}": "0" for n in range(1, 10)} | {"phq9_9": str(item9)}
    result = score("phq-9", answers)
    assert result.item9_flag and result.total == item9 and result.severity is Severity.MINIMAL


def test_item9_not_at_all_is_not_flagged() -> None:
    assert not score("phq-9", answers_totalling("phq9", 9, 24)).item9_flag


def test_the_difficulty_item_is_not_scored() -> None:
    answers = answers_totalling("phq9", 9, 4) | {"difficulty": "Extremely difficult"}
    assert score("phq-9", answers).total == 4


@pytest.mark.parametrize("bad", [None, "", "4", "-1", "1.5", "x", True])
def test_an_unanswerable_item_is_not_scored(bad: object) -> None:
    answers: dict[str, object] = dict(answers_totalling("gad7", 7, 3))
    answers["gad7_4"] = bad
    with pytest.raises(ScoringError):
        score("gad-7", answers)


def test_totals_outside_the_measure_have_no_band() -> None:
    with pytest.raises(ScoringError):
        severity_of("gad-7", 22)
    with pytest.raises(ScoringError):
        severity_of("phq-9", -1)
