"""Values the rules accept must fit the columns that store them (found by fuzzing the importer).

The service caps names, phones and relationships at 100 characters, but some columns are
narrower (phone 40, relationship 60), and the search keys (NFKD-folded names) can grow longer
than the name itself. SQLite does not enforce VARCHAR lengths; PostgreSQL refuses the row with
a raw DataError that reaches the person as a traceback (the TUI, `frontdesk charts add`,
`frontdesk charts import`, Change Ownership with a new contact). Each case must be accepted or
refused with a clear FrontDeskError, on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from frontdesk.charts.importer import import_charts
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.errors import FrontDeskError
from frontdesk.services import Services

LIGATURE = "\ufb03"  # "ﬃ": one character, three after NFKD ("ffi")


def _add(chart: ChartInput) -> Callable[[Services, Path], object]:
    return lambda services, _tmp: services.charts.add_chart(chart)


def _contact(relationship: str) -> Callable[[Services, Path], object]:
    def run(services: Services, _tmp: Path) -> object:
        services.charts.add_chart(
            ChartInput("C-9", "Ana", "Lopez", "1985-03-04", "ana@example.com")
        )
        return services.charts.add_contact(
            "C-9", ContactInput("Gina Lopez", relationship, "g@example.com")
        )

    return run


def _import(phone: str) -> Callable[[Services, Path], object]:
    def run(services: Services, tmp: Path) -> object:
        path = tmp / "charts.csv"
        path.write_text(
            "chart_number,first_name,last_name,date_of_birth,phone\n"
            f"C-8,Ana,Lopez,1985-03-04,{phone}\n",
            encoding="utf-8",
        )
        report = import_charts(services.charts, path)
        if report.errors:
            raise FrontDeskError(str(report.errors[0]))
        return report

    return run


CASES: dict[str, Callable[[Services, Path], object]] = {
    "phone of 60 characters (column: 40)": _add(
        ChartInput("C-1", "Ana", "Lopez", "1985-03-04", phone="555 010 0100 ext " + "1" * 43)
    ),
    "relationship of 80 characters (column: 60)": _contact("legal guardian " + "x" * 65),
    "last name whose search key is 300 characters (column: 100)": _add(
        ChartInput("C-2", "Ana", LIGATURE * 100, "1985-03-04")
    ),
    "CSV import of a phone of 60 characters": _import("5" * 60),
}


@pytest.mark.parametrize("case", list(CASES))
def test_accepted_values_fit_their_columns(
    case: str, practice_ready: Services, tmp_path: Path
) -> None:
    try:
        CASES[case](practice_ready, tmp_path)
    except FrontDeskError as refused:
        assert "\n" not in str(refused)
