"""Documents that already hold text: DOCX, XLSX, CSV, TXT and Markdown → markdown pages.

Tables stay tables (markdown pipe tables). These are blocking functions, run in a thread; each
returns ``(pages, model)`` where ``model`` names the library that read the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sprite.ocr import UnreadableDocument, normalise_text

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ").removesuffix(" 00:00:00")
    elif isinstance(value, dt.date | dt.time):
        value = value.isoformat()
    text = str(value).replace("\r\n", "\n").strip()
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def markdown_table(rows: Sequence[Sequence[Any]]) -> str:
    """A pipe table; the first row is the header. Ragged rows are padded."""
    cells = [[_cell(v) for v in row] for row in rows]
    width = max((len(r) for r in cells), default=0)
    if width == 0:
        return ""
    cells = [r + [""] * (width - len(r)) for r in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    """Drop empty rows and the empty columns at the right edge."""
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    width = 0
    for r in rows:
        for i in range(len(r) - 1, -1, -1):
            if r[i] not in (None, ""):
                width = max(width, i + 1)
                break
    return [r[:width] for r in rows]


def _decode(data: bytes) -> str:
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument("the text file uses an unknown encoding")  # pragma: no cover


def text_pages(path: Path) -> tuple[list[str], str]:
    """Plain text and Markdown; a form feed starts a new page."""
    text = _decode(path.read_bytes())
    pages = [normalise_text(p) for p in text.split("\f")]
    return pages or [""], "text"


def csv_pages(path: Path) -> tuple[list[str], str]:
    text = _decode(path.read_bytes())
    sample = text[:65536]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else None
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=delimiter or ",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if delimiter == "\t" else csv.excel
    try:
        rows = _trim(list(csv.reader(text.splitlines(), dialect)))
    except csv.Error as exc:
        raise UnreadableDocument(f"not a readable CSV file ({exc})") from None
    return [markdown_table(rows)], "csv"


def xlsx_pages(path: Path) -> tuple[list[str], str]:
    """One page per worksheet: a heading with the sheet name, then its cells as a table."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise UnreadableDocument(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        pages = []
        for sheet in workbook.worksheets:
            rows = _trim([list(r) for r in sheet.iter_rows(values_only=True)])
            table = markdown_table(rows)
            pages.append(f"## {sheet.title}\n\n{table}".rstrip())
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableDocument(f"the XLSX workbook is damaged ({type(exc).__name__})") from None
    finally:
        workbook.close()
    return pages or [""], f"openpyxl {openpyxl.__version__}"


def _docx_blocks(document: Any) -> Iterable[tuple[str, bool]]:
    """(markdown block, page break after it) in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            yield markdown_table(_trim(rows)), False
        elif isinstance(block, Paragraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if text and style.startswith("Heading"):
                level = style.removeprefix("Heading").strip()
                text = "#" * (int(level) if level.isdigit() else 1) + " " + text
            elif text and style == "Title":
                text = "# " + text
            elif text and style.startswith("List"):
                text = "- " + text
            page_break = bool(block._p.xpath('.//w:br[@w:type="page"]'))
            yield text, page_break


def docx_pages(path: Path) -> tuple[list[str], str]:
    """Paragraphs and tables in order; explicit page breaks start new pages."""
    import docx

    try:
        document = docx.Document(str(path))
        pages: list[list[str]] = [[]]
        for block, page_break in _docx_blocks(document):
            if block:
                pages[-1].append(block)
            if page_break:
                pages.append([])
    except UnreadableDocument:
        raise
    except Exception as exc:
        raise UnreadableDocument(f"not a readable DOCX document ({type(exc).__name__})") from None
    if len(pages) > 1 and not pages[-1]:
        pages.pop()
    return [normalise_text("\n\n".join(blocks)) for blocks in pages], "python-docx"
