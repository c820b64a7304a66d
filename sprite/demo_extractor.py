"""The deterministic demo extractor: the demo's seed missions, run without a model.

``stackdocs demo`` seeds its workspace on a laptop with no network and no API key. There, this
runner takes the agents' seat for the seed missions of :mod:`stackdocs.demo.missions` only: it
reads the generated documents' known layout (``Invoice number:``, ``Total due:`` …, see
:mod:`stackdocs.demo.facts`) from their OCR text with plain regular expressions, and hands every
value to **the agents' own tools** (``fill_stack_rows``, ``save_extraction``, ``show_chart`` …)
with the exact character span it was read from. So each citation is checked by the same code
as a model's (``sprite.agents.citations.verify``): a wrong span would be saved FLAGGED, never
silently trusted. Its work is committed like a mission's draft, and everything it emits says
who did it (``meta.agent = "demo-extractor"``).

Any other mission gets one clear error: this is not a model.

Selected by ``sprite.agents.create_runner`` when the Sprite has no model and
``STACKDOCS_DEMO_EXTRACTOR=1`` (set only while ``stackdocs demo`` seeds the workspace).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sprite.agents import store
from sprite.agents.commit import commit_mission_work
from sprite.agents.labels import brief_input, tool_label
from sprite.agents.runner import ExtractionReads
from sprite.agents.scope import MissionScope
from sprite.missions import MissionContext
from stackdocs.config import SpriteSettings
from stackdocs.demo import facts
from stackdocs.demo.missions import (
    CHART_TITLE,
    CONTRACT_TITLE,
    STACK_COLUMNS,
    STACK_NAME,
    STACK_TABLE_NAME,
    SUMMARY_TITLE,
    SeedMission,
    mission_by_text,
)

AGENT = "demo-extractor"
LABEL = "Deterministic demo extractor"
MODEL_NAME = "demo-extractor (deterministic, no model)"
RESULT_EXCERPT_CHARS = 300
# What the extractor trusts a value read from each kind of page to be.
CONFIDENCE = {"text_layer": 0.99, "converted": 0.99, "tesseract": 0.9, "mistral": 0.95}
NOT_A_MODEL = (
    "This workspace has no model: missions are answered by the deterministic demo extractor, "
    "which only runs the demo's seed missions. To give the agents any mission, set "
    "ANTHROPIC_API_KEY on the bridge and start `stackdocs demo --live`. Shell missions "
    "starting with '!' work without a model."
)

# Stable ids: running a seed mission again replaces its artifact instead of adding one.
CHART_ARTIFACT = "demo-spend-chart"
SUMMARY_ARTIFACT = "demo-spend-summary"
CONTRACT_ARTIFACT = "demo-contract-terms"

_MONEY = r"\$\s?[\d,]+\.\d{2}"
_DATE = r"\d{1,2} [A-Z][a-z]+ \d{4}"


class DemoExtractionError(Exception):
    """The documents do not have the layout the demo extractor knows (message for the user)."""


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Reading:
    """A value read from the OCR text, and exactly where: page and [start, end) of its text."""

    value: Any
    page: int
    start: int
    end: int
    method: str  # how the page's text was obtained (text_layer, tesseract, ...)

    def cited(self) -> dict[str, Any]:
        """The cell/field shape the agents' tools take: value, confidence, source span."""
        return {
            "value": self.value,
            "confidence": CONFIDENCE.get(self.method, 0.8),
            "source": {"page": self.page, "start": self.start, "end": self.end},
        }


Page = dict[str, Any]  # {page, text, method} as storage returns it


def parse_money(text: str) -> Decimal:
    try:
        return Decimal(re.sub(r"[^\d.]", "", text))
    except InvalidOperation:
        raise DemoExtractionError(f"not an amount: {text!r}") from None


def parse_long_date(text: str) -> date:
    try:
        return datetime.strptime(" ".join(text.split()), "%d %B %Y").date()
    except ValueError:
        raise DemoExtractionError(f"not a date: {text!r}") from None


def _find(pages: list[Page], pattern: str, *, last: bool = False) -> tuple[Page, re.Match[str]]:
    """The first (or last) match of ``pattern`` over the pages; group 1 is the value."""
    found = [
        (page, match)
        for page in pages
        for match in re.finditer(pattern, page["text"], flags=re.MULTILINE)
    ]
    if not found:
        raise DemoExtractionError(f"no text matching {pattern!r}")
    return found[-1] if last else found[0]


