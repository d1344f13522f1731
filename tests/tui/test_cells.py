"""Table cells are cut to their column with one ellipsis, never two in a row."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from screens.safe_text import cell, fit

MASKED = "invitation 12 to l…@example.com"


def test_a_cut_right_after_a_masked_ellipsis_does_not_double_it() -> None:
    # width 20: the first 19 cells end in the mask's own "…"
    assert fit(MASKED, 20) == "invitation 12 to l…"
    assert cell(MASKED, width=20).plain == "invitation 12 to l…"
    # one cell wider the cut falls after "@": the usual single ellipsis
    assert fit(MASKED, 21) == "invitation 12 to l…@…"


def test_text_that_fits_is_left_alone() -> None:
    assert fit(MASKED, len(MASKED)) == MASKED
    assert fit("", 0) == ""
    assert fit("ab", 0) == ""
    assert cell(MASKED, width=80).plain == MASKED


def test_wide_characters_are_counted_in_cells() -> None:
    cut = fit("to 李…@example.com", 7)
    assert cell_len(cut) <= 7
    assert cut.endswith("…") and "……" not in cut


@given(st.text(alphabet="ab…李 @", max_size=30), st.integers(min_value=1, max_value=32))
def test_a_cut_fits_its_column_and_ends_in_one_ellipsis(value: str, width: int) -> None:
    cut = fit(value, width)
    assert cell_len(cut) <= width
    if cell_len(value) <= width:
        assert cut == value
    else:
        assert cut.endswith("…")
        assert not cut.endswith("……")
