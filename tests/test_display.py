"""core.display: the one rule for how numbers read on pages, charts, the CLI, the bulletin and alert messages."""

from __future__ import annotations

import math

import pytest

from core import display


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234.5, None, "1,234.5"),  # cli_cycle printed this as 1.23e+03
        (435_314_322.4, "m³", "435,314,322 m³"),
        (306.987, "m", "306.99 m"),
        (12.5, "mm", "12.5 mm"),
        (0.0123, None, "0.012"),
        (0.010, None, "0.01"),
        (0.00004, None, "0.00004"),
        (-0.00004, None, "-0.00004"),
        (0, "m", "0 m"),
        (3627, None, "3,627"),  # a count: no decimals
        (3627.0, None, "3,627.0"),
        (None, "m", "-"),
        (float("nan"), None, "-"),
        (float("inf"), None, "-"),
        ("n/a", None, "-"),
    ],
)
def test_number_full_value_without_e_notation(value, unit, text):
    assert display.number(value, unit) == text
    assert "e+" not in text and "e-" not in text


def test_number_digits_and_sign():
    assert display.number(2.0, "m", digits=2, signed=True) == "+2.00 m"
    assert display.number(-25_501_533.0, signed=True) == "-25,501,533"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (435_314_322.0, "m³", "435.3 M m³"),
        (4_183_000.0, "acre-ft", "4.18 M acre-ft"),
        (1_234_000_000.0, "m³", "1.23 bn m³"),
        (999_999.0, None, "999,999"),
        (5504.04, "ft", "5,504.0 ft"),
        (-25_501_533.0, None, "-25.5 M"),
        (None, None, "-"),
    ],
)
def test_compact_fits_a_card(value, unit, text):
    assert display.compact(value, unit) == text
    assert len(display.compact(value)) <= 9  # a metric at 390 px holds about ten characters at its font size


def test_signed_change_short_and_long():
    assert display.signed_change(25_501_533.0, "m³", short=True) == "+25.5 M m³"
    assert display.signed_change(0.42, "m") == "+0.42 m"
    assert display.signed_change(0.0, "m") == "no change"


def test_formats_for_tables_and_charts_share_the_decimals_rule():
    volumes = [436_672_580.944, None, float("nan")]
    assert display.printf_format(volumes) == "%,.0f"
    assert display.d3_format(volumes) == ",.0f" and display.tick_format(",.0f") == ",.0f"
    assert display.printf_format([306.5, 300.1]) == "%,.2f"
    assert display.d3_format([306.5]) == ",.2f" and display.tick_format(",.2f") is None
    assert display.printf_format([]) == "%,.3f"
    assert display.printf_format([5_644_020.0], "m³") == "%,.0f m³"  # the unit on the value: a short header
    assert display.printf_format([12.0], "%") == "%,.3f %%"
    assert f"{306.987:{display.d3_format([306.987])}}" == display.number(306.987)  # hover text = page text


def test_spread_and_percentages():
    assert display.spread_decimals(0.12) == 2
    assert display.spread_decimals(40) == 0
    assert display.spread_decimals(0) == 2 and display.spread_decimals(math.nan) == 2
    assert display.percent(0.57) == "57%" and display.percent(0.26, signed=True) == "+26%"
    assert display.chance(0) == "0%" and display.chance(0.4) == "<1%" and display.chance(57.2) == "57%"


def test_numbers_are_shown_with_decimals_that_suit_their_size():
    """Storage in m³ without decimals, levels with centimetres, small values with up to three decimals (moved here
    from the page tests with the rule itself)."""
    assert display.number(436672580.944, "m³") == "436,672,581 m³"
    assert display.number(6121773.62, "m³", signed=True) == "+6,121,774 m³"
    assert display.number(-6121773.62) == "-6,121,774"
    assert display.number(1234.56, "mcft") == "1,234.6 mcft"
    assert display.number(0.995) == "0.995" and display.number(0.01, "m", signed=True) == "+0.01 m"
    assert display.number(2.0, digits=2) == "2.00"
    assert display.printf_format([436672580.944, 1.0, None]) == "%,.0f"  # Streamlit's sprintf: "436,672,581"
    assert display.printf_format([0.995, float("nan")]) == "%,.3f"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(312.0, "m", "312 m"), (313.5, None, "313.5"), (444_400_000.0, "m³", "444,400,000 m³"), (-0.0, None, "0")],
)
def test_entered_values_read_as_typed(value, unit, text):
    """Operating levels in alert reasons, messages and table headers: never '4.444e+08'."""
    assert display.entered(value, unit) == text


def test_cycle_summary_writes_values_as_the_pages_do():
    """The `cycle` command's table printed 1234.5 as '1.23e+03' (its own formatter); it now uses core.display."""
    from core.cli.cycle import summary_lines
    from core.fleet.cycle import CycleReport
    from core.fleet.inbox import InboxOutcome
    from core.store.cycles import CycleReservoir

    row = CycleReservoir(
        "Poondi", "ok", version=3, alert="normal", issued="2019-09-16", last_value=1234.5, end_median=435_314_322.0
    )
    report = CycleReport(7, "serial", "ok", 1.5, (row,), InboxOutcome())
    line = next(line for line in summary_lines(report) if "Poondi" in line)
    assert "1,234.5" in line and "435,314,322" in line and "e+" not in line


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-9999999.0, "-9999999"),
        (-9999.0, "-9999"),
        (1_234_567.0, "1234567"),
        (306.9912, "306.9912"),
        (-0.0, "0"),
        (1e300, "1e+300"),  # a corrupt cell: short, not 301 digits
    ],
)
def test_values_quoted_from_a_file_read_as_the_file_holds_them(value, text):
    """Logger codes, curve rows and readings in messages: Python's :g wrote -9999999 as '-1e+07'."""
    assert display.plain(value) == text


def test_data_messages_quote_large_codes_and_readings_without_e_notation():
    """The screening table's values, a run's code and the readings' span went through :g ('-1e+07', '1.23457e+06')."""
    import numpy as np

    from core.data.report import DateRun
    from core.data.screen import values_text

    assert values_text(np.array([-9999999.0, 1_234_567.0])) == "-9999999, 1234567"
    assert values_text(np.array([1_234_567.0, 1_500_000.0, 1_700_000.0, 2_000_000.0])) == "1234567 to 2000000"
    assert DateRun("2024-01-01", "2024-01-03", 3, value=-9999999.0).shown() == "-9999999"


@pytest.mark.parametrize(
    ("value", "text"),
    [(86_400.4, "86,400"), (12_345.0, "12,300"), (1.234, "1.23"), (0.98, "0.98"), (0.01234, "0.0123"), (0.0, "0")],
)
def test_fitted_amounts_keep_three_significant_figures_written_out(value, text):
    """The water balance's coefficients and tolerances: :.3g wrote a m³ per m³/s-day coefficient as '8.64e+04'."""
    assert display.significant(value) == text


def test_water_balance_amounts_never_use_e_notation():
    """Tolerances and losses in the balance line and on the Data page: :.3g wrote 0.00001234 as "1.23e-05"."""
    from core.data.balance import amount

    assert amount(0.00001234, "hm³") == "0.0000123 hm³" and amount(123_456.0, "m³") == "123,000 m³"