def read_field(
    pages: list[Page],
    pattern: str,
    convert: Callable[[str], Any] = str,
    *,
    last: bool = False,
    group: int = 1,
) -> Reading:
    page, match = _find(pages, pattern, last=last)
    return Reading(
        convert(match.group(group)),
        int(page["page"]),
        match.start(group),
        match.end(group),
        str(page.get("method") or ""),
    )


def is_invoice(pages: list[Page]) -> bool:
    return bool(pages) and facts.LABEL_NUMBER in pages[0]["text"]


def read_vendor(pages: list[Page]) -> Reading:
    """The letterhead: the first line of page 1 (a scan may read "INVOICE" on the same line)."""
    text = pages[0]["text"]
    match = re.search(r"\S[^\n]*", text)
    if match is None:
        raise DemoExtractionError("page 1 is empty")
    line = match.group(0)
    name = re.sub(r"\s+INVOICE\s*$", "", line).strip()
    start = match.start() + line.index(name)
    return Reading(name, int(pages[0]["page"]), start, start + len(name), pages[0]["method"])


def read_invoice(pages: list[Page]) -> dict[str, Reading]:
    """Every stack column of one invoice, read from its known layout."""

    def iso(text: str) -> str:
        return parse_long_date(text).isoformat()

    def amount(text: str) -> str:
        return facts.money(parse_money(text))

    readings = {
        "Vendor": read_vendor(pages),
        "Invoice number": read_field(pages, rf"{re.escape(facts.LABEL_NUMBER)}\s*(\S+)"),
        "Total": read_field(
            pages, rf"{re.escape(facts.LABEL_TOTAL)}\s*({_MONEY})", amount, last=True
        ),
        "Invoice date": read_field(pages, rf"{re.escape(facts.LABEL_ISSUED)}\s*({_DATE})", iso),
        "Due date": read_field(pages, rf"{re.escape(facts.LABEL_DUE)}\s*({_DATE})", iso),
        "Subtotal": read_field(
            pages, rf"{re.escape(facts.LABEL_SUBTOTAL)}\s*({_MONEY})", amount, last=True
        ),
        "Tax": read_field(pages, rf"^{facts.LABEL_TAX} \([^)]*\):\s*({_MONEY})", amount, last=True),
    }
    return {name: readings[name] for name, _type in STACK_COLUMNS}


CONTRACT_PATTERNS: dict[str, tuple[str, Callable[[re.Match[str]], Any]]] = {
    "Parties": (
        r'between (.+?) \("Client"\) and (.+?) \("Consultant"\)',
        lambda m: [m.group(1), m.group(2)],
    ),
    "Effective date": (
        rf"takes effect on ({_DATE})",
        lambda m: parse_long_date(m.group(1)).isoformat(),
    ),
    "Term": (r"continues for ([^.]*?months)", lambda m: m.group(1)),
    "Hourly rate": (rf"at the rate of ({_MONEY}) per hour", lambda m: float(parse_money(m[1]))),
    "Monthly fee cap": (rf"will not exceed ({_MONEY})", lambda m: float(parse_money(m[1]))),
    "Payment terms": (r"\((Net \d+)\)", lambda m: m.group(1)),
    "Termination notice": (r"on (\d+ days)' written notice", lambda m: m.group(1)),
    "Governing law": (r"laws of the (State of [A-Z][a-z]+)", lambda m: m.group(1)),
}


def is_contract(pages: list[Page]) -> bool:
    return bool(pages) and pages[0]["text"].lstrip().startswith("# Master Services Agreement")


def read_contract(pages: list[Page]) -> dict[str, Reading]:
    readings = {}
    for name, (pattern, convert) in CONTRACT_PATTERNS.items():
        page, match = _find(pages, pattern)
        # The whole phrase is the citation: it reads as the term, in context.
        start, end = match.span(0) if name == "Parties" else match.span(1)
        readings[name] = Reading(convert(match), int(page["page"]), start, end, page["method"])
    return readings


@dataclass(frozen=True)
class LedgerRow:
    vendor: str
    reference: str
    amount: Decimal


def is_ledger(pages: list[Page]) -> bool:
    header = "| " + " | ".join(facts.LEDGER_COLUMNS) + " |"
    return any(header in page["text"] for page in pages)


