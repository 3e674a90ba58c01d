"""How the dashboard writes money, numbers and column names: one money
format everywhere, and forms that take what the tables display."""

from dashboard import formats


def test_one_money_format_with_the_currency():
    assert formats.money("1562.7", "USD") == "1,562.70 USD"  # the currency's two decimals
    assert formats.money("1562.70", "USD") == "1,562.70 USD"
    assert formats.money("1500", "JPY") == "1,500 JPY"  # yen has no minor unit
    assert formats.money("0.125", "EUR") == "0.125 EUR"  # a price per click keeps its digits
    assert formats.money("12.345", "KWD") == "12.345 KWD"
    assert formats.money(None, "USD") == "—"
    assert formats.minor(156270, "USD") == "1,562.70 USD"


def test_a_conversion_without_a_value_is_not_zero_dollars():
    assert formats.conversion_value(0, "USD") == "—"  # a lead
    assert formats.conversion_value(None, None) == "—"
    assert formats.conversion_value(4990, "EUR") == "49.90 EUR"


def test_amounts_typed_as_the_tables_write_them():
    assert formats.amount_text("1,000.00") == "1000.00"
    assert formats.amount_text(" 12,345,678.9 ") == "12345678.9"
    assert formats.amount_text("1,000") == "1000"
    assert formats.amount_text("1200.00") == "1200.00"
    # not thousands groups: passed on for the API's rules to refuse and name
    assert formats.amount_text("1,5") == "1,5"
    assert formats.amount_text("10,00.00") == "10,00.00"
    assert formats.amount_text("abc") == "abc"


def test_report_cells_carry_their_rows_currency():
    row = {"channel": "twitter", "currency": "EUR", "cost": "1500.00", "cpc": "0.8",
           "catalogue_value": "5.00", "catalogue_currency": "USD"}  # fmt: skip
    assert formats.cell(row["cost"], "cost", row) == "1,500.00 EUR"
    assert formats.cell(row["cpc"], "cpc", row) == "0.80 EUR"
    assert formats.cell(row["catalogue_value"], "catalogue_value", row) == "5.00 USD"
    assert formats.cell(None, "cac", row) == "—"
    assert formats.cell(0.125, "conversion_rate", row) == "12.5 %"
    assert formats.cell(-47.115385, "roi_percent", row) == "-47.12 %"
    assert formats.cell(25.0, "revenue_growth", row) == "25 %"  # growth comes in %
    assert formats.cell(1234, "human_clicks", row) == "1,234"
    assert formats.cell(-0.0123, "difference_low", row) == "-1.2 %"
    assert formats.cell("non_social", "group", row) == "Non-social visitors"


def test_column_names_in_plain_words():
    assert formats.heading("difference_low") == "Lower bound of the difference"
    assert formats.heading("cac") == "Cost per new customer (CAC)"
    assert formats.heading("roi_percent") == "ROI\u00a0%"
    assert formats.heading("linear_revenue") == "Revenue, linear"
    assert formats.heading("position_based_conversions") == "Conversions, position-based"
    assert formats.heading("revenue_growth") == "Revenue, change"
    assert formats.heading("something_new") == "Something new"
