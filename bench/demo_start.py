"""How long `stackdocs demo` takes to be ready: first start (seed), second start, `--reset`.

    .venv/bin/python bench/demo_start.py [--rounds 1]

Each figure is the wall time from running the real CLI (`.venv/bin/stackdocs demo --port P`) to
`/health` answering on P, i.e. what a presenter waits for, plus the preparation line the CLI
prints (seeding / restoring, before the app itself starts). Baseline in the same run:
`stackdocs run` on an empty data dir (the app's own start, no demo). Every server builds its
frontend in its own folder (REFLEX_WEB_WORKDIR), like the tests, so runs by other people on the
machine cannot interfere; the folder is kept between the starts of one round, like a presenter's
checkout. Figures on this shared 2-core machine are noisy: they are labelled, not asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STACKDOCS = ROOT / ".venv" / "bin" / "stackdocs"
sys.path.insert(0, str(ROOT))

from tests.support.processes import free_port  # noqa: E402


def timed_start(command: list[str], data: Path, work: Path, log: Path) -> tuple[float, str]:
    port = free_port()
    env = {
        **os.environ,
        "STACKDOCS_DATA_DIR": str(data),
        "REFLEX_WEB_WORKDIR": str(work / "web"),
        "REFLEX_STATES_WORKDIR": str(work / "states"),
    }
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(STACKDOCS), *command, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command} exited {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        ready = time.monotonic() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text(errors="replace")
    prepared = re.search(r"workspace ready in ([\d.]+) s", text)
    detail = re.search(r"(restored the seed checkpoint \S+ in [\d.]+ s|\d+ documents, .*)", text)
    note = f"prepare {prepared.group(1)} s" if prepared else ""
    if detail:
        note += f"; {detail.group(1)}"
    return ready, note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as tmp:
        base = Path(tmp)
        for round_ in range(args.rounds):
            work = base / f"web-{round_}"
            run_s, _ = timed_start(["run"], base / f"run-{round_}", work, base / "run.log")
            rows.append(("stackdocs run (baseline)", run_s, ""))
            data = base / f"demo-{round_}"
            for label, command in (
                ("stackdocs demo (first start)", ["demo"]),
                ("stackdocs demo (second start)", ["demo"]),
                ("stackdocs demo --reset", ["demo", "--reset"]),
            ):
                seconds, note = timed_start(command, data, work, base / "demo.log")
                rows.append((label, seconds, note))
    baseline = [s for label, s, _ in rows if "baseline" in label]
    base_s = sum(baseline) / len(baseline)
    print(f"{'start':32} {'ready (s)':>10} {'vs run':>8}  detail")
    for label, seconds, note in rows:
        print(f"{label:32} {seconds:10.1f} {seconds / base_s:8.2f}  {note}")
    print("(shared 2-core machine: noisy figures; the app's own start is the same in every row)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