def read_ledger(pages: list[Page]) -> list[LedgerRow]:
    """The ledger's rows from its markdown table (how spreadsheets read as text)."""
    rows = []
    columns = list(facts.LEDGER_COLUMNS)
    for page in pages:
        for line in page["text"].splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != len(columns) or cells == columns or set(cells[0]) <= {"-", " "}:
                continue
            row = dict(zip(columns, cells, strict=True))
            rows.append(LedgerRow(row["Vendor"], row["Reference"], parse_money(row["Amount"])))
    if not rows:
        raise DemoExtractionError("the ledger has no rows")
    return rows


# ----------------------------------------------------------------------------- the runner


class Toolbox:
    """The agents' tools, called by the extractor as a model would call them, each call
    reported in the chat exactly like an agent's tool call (with ``agent: demo-extractor``)."""

    def __init__(self, scope: MissionScope, ctx: MissionContext) -> None:
        from sprite.agents.tools.canvas import canvas_tools
        from sprite.agents.tools.extraction import extraction_tools
        from sprite.agents.tools.stacks import stack_tools

        self.scope = scope
        self.ctx = ctx
        self.calls = 0
        self._tools = {
            t.name: t.handler
            for t in (*extraction_tools(scope), *canvas_tools(scope), *stack_tools(scope))
        }

    async def call(self, name: str, args: dict[str, Any]) -> str:
        self.calls += 1
        tool_use_id = f"{AGENT}-{self.ctx.mission_id[:8]}-{self.calls}"
        label = tool_label(name, args, self.scope.filenames)
        started = time.monotonic()
        await self.ctx.emit(
            "agent_event",
            {
                "event_type": "tool",
                "content": label,
                "meta": {
                    "phase": "start",
                    "tool": name,
                    "tool_use_id": tool_use_id,
                    "agent": AGENT,
                    "summary": label,
                    "input": brief_input(args),
                },
            },
        )
        result = await self._tools[name](args)
        text = "\n".join(b.get("text", "") for b in result.get("content", []))
        failed = bool(result.get("is_error"))
        excerpt = " ".join(text.split())
        if len(excerpt) > RESULT_EXCERPT_CHARS:
            excerpt = excerpt[: RESULT_EXCERPT_CHARS - 1] + "…"
        ending = "failed" if failed else "done"
        await self.ctx.emit(
            "agent_event",
            {
                "event_type": "tool",
                "content": f"{label} — {ending}",
                "meta": {
                    "phase": "end",
                    "tool": name,
                    "tool_use_id": tool_use_id,
                    "agent": AGENT,
                    "ok": not failed,
                    "summary": f"{label} — {ending}",
                    "result": excerpt,
                    "duration_ms": int((time.monotonic() - started) * 1000),
                },
            },
        )
        if failed:
            raise DemoExtractionError(f"{name} refused the extractor's input: {text}")
        return text


def _id_from(result: str, key: str) -> str:
    match = re.search(rf"{key}=([\w-]+)", result)
    if match is None:
        raise DemoExtractionError(f"the tool did not report a {key}: {result}")
    return match.group(1)


@dataclass
class Documents:
    """The workspace's readable documents, sorted by kind (by their layout, not their names)."""

    invoices: list[tuple[dict[str, Any], list[Page]]]
    contract: tuple[dict[str, Any], list[Page]] | None
    ledger: tuple[dict[str, Any], list[Page]] | None


