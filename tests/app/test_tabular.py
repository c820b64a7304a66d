"""The table artifact's data handling: shapes in, filtered/sorted pages and exports out."""

import csv
import io

import pytest
from openpyxl import load_workbook

from app.canvas import tabular
from app.canvas.base import ArtifactDataError


def test_list_rows_with_cited_cells_keep_their_sources():
    table = tabular.parse_table(
        {
            "columns": ["Vendor", {"key": "total", "label": "Total"}],
            "rows": [
                [
                    "Acme",
                    {
                        "value": 120.5,
                        "source": {"document_id": "d1", "page": 2, "start": 10, "end": 16},
                    },
                ],
                ["Borealis", 99],
            ],
        }
    )
    assert [c.label for c in table.columns] == ["Vendor", "Total"]
    assert table.values == [["Acme", 120.5], ["Borealis", 99]]
    assert table.sources == {"0:1": {"document_id": "d1", "page": 2, "start": 10, "end": 16}}
    assert table.columns[1].numeric and not table.columns[0].numeric


def test_object_rows_without_columns_take_keys_in_order():
    table = tabular.parse_table({"rows": [{"a": 1, "b": "x"}, {"b": "y", "c": True}]})
    assert [c.key for c in table.columns] == ["a", "b", "c"]
    assert table.values == [[1, "x", None], [None, "y", True]]


def test_short_rows_are_padded_and_long_rows_cut():
    table = tabular.parse_table({"columns": ["a", "b"], "rows": [[1], [1, 2, 3]]})
    assert table.values == [[1, None], [1, 2]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "must be an object"),
        ({"columns": ["a"], "rows": "nope"}, "'rows' must be a list"),
        ({"rows": [[1, 2]]}, "'columns' is required"),
        ({"columns": ["a"], "rows": [1]}, "row 1 is neither"),
    ],
)
def test_bad_shapes_are_explained(data, message):
    with pytest.raises(ArtifactDataError, match=message):
        tabular.parse_table(data)


def test_filter_matches_every_word_in_any_column_case_blind():
    table = tabular.parse_table(
        {"columns": ["v", "c"], "rows": [["Acme Ltd", "EUR"], ["Acme", "USD"], ["Zed", "eur"]]}
    )
    index = tabular.search_index(table)
    assert tabular.select_rows(table, index, "acme eur") == [0]
    assert tabular.select_rows(table, index, "EUR") == [0, 2]
    assert tabular.select_rows(table, index, "") == [0, 1, 2]


def test_sort_is_numeric_for_numbers_and_keeps_empty_cells_last():
    table = tabular.parse_table(
        {"columns": ["n"], "rows": [["1,200.50"], [None], [30], ["€ 4"], ["(5)"]]}
    )
    index = tabular.search_index(table)
    up = tabular.select_rows(table, index, sort_column=0)
    down = tabular.select_rows(table, index, sort_column=0, descending=True)
    assert [table.values[i][0] for i in up] == ["(5)", "€ 4", 30, "1,200.50", None]
    assert [table.values[i][0] for i in down] == ["1,200.50", 30, "€ 4", "(5)", None]


def test_pages_are_clamped_to_what_exists():
    rows = list(range(120))
    assert tabular.page_of(rows, 0, 50) == (0, list(range(50)))
    assert tabular.page_of(rows, 2, 50) == (2, list(range(100, 120)))
    assert tabular.page_of(rows, 9, 50)[0] == 2
    assert tabular.page_of([], 3, 50) == (0, [])


def test_display_groups_numbers_and_blanks_nulls():
    assert tabular.display(1234567) == "1,234,567"
    assert tabular.display(1234.5) == "1,234.50"
    assert tabular.display(0.000123) == "0.000123"
    assert tabular.display(None) == ""
    assert tabular.display(True) == "Yes"


def test_csv_and_xlsx_exports_hold_the_selected_rows_with_raw_values():
    table = tabular.parse_table(
        {
            "columns": ["Vendor", "Total"],
            "rows": [["Acme, Inc.", 120.5], ["Borealis", {"value": 99, "source": None}]],
        }
    )
    text = tabular.to_csv(table, [1, 0])
    assert list(csv.reader(io.StringIO(text))) == [
        ["Vendor", "Total"],
        ["Borealis", "99"],
        ["Acme, Inc.", "120.5"],
    ]
    book = load_workbook(io.BytesIO(tabular.to_xlsx(table, [0, 1], "Q3: invoices/all")))
    sheet = book.active
    assert sheet.title == "Q3  invoices all"
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["Vendor", "Total"],
        ["Acme, Inc.", 120.5],
        ["Borealis", 99],
    ]


def test_ten_thousand_rows_sample_parses_with_citations():
    from app.canvas.table import sample_data

    table = tabular.parse_table(sample_data())
    assert table.row_count == 10_000
    assert len(table.sources) == 5


def test_flagged_values_keep_their_reason():
    table = tabular.parse_table(
        {
            "columns": ["Field", "Value"],
            "rows": [
                [
                    "terms",
                    {
                        "value": "60 days",
                        "flagged": True,
                        "flag_reason": "the cited text says 30 days",
                    },
                ],
                ["total", {"value": 5, "flagged": True}],
            ],
        }
    )
    assert table.flags == {"0:1": "the cited text says 30 days", "1:1": "flagged for review"}
