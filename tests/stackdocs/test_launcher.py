"""`stackdocs run` beside another one in the same checkout: each keeps serving its own build."""

import re
import threading

import httpx
import pytest

from tests.support.processes import AppServer

pytestmark = pytest.mark.slow


def _page_and_assets_load(url: str) -> list[str]:
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and "<html" in page.text
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+\.(?:js|css))"', page.text)
    assert assets, "the compiled frontend references its bundles"
    for asset in assets:
        assert httpx.get(url + asset, timeout=30).status_code == 200, asset
    return assets


def _keep_fetching(url: str, paths: list[str], stop: threading.Event, failures: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            for path in ["/", *paths]:
                status = http.get(path).status_code
                if status != 200:
                    failures.append(f"{path}: {status}")


def test_a_second_run_builds_elsewhere_and_the_first_keeps_serving(tmp_path):
    first = AppServer(tmp_path / "first").start()
    try:
        assets = _page_and_assets_load(first.url)
        # While the second one builds and starts, the first keeps answering every file.
        stop, failures = threading.Event(), []
        fetcher = threading.Thread(target=_keep_fetching, args=(first.url, assets, stop, failures))
        fetcher.start()
        second = AppServer(tmp_path / "second")
        try:
            second.start()
            _page_and_assets_load(second.url)
        finally:
            stop.set()
            fetcher.join()
            second.stop()
        assert not failures, failures[:5]
        _page_and_assets_load(first.url)
    finally:
        first.stop()