class DemoExtractorRunner(ExtractionReads):
    def __init__(self, settings: SpriteSettings) -> None:
        self.settings = settings

    async def close(self) -> None:
        return None

    async def run(self, ctx: MissionContext) -> None:
        mission = mission_by_text(ctx.text)
        if mission is None or mission.is_shell:
            await ctx.emit(
                "agent_event",
                {"event_type": "error", "content": NOT_A_MODEL, "meta": {"kind": "no_model"}},
            )
            return
        scope = MissionScope(storage=ctx.storage, workspace=ctx.workspace, model=MODEL_NAME)
        scope.bind(ctx.mission_id, ctx.emit)
        await scope.refresh_filenames()
        tools = Toolbox(scope, ctx)
        started = time.monotonic()
        steps: dict[str, Callable[[MissionScope, Toolbox, MissionContext], Awaitable[str]]] = {
            "invoice-stack": self._invoice_stack,
            "contract-terms": self._contract_terms,
            "spend-chart": self._spend_chart,
            "spend-summary": self._spend_summary,
        }
        try:
            await self._say(ctx, f"{LABEL} (no model configured): running “{mission.key}”.\n")
            answer = await steps[mission.key](scope, tools, ctx)
            saved = None
            if not scope.draft.is_empty():
                saved = (await commit_mission_work(scope)).describe()
        except DemoExtractionError as exc:
            scope.draft.clear()
            await ctx.emit(
                "agent_event",
                {
                    "event_type": "error",
                    "content": f"{LABEL}: {exc}",
                    "meta": {"kind": "demo_extractor", "agent": AGENT},
                },
            )
            return
        finally:
            scope.unbind()
        await self._say(ctx, answer)
        meta: dict[str, Any] = {
            "status": "completed",
            "agent": AGENT,
            "model": MODEL_NAME,
            "duration_ms": int((time.monotonic() - started) * 1000),
            "tools": tools.calls,
        }
        if saved:
            meta["saved"] = saved
        await ctx.emit(
            "agent_event",
            {"event_type": "complete", "content": f"{saved}." if saved else "", "meta": meta},
        )

    @staticmethod
    async def _say(ctx: MissionContext, text: str) -> None:
        await ctx.emit(
            "agent_event", {"event_type": "text", "content": text, "meta": {"agent": AGENT}}
        )

    # -- reading the workspace ---------------------------------------------------------------

    @staticmethod
    async def _documents(scope: MissionScope) -> Documents:
        invoices, contract, ledger = [], None, None
        for doc in await store.list_documents(scope.storage):
            if doc["status"] not in ("ocr_complete", "completed"):
                continue
            pages = await scope.pages(doc["id"])
            if is_invoice(pages):
                invoices.append((doc, pages))
            elif is_contract(pages):
                contract = (doc, pages)
            elif is_ledger(pages):
                ledger = (doc, pages)
        return Documents(invoices, contract, ledger)

    @staticmethod
    async def _stack_table(scope: MissionScope) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for stack in await scope.storage.list_stacks():
            if stack["name"] != STACK_NAME:
                continue
            for table in stack["tables"]:
                if table["name"] == STACK_TABLE_NAME:
                    return stack, table
        return None

    async def _invoice_rows(self, scope: MissionScope) -> list[dict[str, Any]]:
        """The saved rows of the invoice stack: {column: value} plus the document id."""
        found = await self._stack_table(scope)
        if found is None:
            raise DemoExtractionError(f"there is no stack “{STACK_NAME}” yet: build it first")
        _stack, table = found
        cells = await store.committed_cells(scope.storage, table["id"])
        rows: dict[str, dict[str, Any]] = {}
        for (document_id, column), cited in cells.items():
            rows.setdefault(document_id, {"document_id": document_id})[column] = cited.value
        return list(rows.values())

    # -- the missions ------------------------------------------------------------------------

    async def _invoice_stack(self, scope: MissionScope, tools: Toolbox, ctx: MissionContext) -> str:
        documents = await self._documents(scope)
        if not documents.invoices:
            raise DemoExtractionError("no document has the demo invoices' layout")
        await self._say(
            ctx,
            f"Reading the OCR text of {len(documents.invoices)} invoices "
            f"({', '.join(doc['filename'] for doc, _ in documents.invoices)}).\n",
        )
        readings = [(doc, read_invoice(pages)) for doc, pages in documents.invoices]
        document_ids = [doc["id"] for doc, _ in readings]
        found = await self._stack_table(scope)
        if found is None:
            created = await tools.call(
                "create_stack",
                {
                    "name": STACK_NAME,
                    "description": f"Vendor invoices received in {facts.QUARTER}.",
                    "document_ids": document_ids,
                },
            )
            stack_id = _id_from(created, "stack_id")
            defined = await tools.call(
                "define_stack_table",
                {
                    "stack_id": stack_id,
                    "name": STACK_TABLE_NAME,
                    "columns": [{"name": n, "type": t} for n, t in STACK_COLUMNS],
                },
            )
            table_id = _id_from(defined, "table_id")
        else:  # the mission runs again: refill the same table
            stack, table = found
            table_id = table["id"]
            missing = [d for d in document_ids if d not in stack["document_ids"]]
            if missing:
                await tools.call(
                    "add_stack_documents", {"stack_id": stack["id"], "document_ids": missing}
                )
        rows = [
            {
                "document_id": doc["id"],
                "cells": {column: reading.cited() for column, reading in row.items()},
            }
            for doc, row in readings
        ]
        await tools.call("fill_stack_rows", {"table_id": table_id, "rows": rows})
        await tools.call("show_stack_table", {"table_id": table_id, "title": STACK_NAME})
        flagged = sum(1 for change in scope.draft.cell_changes if change.after.flagged)
        cells = len(scope.draft.cell_changes)
        verdict = (
            f"all {cells} values verified against their cited text"
            if flagged == 0
            else f"{flagged} of {cells} values FLAGGED for review"
        )
        return (
            f"Built the stack “{STACK_NAME}”: {len(rows)} invoices by {len(STACK_COLUMNS)} "
            f"columns, {verdict}. Click any value in the table to see where it was read."
        )

    async def _contract_terms(
        self, scope: MissionScope, tools: Toolbox, ctx: MissionContext
    ) -> str:
        documents = await self._documents(scope)
        if documents.contract is None:
            raise DemoExtractionError("no document has the services agreement's layout")
        doc, pages = documents.contract
        await self._say(ctx, f"Reading the clauses of {doc['filename']}.\n")
        readings = read_contract(pages)
        await tools.call(
            "save_extraction",
            {
                "document_id": doc["id"],
                "fields": [{"name": name, **r.cited()} for name, r in readings.items()],
            },
        )
        page_texts = {int(p["page"]): p["text"] for p in pages}
        flagged = sum(1 for c in scope.draft.field_changes if c.after and c.after.flagged)
        await tools.call(
            "show_json",
            {
                "title": CONTRACT_TITLE,
                "artifact_id": CONTRACT_ARTIFACT,
                "data": {
                    "agreement": facts.CONTRACT.title,
                    "document": doc["filename"],
                    # Plain values first (the tree opens on them), their sources below.
                    "terms": {name: _shown(r.value) for name, r in readings.items()},
                    "sources": {
                        name: {"page": r.page, "quote": page_texts[r.page][r.start : r.end]}
                        for name, r in readings.items()
                    },
                    "citations": f"{len(readings) - flagged} of {len(readings)} verified",
                    "extracted_by": f"{LABEL} (no model)",
                },
            },
        )
        return (
            f"Saved {len(readings)} key terms of the agreement with their citations "
            f"({'all verified' if not flagged else f'{flagged} flagged'}) and showed them as JSON."
        )

    async def _spend_chart(self, scope: MissionScope, tools: Toolbox, ctx: MissionContext) -> str:
        rows = await self._invoice_rows(scope)
        totals: dict[str, Decimal] = {}
        for row in rows:
            vendor = str(row.get("Vendor") or "?")
            totals[vendor] = totals.get(vendor, Decimal("0")) + parse_money(str(row["Total"]))
        ranked = sorted(totals.items(), key=lambda item: item[1])  # largest at the top
        figure = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "x": [float(amount) for _, amount in ranked],
                    "y": [vendor for vendor, _ in ranked],
                    "text": [facts.money(amount) for _, amount in ranked],
                    "textposition": "outside",
                    "textangle": 0,
                    "cliponaxis": False,
                    "hovertemplate": "%{y}: %{text}<extra></extra>",
                    "marker": {"color": "#3e63dd"},
                }
            ],
            "layout": {
                "title": {"text": CHART_TITLE},
                "xaxis": {
                    "title": {"text": "Invoiced, tax included (USD)"},
                    "tickprefix": "$",
                    # Room for the amount printed after the longest bar.
                    "range": [0, float(ranked[-1][1]) * 1.22],
                },
                "yaxis": {"automargin": True},
                "bargap": 0.35,
            },
        }
        await tools.call(
            "show_chart", {"title": CHART_TITLE, "figure": figure, "artifact_id": CHART_ARTIFACT}
        )
        top_vendor, top_amount = ranked[-1]
        return (
            f"Charted {len(totals)} vendors from the “{STACK_NAME}” table; the largest is "
            f"{top_vendor} with {facts.money(top_amount)}."
        )

    async def _spend_summary(self, scope: MissionScope, tools: Toolbox, ctx: MissionContext) -> str:
        rows = await self._invoice_rows(scope)
        documents = await self._documents(scope)
        ledger = read_ledger(documents.ledger[1]) if documents.ledger else []
        cap = None
        if documents.contract is not None:
            terms = await store.committed_fields(scope.storage, documents.contract[0]["id"])
            if "Monthly fee cap" in terms and not terms["Monthly fee cap"].flagged:
                cap = Decimal(str(terms["Monthly fee cap"].value))
        text, differences = spend_summary(rows, ledger, cap)
        await tools.call(
            "show_markdown",
            {"title": SUMMARY_TITLE, "text": text, "artifact_id": SUMMARY_ARTIFACT},
        )
        ledger_note = (
            f"{_count(differences, 'ledger difference')} to review"
            if differences
            else "the ledger matches the invoices"
        )
        return f"Wrote the {facts.QUARTER} spend summary ({ledger_note})."


