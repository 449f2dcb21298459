"""``augkit explore`` in a real browser with the network blocked: the start page links every
explorer, and each explorer page renders its widgets from 127.0.0.1 alone and redraws its
picture when any control moves."""

from __future__ import annotations

import time

import pytest
from pagecheck import move_controls, screenshot, summary

from augkit import explore

pytestmark = pytest.mark.browser
ERRORS = ("Traceback", "There was an error when executing cell", "Error displaying widget")


def wait_rendered(page, timeout: float = 180) -> None:
    """Until the page's kernel has run its cell: its pictures are on the page and no more
    appear for two seconds."""
    page.wait_for_selector(".widget-output img", timeout=timeout * 1000)
    count, t0 = -1, time.time()
    while time.time() - t0 < timeout:
        now = page.locator(".widget-output img").count()
        if now == count:
            return
        count = now
        time.sleep(2)


def test_start_page_links_every_explorer(page, explore_app, shots):
    page.goto(explore.start_url(int(explore_app.rsplit(":", 1)[1])), wait_until="domcontentloaded")
    page.wait_for_selector("a[href$='.ipynb']")
    links = page.locator("a[href$='.ipynb']")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert [h.removesuffix(".ipynb") for h in hrefs] == list(explore.NAMES)
    for page_def in explore.PAGES:
        assert page.get_by_text(page_def.title).count() >= 1
    page.screenshot(path=str(shots / "start.png"), full_page=True)
    links.first.click()  # a link works as a user clicks it
    page.wait_for_url(f"**/{explore.NAMES[0]}.ipynb")
    wait_rendered(page)


@pytest.mark.parametrize("name", explore.NAMES)
def test_explorer_page_works_offline(page, explore_app, name, shots):
    page.goto(f"{explore_app}/voila/render/{name}.ipynb", wait_until="domcontentloaded")
    wait_rendered(page)
    text = page.locator("body").inner_text()
    for error in ERRORS:
        assert error not in text, f"{name}: '{error}' on the page:\n{text[-1500:]}"
    widgets = page.locator(".jp-OutputArea-output > .widget-vbox")
    assert widgets.count() >= 1, f"{name}: no widget on the page"
    log = []
    for i in range(widgets.count()):
        box = widgets.nth(i)
        box.scroll_into_view_if_needed()
        move_controls(page, box, box.locator(".widget-output img").first, log)
        screenshot(page, box, shots / f"{name}-widget{i + 1}.png")
    print(summary(log))
    (shots / "moves.txt").write_text(summary(log) + "\n")  # what moved, and how fast it redrew
    print("blocked (not needed to render):", page.blocked)
    assert log, f"{name}: no control was moved"
    failed = [what for what, ok, _ in log if not ok]
    assert not failed, f"{name}: no redraw after {failed}\n{summary(log)}"
