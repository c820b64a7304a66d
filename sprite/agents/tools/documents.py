"""Reading the workspace's documents: list them, read a page's OCR text, search the text.

Offsets reported here are character offsets into one page's text — the same coordinates a
citation uses — so a span found by ``search_documents`` can be cited as is.
"""

from __future__ import annotations

from typing import Any

from claude_agent_sdk import SdkMcpTool, tool

from sprite.agents.citations import fold_with_index
from sprite.agents.scope import MissionScope
from sprite.agents.tools import STRING_OR_ARRAY, ToolInputError, guarded, int_arg, json_arg, ok
from sprite.agents.tools import text_arg as _text

READ_BUDGET_CHARS = 12_000
MAX_SEARCH_RESULTS = 50
CONTEXT_CHARS = 60


def document_tools(scope: MissionScope) -> list[SdkMcpTool[Any]]:
    @tool(
        "list_documents",
        "List the documents in the workspace: id, file name, status and page count. Call this"
        " first to learn the document ids the other tools take.",
        {"type": "object", "properties": {}},
    )
    @guarded
    async def list_documents(_args: dict[str, Any]) -> dict[str, Any]:
        documents = [
            doc for doc in await scope.storage.list_documents() if doc["status"] != "failed"
        ]
        scope.filenames.update({doc["id"]: doc["filename"] for doc in documents})
        if not documents:
            return ok("The workspace has no documents yet. Ask the user to upload one.")
        lines = [f"{len(documents)} document(s):"]
        for doc in documents:
            pages = doc.get("page_count")
            ready = doc["status"] in ("ocr_complete", "completed")
            lines.append(
                f"- id={doc['id']} | {doc['filename']} | {doc.get('mime_type', '')}"
                f" | {pages if pages is not None else '?'} page(s)"
                f" | {'text ready' if ready else doc['status']}"
            )
        return ok("\n".join(lines))

    @tool(
        "read_ocr",
        "Read a document's OCR text, page by page. Each page is headed with its number and the"
        " character range shown; offsets are positions in that page's text (use them, or a"
        " short exact quote, to cite a value). Long documents come in parts: the result says"
        " how to continue.",
        {
            "type": "object",
            "properties": {
                "document_id": {"type": "string"},
                "page": {"type": "integer", "minimum": 1, "description": "first page to read"},
                "offset": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "character offset in the first page to start from",
                },
                "max_chars": {"type": "integer", "minimum": 200, "maximum": 40000},
            },
            "required": ["document_id"],
        },
    )
    @guarded
    async def read_ocr(args: dict[str, Any]) -> dict[str, Any]:
        doc = await scope.document(args.get("document_id"))
        pages = await scope.pages(doc["id"])
        if not pages:
            return ok(
                f"{doc['filename']} has no OCR text yet (status: {doc['status']}"
                f"{', ' + doc['error'] if doc.get('error') else ''})."
            )
        first = int_arg(args, "page", 1, minimum=1) or 1
        offset = int_arg(args, "offset", 0) or 0
        budget = int_arg(args, "max_chars", READ_BUDGET_CHARS, minimum=200) or READ_BUDGET_CHARS
        if first > len(pages):
            raise ToolInputError(f"page {first} does not exist: {doc['filename']} has "
                                 f"{len(pages)} page(s)")
        parts = [f"{doc['filename']} (id={doc['id']}), {len(pages)} page(s)."]
        next_at: tuple[int, int] | None = None
        for page in pages[first - 1 :]:
            text = page["text"]
            start = offset if page["page"] == first else 0
            if start > len(text):
                raise ToolInputError(f"offset {start} is past the end of page {page['page']} "
                                     f"({len(text)} characters)")
            end = min(len(text), start + budget)
            parts.append(
                f"--- page {page['page']} of {len(pages)} · characters {start}-{end}"
                f" of {len(text)} ---\n{text[start:end]}"
            )
            budget -= end - start
            if end < len(text):
                next_at = (page["page"], end)
                break
            if budget <= 0:
                if page["page"] < len(pages):
                    next_at = (page["page"] + 1, 0)
                break
        if next_at is not None:
            parts.append(
                f"(more text: call read_ocr with page={next_at[0]} offset={next_at[1]})"
            )
        return ok("\n".join(parts))

    @tool(
        "search_documents",
        "Search the OCR text of the documents for a phrase (case and spacing ignored). Each hit"
        " gives the document, page and character span [start, end) — citable as is — with the"
        " text around it.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "document_ids": {
                    "type": STRING_OR_ARRAY,
                    "items": {"type": "string"},
                    "description": "limit the search to these documents",
                },
                "max_results": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS},
            },
            "required": ["query"],
        },
    )
    @guarded
    async def search_documents(args: dict[str, Any]) -> dict[str, Any]:
        query = _text(args, "query", limit=500)
        needle, _ = fold_with_index(query)
        if not needle:
            raise ToolInputError("'query' is empty")
        wanted = json_arg(args.get("document_ids"), "document_ids")
        limit = int_arg(args, "max_results", 20, minimum=1) or 20
        if wanted:
            if not isinstance(wanted, list):
                raise ToolInputError("'document_ids' must be a list of ids")
            documents = [await scope.document(d) for d in wanted]
        else:
            documents = await scope.storage.list_documents()
        hits: list[str] = []
        for doc in documents:
            for page in await scope.pages(doc["id"]):
                folded, index = fold_with_index(page["text"])
                at = folded.find(needle)
                while at >= 0 and len(hits) < limit:
                    start = index[at]
                    end = index[at + len(needle) - 1] + 1
                    before = page["text"][max(0, start - CONTEXT_CHARS) : start]
                    after = page["text"][end : end + CONTEXT_CHARS]
                    context = " ".join(f"{before}«{page['text'][start:end]}»{after}".split())
                    hits.append(
                        f"- {doc['filename']} (id={doc['id']}) page {page['page']}"
                        f" [{start}:{end}]: …{context}…"
                    )
                    at = folded.find(needle, at + 1)
        if not hits:
            return ok(f"No match for {query!r} in {len(documents)} document(s).")
        more = " (limit reached; narrow the search)" if len(hits) >= limit else ""
        return ok(f"{len(hits)} match(es) for {query!r}{more}:\n" + "\n".join(hits))

    return [list_documents, read_ocr, search_documents]
