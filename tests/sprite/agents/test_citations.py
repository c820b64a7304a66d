"""A cited value is verified against its span of the OCR text, or flagged with the reason."""

from __future__ import annotations

import pytest

from sprite.agents.citations import find_value, locate_quote, verify

PAGE = (
    "ACME SUPPLIES LTD\n"
    "Invoice INV-2024-001\n"
    "Date: 5 March 2024\n"
    "Subtotal:   $1,250.00\n"
    "Tax (10%):  $125.00\n"
    "Total:      $1,375.00\n"
)


def check(value, **citation):
    return verify(value, document_id="doc", page=1, page_text=PAGE, page_count=1, **citation)


@pytest.mark.parametrize(
    ("value", "quote"),
    [
        ("ACME SUPPLIES LTD", "ACME SUPPLIES LTD"),
        ("acme supplies ltd", "ACME   SUPPLIES\nLTD"),  # case and spacing ignored
        (1375, "Total:      $1,375.00"),  # numbers by value
        ("$1,375.00", "Total: $1,375.00"),
        (1375.0, "total: $1,375.00"),
        ("2024-03-05", "Date: 5 March 2024"),  # an ISO date in a printed format
        ({"amount": 125, "rate": "10%"}, "Tax (10%):  $125.00"),  # every leaf must appear
    ],
)
def test_a_quote_that_shows_the_value_verifies_it(value, quote) -> None:
    verdict = check(value, quote=quote)
    assert not verdict.flagged, verdict.reason
    assert verdict.span is not None
    assert PAGE[verdict.span.start : verdict.span.end] == verdict.span.text


def test_offsets_are_checked_against_the_page_text() -> None:
    start = PAGE.index("$1,375.00")
    verdict = check(1375, start=start, end=start + len("$1,375.00"))
    assert not verdict.flagged
    assert verdict.span.text == "$1,375.00"
    assert verdict.describe().startswith("verified on page 1")


def test_a_span_that_does_not_contain_the_value_is_flagged_with_a_fix() -> None:
    verdict = check(1375, quote="Subtotal:   $1,250.00")
    assert verdict.flagged
    assert "does not contain the value" in verdict.reason
    assert verdict.span is not None and verdict.span.text == "Subtotal:   $1,250.00"
    assert verdict.suggestion is not None
    assert verdict.suggestion.text == "$1,375.00"
    assert "[" in verdict.describe() and "set_field" in verdict.describe()


@pytest.mark.parametrize(
    ("citation", "reason"),
    [
        ({}, "no source cited"),
        ({"quote": "Grand total: $9,999.00"}, "is not on page 1"),
        ({"start": 5, "end": 500}, "outside page 1"),
        ({"start": 5}, "needs both start and end"),
    ],
)
def test_unusable_citations_are_flagged_not_refused(citation, reason) -> None:
    if not citation:
        verdict = verify(1375, document_id="doc", page=None, page_text=None, page_count=1)
    else:
        verdict = check(1375, **citation)
    assert verdict.flagged
    assert reason in verdict.reason


def test_a_page_that_does_not_exist_is_flagged() -> None:
    verdict = verify(1, document_id="doc", page=3, page_text=None, page_count=2, quote="x")
    assert verdict.flagged and "page 3 does not exist" in verdict.reason


def test_an_offset_span_and_a_quote_must_agree() -> None:
    start = PAGE.index("$125.00")
    verdict = check(125, start=start, end=start + 7, quote="$1,250.00")
    assert verdict.flagged and "is not what the span reads" in verdict.reason


def test_numbers_do_not_match_inside_other_numbers() -> None:
    assert find_value(2024, "Invoice INV-2024-001") is not None  # a token of its own
    assert find_value(202, "Invoice INV-2024-001") is None
    assert find_value(1250, "Subtotal $1,250.00") == (9, 18)


def test_locate_quote_maps_a_loose_match_back_to_original_offsets() -> None:
    start, end = locate_quote(PAGE, "total: $1,375.00")
    assert PAGE[start:end] == "Total:      $1,375.00"
    assert locate_quote(PAGE, "   ") is None
