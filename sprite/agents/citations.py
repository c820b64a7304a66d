"""Checking that an extracted value really is where its citation says it is.

A citation points at a character span of one page's OCR text: ``(document_id, page, start,
end)`` with ``start``/``end`` offsets into that page's text (``ocr_pages.text``), end exclusive.
Models count characters badly, so a citation may instead quote the text it relies on; the quote
is located on the page (exactly, else ignoring case and runs of whitespace) and turned into a
span.

:func:`verify` never refuses a value: it returns a :class:`Verdict` that says whether the cited
span contains the value and, if not, why — the caller saves the value *flagged* so a person can
review it — plus, when the value appears elsewhere on the page, a suggested span to fix it with.

Pure functions, no I/O: tested directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# A number as printed in documents: optional sign/parenthesis/currency, thousands separators.
_NUMBER = re.compile(
    r"(?<![\w.])(?:[-+(]?[$€£¥]?\s?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+(]?[$€£¥]?\s?\d+(?:\.\d+)?)"
)
_NUMERIC_VALUE = re.compile(r"^\s*[-+(]?[$€£¥]?\s?[\d,\s]*\.?\d+\)?\s*%?\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d %B %Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %b, %Y",
)
MAX_VALUE_CHARS = 10_000


@dataclass(frozen=True)
class Span:
    document_id: str
    page: int
    start: int
    end: int
    text: str  # the page text between start and end, as it reads

    def as_source(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True)
class Verdict:
    span: Span | None  # the cited span, when the citation could be resolved on the page
    flagged: bool
    reason: str | None = None  # why it is flagged, for the person reviewing it
    suggestion: Span | None = None  # where the value does appear on the page, if anywhere

    def describe(self) -> str:
        """One line for the model: verified, or flagged with the reason and a fix."""
        if not self.flagged:
            assert self.span is not None
            return f"verified on page {self.span.page} [{self.span.start}:{self.span.end}]"
        text = f"FLAGGED: {self.reason}"
        if self.suggestion is not None:
            s = self.suggestion
            text += (
                f" — the value does appear on page {s.page} at [{s.start}:{s.end}]"
                f" ({s.text!r}); correct the source with set_field if that is the right place"
            )
        return text


# ----------------------------------------------------------------------------- normalising


def fold_with_index(text: str) -> tuple[str, list[int]]:
    """Lower-case ``text`` with whitespace runs collapsed to one space, and for each character of
    the result the index of the original character it came from (to map matches back)."""
    out: list[str] = []
    index: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space and out:
                out.append(" ")
                index.append(i)
            in_space = True
            continue
        in_space = False
        for lowered in ch.lower():
            out.append(lowered)
            index.append(i)
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index


def fold(text: str) -> str:
    return fold_with_index(text)[0]


def _numbers(text: str) -> list[tuple[Decimal, int, int]]:
    """Numeric tokens in ``text`` with their spans: ``$1,234.50`` → 1234.50."""
    found = []
    for match in _NUMBER.finditer(text):
        token = match.group(0)
        cleaned = re.sub(r"[,\s$€£¥+(]", "", token)
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            continue
        found.append((value, match.start(), match.end()))
    return found


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if isinstance(value, str) and _NUMERIC_VALUE.match(value) and any(c.isdigit() for c in value):
        negative = value.strip().startswith(("-", "("))
        cleaned = re.sub(r"[^\d.]", "", value)
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            return None
        return -number if negative else number
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return datetime.strptime(value.strip(), "%Y-%m-%d").date()
        except ValueError:
            return None
    return None


def _date_renderings(day: date) -> set[str]:
    renderings = {fold(day.strftime(fmt)) for fmt in _DATE_FORMATS}
    # Days and months without leading zeros ("5/3/2024", "March 5, 2024").
    for fmt in (
        "%d/%m/%Y",
        "%m/%d/%Y",
        "%d %B %Y",
        "%B %d, %Y",
        "%d %b %Y",
        "%b %d, %Y",
        "%d.%m.%Y",
    ):
        text = day.strftime(fmt)
        text = re.sub(r"(?<!\d)0(\d)", r"\1", text)
        renderings.add(fold(text))
    return renderings


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def find_value(value: Any, text: str) -> tuple[int, int] | None:
    """Where ``value`` appears in ``text`` (numbers by value, dates in common formats, text
    ignoring case and whitespace), or ``None``. For a list/dict value: the span covering every
    leaf, only if every leaf appears."""
    leaves = _leaves(value)
    if len(leaves) != 1:
        spans = [find_value(leaf, text) for leaf in leaves if leaf not in (None, "")]
        if not spans or any(s is None for s in spans):
            return None
        return min(s[0] for s in spans if s), max(s[1] for s in spans if s)
    value = leaves[0]
    if value is None:
        return None
    number = _as_number(value)
    if number is not None:
        for found, start, end in _numbers(text):
            if found == number or (found == -number and text[start] in "-("):
                return start, end
    day = _as_date(value)
    folded, index = fold_with_index(text)
    if day is not None:
        for rendering in _date_renderings(day):
            at = folded.find(rendering)
            if at >= 0:
                return index[at], index[at + len(rendering) - 1] + 1
    needle = fold(str(value) if not isinstance(value, bool) else ("yes" if value else "no"))
    if not needle:
        return None
    at = _find_whole(folded, needle)
    if at < 0:
        return None
    return index[at], index[at + len(needle) - 1] + 1


def _find_whole(haystack: str, needle: str) -> int:
    """The first occurrence of ``needle`` not glued to letters or digits on either side (so
    "202" is not found inside "2024"), or -1."""
    at = haystack.find(needle)
    while at >= 0:
        before = haystack[at - 1] if at > 0 else " "
        after = haystack[at + len(needle)] if at + len(needle) < len(haystack) else " "
        glued_before = needle[0].isalnum() and before.isalnum()
        glued_after = needle[-1].isalnum() and after.isalnum()
        if not glued_before and not glued_after:
            return at
        at = haystack.find(needle, at + 1)
    return -1


def locate_quote(page_text: str, quote: str) -> tuple[int, int] | None:
    """The span of ``quote`` on the page: exact match first, then ignoring case/whitespace."""
    if not quote.strip():
        return None
    at = page_text.find(quote)
    if at >= 0:
        return at, at + len(quote)
    folded, index = fold_with_index(page_text)
    needle = fold(quote)
    at = folded.find(needle)
    if at < 0 or not needle:
        return None
    return index[at], index[at + len(needle) - 1] + 1


# ----------------------------------------------------------------------------- verdicts


def verify(
    value: Any,
    *,
    document_id: str,
    page: int | None,
    page_text: str | None,
    page_count: int,
    start: int | None = None,
    end: int | None = None,
    quote: str | None = None,
) -> Verdict:
    """Does the cited span of ``document_id``'s ``page`` contain ``value``?

    ``page_text`` is that page's OCR text (``None`` when the page does not exist). The citation
    is either ``start``/``end`` or a ``quote``; with both, the offsets win and the quote must
    match them.
    """
    if page is None:
        return Verdict(None, True, "no source cited (page and quote, or page and start/end)")
    if page_text is None:
        return Verdict(
            None, True, f"page {page} does not exist (the document has {page_count} pages)"
        )

    def suggestion() -> Span | None:
        found = find_value(value, page_text)
        if found is None:
            return None
        return Span(document_id, page, found[0], found[1], page_text[found[0] : found[1]])

    if start is not None or end is not None:
        if start is None or end is None:
            return Verdict(None, True, "a span needs both start and end", suggestion())
        if not 0 <= start < end <= len(page_text):
            return Verdict(
                None,
                True,
                f"span [{start}:{end}] is outside page {page} (0 to {len(page_text)} characters)",
                suggestion(),
            )
        span = Span(document_id, page, start, end, page_text[start:end])
        if quote and fold(quote) not in fold(span.text):
            return Verdict(
                span, True, f"the quote {quote[:80]!r} is not what the span reads", suggestion()
            )
    elif quote:
        located = locate_quote(page_text, quote)
        if located is None:
            return Verdict(
                None, True, f"the quote {quote[:80]!r} is not on page {page}", suggestion()
            )
        span = Span(document_id, page, located[0], located[1], page_text[located[0] : located[1]])
    else:
        return Verdict(None, True, "the source has a page but no quote or span", suggestion())

    if find_value(value, span.text) is None:
        shown = str(value)
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        return Verdict(
            span,
            True,
            f"the cited text {span.text[:120]!r} does not contain the value {shown!r}",
            suggestion(),
        )
    return Verdict(span, False)
