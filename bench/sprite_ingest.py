"""Ingest speed through the real Sprite vs the underlying engines, measured in the same run.

    .venv/bin/python bench/sprite_ingest.py [--pages 200] [--runs 5]

1. Text PDF: pages/s from upload to `ocr_complete` through `stackdocs sprite serve` (one frame
   upload, file written + fsync'ed, rows, per-page text, cached file, events) vs pypdfium2
   extracting every page's text directly in this process. Target: runtime ≥ 50 % of direct.
2. Scanned page (A4 at 300 dpi, PNG): seconds from upload to `ocr_complete` vs the `tesseract`
   CLI on the same image (`--psm 4`, OMP_THREAD_LIMIT=1). Target: runtime ≤ 1.2x the CLI.

Medians of --runs runs each, alternating so machine noise hits both sides alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sprite_common import Sprite, connect, median, scanned_page_png, text_pdf, upload_and_wait


def direct_pdf_seconds(path: Path) -> float:
    import pypdfium2 as pdfium

    started = time.perf_counter()
    pdf = pdfium.PdfDocument(path)
    for index in range(len(pdf)):
        page = pdf[index]
        textpage = page.get_textpage()
        textpage.get_text_range()
        textpage.close()
        page.close()
    pdf.close()
    return time.perf_counter() - started


def tesseract_cli_seconds(path: Path) -> float:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    started = time.perf_counter()
    subprocess.run(
        ["tesseract", str(path), "stdout", "--psm", "4"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


async def runtime_seconds(ws, filename: str, data: bytes) -> float:
    started = time.perf_counter()
    await upload_and_wait(ws, filename, data)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="sprite-bench-docs-"))
    pdf = text_pdf(args.pages)
    pdf_path = scratch / "text.pdf"
    pdf_path.write_bytes(pdf)
    png = scanned_page_png()
    png_path = scratch / "scan.png"
    png_path.write_bytes(png)

    sprite = Sprite()
    sprite.spawn()
    try:
        ws = await connect(sprite)
        # Warm-up: loads pdfium/tesseract in both, as a long-running Sprite would have.
        await runtime_seconds(ws, "warm.pdf", pdf)
        direct_pdf_seconds(pdf_path)
        await runtime_seconds(ws, "warm.png", png)
        tesseract_cli_seconds(png_path)

        pdf_runtime, pdf_direct, scan_runtime, scan_cli = [], [], [], []
        for run in range(args.runs):
            pdf_direct.append(direct_pdf_seconds(pdf_path))
            pdf_runtime.append(await runtime_seconds(ws, f"text-{run}.pdf", pdf))
        for run in range(args.runs):
            scan_cli.append(tesseract_cli_seconds(png_path))
            scan_runtime.append(await runtime_seconds(ws, f"scan-{run}.png", png))
        await ws.close()
        rss = sprite.rss_mb()
    finally:
        sprite.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    direct_rate = args.pages / median(pdf_direct)
    runtime_rate = args.pages / median(pdf_runtime)
    print(f"text PDF, {args.pages} pages ({len(pdf) / 1e6:.1f} MB), median of {args.runs}:")
    print(f"  pypdfium2 direct : {direct_rate:8.0f} pages/s  ({median(pdf_direct) * 1000:.0f} ms)")
    print(
        f"  through Sprite   : {runtime_rate:8.0f} pages/s  ({median(pdf_runtime) * 1000:.0f} ms)"
        f"  = {runtime_rate / direct_rate:.0%} of direct (target >= 50%)"
    )
    cli, through = median(scan_cli), median(scan_runtime)
    print(f"scanned page, A4 300 dpi PNG ({len(png) / 1e3:.0f} kB), median of {args.runs}:")
    print(f"  tesseract CLI    : {cli:.2f} s")
    print(f"  through Sprite   : {through:.2f} s  = {through / cli:.2f}x the CLI (target <= 1.2x)")
    print(f"Sprite RSS after the runs: {rss:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