def spend_summary(
    rows: list[dict[str, Any]], ledger: list[LedgerRow], cap: Decimal | None
) -> tuple[str, int]:
    """The summary's markdown, from the stack's rows and the ledger; and how many invoices
    differ from the ledger."""
    invoices = sorted(rows, key=lambda r: str(r.get("Invoice date") or ""))
    amount = {r["Invoice number"]: parse_money(str(r["Total"])) for r in invoices}
    grand = sum(amount.values(), Decimal("0"))
    vendors: dict[str, list[dict[str, Any]]] = {}
    for row in invoices:
        vendors.setdefault(str(row["Vendor"]), []).append(row)
    ranked = sorted(
        vendors.items(), key=lambda item: -sum(amount[r["Invoice number"]] for r in item[1])
    )
    lines = [
        f"**{len(invoices)} invoices from {len(vendors)} vendors, {facts.money(grand)} in "
        f"total** (tax included), issued {_nice(invoices[0]['Invoice date'])} to "
        f"{_nice(invoices[-1]['Invoice date'])}.",
        "",
        "| Vendor | Invoices | Total |",
        "| --- | ---: | ---: |",
    ]
    for vendor, items in ranked:
        total = sum((amount[r["Invoice number"]] for r in items), Decimal("0"))
        lines.append(f"| {vendor} | {len(items)} | {facts.money(total)} |")
    largest = max(invoices, key=lambda r: amount[r["Invoice number"]])
    largest_line = (
        f"- **Largest invoice:** {largest['Vendor']} {largest['Invoice number']}, "
        f"{facts.money(amount[largest['Invoice number']])} ({_nice(largest['Invoice date'])})"
    )
    if cap is not None:
        within = "within" if amount[largest["Invoice number"]] <= cap else "**over**"
        largest_line += f", {within} the agreement's {facts.money(cap)} monthly cap"
    lines += ["", largest_line + "."]
    as_of = str(invoices[-1]["Invoice date"])
    upcoming = sorted(
        (r for r in invoices if str(r["Due date"]) >= as_of), key=lambda r: str(r["Due date"])
    )
    if upcoming:
        due = upcoming[0]
        lines.append(
            f"- **Due next:** {due['Invoice number']} ({due['Vendor']}), "
            f"{facts.money(amount[due['Invoice number']])} on {_nice(due['Due date'])}; "
            f"{_count(len(upcoming), 'invoice')} worth "
            f"{facts.money(sum((amount[r['Invoice number']] for r in upcoming), Decimal('0')))}"
            f" {'is' if len(upcoming) == 1 else 'are'} due after {_nice(as_of)}."
        )
    differences = 0
    if ledger:
        booked = {row.reference: row for row in ledger}
        problems = []
        for row in invoices:
            number = row["Invoice number"]
            entry = booked.get(number)
            if entry is None:
                problems.append(f"**{number}** ({row['Vendor']}) is not in the ledger")
            elif entry.amount != amount[number]:
                gap = amount[number] - entry.amount
                problems.append(
                    f"**{number}** ({row['Vendor']}) is booked at {facts.money(entry.amount)} but "
                    f"invoiced at {facts.money(amount[number])}: "
                    f"{facts.money(abs(gap))} {'short' if gap > 0 else 'over'}"
                )
        differences = len(problems)
        matched = len(invoices) - differences
        check = f"- **Ledger check:** {matched} of {len(invoices)} invoices match the spend ledger"
        lines.append(check + (". " + "; ".join(problems) + "." if problems else "."))
        others = [row for row in ledger if row.reference not in amount]
        if others:
            lines.append(
                f"- The ledger also holds {_count(len(others), 'payment')} without an invoice here "
                f"({facts.money(sum((r.amount for r in others), Decimal('0')))}: "
                f"{', '.join(r.vendor for r in others)})."
            )
    lines += [
        "",
        f"_Prepared by the {LABEL.lower()} from the documents' OCR text; no model was used. "
        "Every figure comes from the cited table._",
    ]
    return "\n".join(lines), differences


def _shown(value: Any) -> Any:
    """A term as a person reads it: parties joined, amounts as money."""
    if isinstance(value, list):
        return " and ".join(map(str, value))
    if isinstance(value, float):
        return facts.money(Decimal(str(value)))
    return value


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _nice(iso: Any) -> str:
    try:
        return facts.long_date(date.fromisoformat(str(iso)))
    except ValueError:
        return str(iso)


__all__ = ["DemoExtractorRunner", "SeedMission"]
