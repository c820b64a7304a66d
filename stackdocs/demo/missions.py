"""The seed missions: what the demo workspace is asked to do once its documents are read.

The same texts go to the agents (``stackdocs demo --live``) and, without a model, to the
deterministic demo extractor (``sprite/demo_extractor.py``), which recognises them by their
:attr:`SeedMission.key`-tagged text. They are sent in order; the last artifact published is the one
the canvas opens first.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackdocs.demo.facts import CONTRACT, LEDGER_FILENAME, QUARTER

STACK_NAME = "Q1 vendor invoices"
STACK_TABLE_NAME = "Invoices"
# The total comes early: on a laptop screen the canvas shows the first few columns.
STACK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Vendor", "text"),
    ("Invoice number", "text"),
    ("Total", "currency"),
    ("Invoice date", "date"),
    ("Due date", "date"),
    ("Subtotal", "currency"),
    ("Tax", "currency"),
)
CHART_TITLE = f"{QUARTER} spend by vendor"
SUMMARY_TITLE = f"{QUARTER} vendor spend: summary"
CONTRACT_TITLE = "Meridian agreement: key terms"
SHELL_TITLE_HINT = "invoice totals found by grep"


@dataclass(frozen=True)
class SeedMission:
    key: str  # stable name (progress lines, tests)
    text: str  # exactly what is sent as the mission
    produces: str  # the artifact type it leaves on the canvas

    @property
    def is_shell(self) -> bool:
        return self.text.startswith("!")


_COLUMN_LIST = ", ".join(name for name, _ in STACK_COLUMNS)

SEED_MISSIONS: tuple[SeedMission, ...] = (
    SeedMission(
        "grep-totals",
        # A real shell command in the workspace: the OCR text is plain files anyone can grep.
        '!grep -h -E "^(Invoice number|Total due):" ocr/*.md | paste - - | sort',
        "terminal",
    ),
    SeedMission(
        "invoice-stack",
        f'Create a stack named "{STACK_NAME}" with the six vendor invoices (the five PDF '
        f'invoices and the scanned one). Define its table "{STACK_TABLE_NAME}" with the columns '
        f"{_COLUMN_LIST}; fill one row per invoice, citing every value in the invoice's OCR "
        "text; save the rows and show the table on the canvas.",
        "table",
    ),
    SeedMission(
        "contract-terms",
        f"Extract the key terms of the {CONTRACT.title} ({CONTRACT.filename}): the parties, "
        "effective date, term, hourly rate, monthly fee cap, payment terms, termination notice "
        "and governing law, each with its citation. Save them and show them on the canvas as "
        f'JSON titled "{CONTRACT_TITLE}".',
        "json",
    ),
    SeedMission(
        "spend-chart",
        f'Chart the total spend per vendor from the "{STACK_NAME}" table as a Plotly bar '
        f'chart titled "{CHART_TITLE}".',
        "chart",
    ),
    SeedMission(
        "spend-summary",
        f"Write a short markdown summary of {QUARTER} vendor spend for the partners: the "
        "total, the total per vendor, the largest invoice, what is due next, and any "
        f"difference between the invoices and the spend ledger ({LEDGER_FILENAME}). "
        f'Title it "{SUMMARY_TITLE}".',
        "markdown",
    ),
)


def mission_by_text(text: str) -> SeedMission | None:
    """The seed mission whose text this is (whitespace-insensitive), if any."""
    wanted = " ".join(text.split())
    for mission in SEED_MISSIONS:
        if " ".join(mission.text.split()) == wanted:
            return mission
    return None
