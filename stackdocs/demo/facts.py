"""The demo's business facts and the printed layout of its documents.

A consulting firm (:data:`CLIENT`) received six vendor invoices in Q1 2026, signed a services
agreement with one of the vendors and keeps a spend ledger — with one keying error in it, so the
summary has something real to point out. Everything is pure data: the document generator renders
it, the deterministic extractor (``sprite/demo_extractor.py``) reads the rendered documents back
through their OCR text using the labels below, and the tests compare the two.

Money is :class:`~decimal.Decimal`, rounded half-up to cents like an accounting system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
CURRENCY_SYMBOL = "$"

# The printed labels of an invoice: the "known layout" the deterministic extractor reads.
LABEL_NUMBER = "Invoice number:"
LABEL_ISSUED = "Invoice date:"
LABEL_DUE = "Due date:"
LABEL_SUBTOTAL = "Subtotal:"
LABEL_TAX = "Tax"  # "Tax (10.1%):" / "Tax (exempt):"
LABEL_TOTAL = "Total due:"
LABEL_BILL_TO = "Bill to:"

CLIENT = "Harbor & Finch Consulting LLC"
CLIENT_ADDRESS = ("410 Pine Street, Suite 900", "Seattle, WA 98101")
QUARTER = "Q1 2026"


def money(amount: Decimal) -> str:
    """How amounts are printed: ``$12,815.00``."""
    return f"{CURRENCY_SYMBOL}{amount:,.2f}"


def long_date(day: date) -> str:
    """How dates are printed: ``17 January 2026``."""
    return f"{day.day} {day:%B %Y}"


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Invoice:
    filename: str
    vendor: str
    vendor_address: tuple[str, ...]
    number: str
    issued: date
    due: date
    lines: tuple[LineItem, ...]
    tax_rate: Decimal  # 0 for tax-exempt services
    purchase_order: str | None = None
    scanned: bool = False  # rendered as a photographed page (image only, read by OCR)
    lines_on_first_page: int | None = None  # the rest continue on page 2

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def tax(self) -> Decimal:
        return cents(self.subtotal * self.tax_rate)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @property
    def tax_label(self) -> str:
        if not self.tax_rate:
            return f"{LABEL_TAX} (exempt):"
        return f"{LABEL_TAX} ({self.tax_rate * 100:.1f}%):"

    @property
    def page_count(self) -> int:
        return 2 if self.lines_on_first_page is not None else 1

    @property
    def mime_type(self) -> str:
        return "image/jpeg" if self.scanned else "application/pdf"


def _items(*rows: tuple[str, str, str]) -> tuple[LineItem, ...]:
    return tuple(LineItem(d, Decimal(q), Decimal(p)) for d, q, p in rows)


SALES_TAX = Decimal("0.101")  # Seattle's combined rate

NORTHWIND = "Northwind Cloud Services"
NORTHWIND_ADDRESS = ("1200 Westlake Ave N", "Seattle, WA 98109")
MERIDIAN = "Meridian Data Consulting"

INVOICES: tuple[Invoice, ...] = (
    Invoice(
        filename="northwind-0117.pdf",
        vendor=NORTHWIND,
        vendor_address=NORTHWIND_ADDRESS,
        number="NW-2026-0117",
        issued=date(2026, 1, 17),
        due=date(2026, 2, 16),
        purchase_order="PO-4471",
        tax_rate=SALES_TAX,
        lines=_items(
            ("Reserved compute, January (40 vCPU)", "1", "6480.00"),
            ("Object storage (TB-month)", "18", "23.50"),
            ("Managed database, January", "1", "2150.00"),
            ("Premium support plan", "1", "1200.00"),
        ),
    ),
    Invoice(
        filename="blue-harbor-3391.pdf",
        vendor="Blue Harbor Legal LLP",
        vendor_address=("77 Marion Street, Floor 12", "Seattle, WA 98104"),
        number="BHL-3391",
        issued=date(2026, 1, 31),
        due=date(2026, 3, 2),
        tax_rate=Decimal("0"),
        lines=_items(
            ("Contract review: Meridian services agreement (hours)", "6.5", "420.00"),
            ("Employment advice (hours)", "3", "420.00"),
            ("Filing fees (at cost)", "1", "185.00"),
        ),
    ),
    Invoice(
        filename="atlas-58812.pdf",
        vendor="Atlas Office Supply Co.",
        vendor_address=("5400 Airport Way S", "Seattle, WA 98108"),
        number="AOS-58812",
        issued=date(2026, 2, 9),
        due=date(2026, 3, 11),
        purchase_order="PO-4502",
        tax_rate=SALES_TAX,
        lines=_items(
            ("Copy paper, letter, box of 5 reams", "12", "38.90"),
            ("Toner cartridge, black", "6", "112.40"),
            ("Ergonomic task chair", "4", "289.00"),
        ),
    ),
    Invoice(
        filename="meridian-014.pdf",
        vendor=MERIDIAN,
        vendor_address=("1001 Fourth Avenue, Suite 3200", "Seattle, WA 98154"),
        number="MDC-2026-014",
        issued=date(2026, 2, 28),
        due=date(2026, 3, 30),
        purchase_order="PO-4460",
        tax_rate=SALES_TAX,
        lines_on_first_page=4,
        lines=_items(
            ("Data platform assessment, week of 2 Feb (hours)", "32", "185.00"),
            ("Data platform assessment, week of 9 Feb (hours)", "38", "185.00"),
            ("Data platform assessment, week of 16 Feb (hours)", "36", "185.00"),
            ("Data platform assessment, week of 23 Feb (hours)", "30", "185.00"),
            ("Workshop facilitation (days)", "2", "1400.00"),
            ("Travel expenses (at cost)", "1", "612.35"),
        ),
    ),
    Invoice(
        filename="cobalt-7730-scan.jpg",
        vendor="Cobalt Facilities Management",
        vendor_address=("2100 Elliott Avenue", "Seattle, WA 98121"),
        number="CFM-7730",
        issued=date(2026, 3, 15),
        due=date(2026, 4, 14),
        tax_rate=SALES_TAX,
        scanned=True,
        lines=_items(
            ("Office cleaning, March", "1", "3200.00"),
            ("HVAC maintenance visit", "2", "465.00"),
            ("Window cleaning, exterior", "1", "780.00"),
        ),
    ),
    Invoice(
        filename="northwind-0342.pdf",
        vendor=NORTHWIND,
        vendor_address=NORTHWIND_ADDRESS,
        number="NW-2026-0342",
        issued=date(2026, 3, 17),
        due=date(2026, 4, 16),
        purchase_order="PO-4471",
        tax_rate=SALES_TAX,
        lines=_items(
            ("Reserved compute, March (40 vCPU)", "1", "6480.00"),
            ("Object storage (TB-month)", "21", "23.50"),
            ("Managed database, March", "1", "2150.00"),
            ("Data egress (TB)", "4", "90.00"),
        ),
    ),
)


@dataclass(frozen=True)
class ContractTerm:
    """One key term of the contract: its value and the words that state it."""

    name: str
    value: object  # JSON-able: text, number, ISO date or a list of texts
    quote: str  # printed in the contract exactly like this


@dataclass(frozen=True)
class Contract:
    filename: str
    title: str
    vendor: str
    terms: tuple[ContractTerm, ...] = field(default_factory=tuple)


CONTRACT = Contract(
    filename="meridian-msa.docx",
    title="Master Services Agreement",
    vendor=MERIDIAN,
    terms=(
        ContractTerm(
            "Parties",
            [CLIENT, MERIDIAN],
            f'between {CLIENT} ("Client") and {MERIDIAN} ("Consultant")',
        ),
        ContractTerm("Effective date", "2026-01-01", "takes effect on 1 January 2026"),
        ContractTerm("Term", "twelve (12) months", "continues for twelve (12) months"),
        ContractTerm("Hourly rate", 185.00, "at the rate of $185.00 per hour"),
        ContractTerm("Monthly fee cap", 40000.00, "will not exceed $40,000.00"),
        ContractTerm("Payment terms", "Net 30", "of the invoice date (Net 30)"),
        ContractTerm("Termination notice", "30 days", "on 30 days' written notice"),
        ContractTerm("Governing law", "State of Washington", "the laws of the State of Washington"),
    ),
)


@dataclass(frozen=True)
class LedgerEntry:
    booked: date
    vendor: str
    reference: str
    category: str
    amount: Decimal


LEDGER_FILENAME = "q1-spend-ledger.xlsx"
LEDGER_SHEET = "Ledger"
LEDGER_COLUMNS = ("Booked", "Vendor", "Reference", "Category", "Amount")
_CATEGORIES = {
    NORTHWIND: "Cloud & software",
    "Blue Harbor Legal LLP": "Professional fees",
    "Atlas Office Supply Co.": "Office",
    MERIDIAN: "Professional fees",
    "Cobalt Facilities Management": "Facilities",
}
# The one keying error the ledger check finds: Atlas's invoice booked $100.00 short.
LEDGER_ERRORS = {"AOS-58812": Decimal("-100.00")}


def _ledger() -> tuple[LedgerEntry, ...]:
    entries = [
        LedgerEntry(
            invoice.issued,
            invoice.vendor,
            invoice.number,
            _CATEGORIES[invoice.vendor],
            invoice.total + LEDGER_ERRORS.get(invoice.number, Decimal("0")),
        )
        for invoice in INVOICES
    ]
    entries += [
        LedgerEntry(
            date(2026, 1, 22), "Alaska Airlines", "CARD-1187", "Travel", Decimal("1180.40")
        ),
        LedgerEntry(date(2026, 2, 3), "Pioneer Parking", "CARD-1204", "Travel", Decimal("240.00")),
        LedgerEntry(
            date(2026, 3, 6), "Cascade Coffee Co.", "CARD-1262", "Office", Decimal("318.75")
        ),
    ]
    return tuple(sorted(entries, key=lambda e: (e.booked, e.reference)))


LEDGER: tuple[LedgerEntry, ...] = _ledger()


def invoice_by_number(number: str) -> Invoice:
    for invoice in INVOICES:
        if invoice.number == number:
            return invoice
    raise KeyError(number)


def spend_by_vendor() -> dict[str, Decimal]:
    """Invoice totals per vendor, largest first (what the chart shows)."""
    totals: dict[str, Decimal] = {}
    for invoice in INVOICES:
        totals[invoice.vendor] = totals.get(invoice.vendor, Decimal("0")) + invoice.total
    return dict(sorted(totals.items(), key=lambda item: item[1], reverse=True))
