"""Real-browser check: do the notebook sliders respond in JupyterLab 4?

Not part of the pytest suite (it needs Chromium and a running JupyterLab; the suite drives the
same widget callbacks headlessly). It opens a notebook, runs all cells, then for every cell
whose output holds sliders or menus it moves each slider with the keyboard (as a user would),
picks another entry of each menu, clicks a class button and edits number boxes, and checks that
the picture in that cell's output changes.

Run it with ``bash tests/browser/run.sh`` (it starts JupyterLab in quick mode, on copies of the
notebooks and with the settings this check needs, and checks every notebook with widgets);
it needs Chromium from the system (``apt-get install chromium``) and ``pip install playwright``.

Prints one line per interaction and a summary; exits 1 if any interaction did not redraw.
With ``SHOTS=/some/folder`` it also saves a screenshot of each widget cell before and after.
"""

import os
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

SHOTS = os.environ.get("SHOTS")  # a folder: screenshots of each widget cell before and after
PAINT_WAIT = 5  # seconds for headless Chromium to finish painting before a screenshot
URL = "http://127.0.0.1:8899/lab/tree/{}?reset"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
KERNEL_IDLE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""
IMAGES_LOADED = """(cell) => [...cell.querySelectorAll('.jp-OutputArea img')]
  .every(img => img.complete && img.naturalHeight > 0)"""
CELLS_EXECUTED = """() => {
  const m = window.jupyterapp.shell.currentWidget.content.model;
  let n = 0, done = 0;
  for (let i = 0; i < m.cells.length; i++) {
    const c = m.cells.get(i);
    if (c.type === 'code') { n++; if (c.executionCount !== null) done++; }
  }
  return [n, done];
}"""


def run_all(page, timeout=500):
    page.goto(URL.format(sys.argv[1]), wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp !== undefined", timeout=120_000)
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    # A run-all sent before the kernel is up is dropped without a word: wait for it.
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.locator(".jp-Notebook").first.click()
    # not awaited: the command's promise resolves only when every cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    t0 = time.time()
    time.sleep(3)
    while time.time() - t0 < timeout:
        n, done = page.evaluate(CELLS_EXECUTED)
        if n == done and page.locator(f"{PANEL} .jp-InputPrompt:has-text('[*]')").count() == 0:
            break
        time.sleep(3)
    errors = page.locator(f"{PANEL} .jp-OutputArea-output:has-text('Traceback')").count()
    # Outputs only: notebook 00's troubleshooting markdown quotes the phrase itself.
    broken = page.locator(f"{PANEL} .jp-OutputArea-output:has-text('Error displaying widget')").count()
    print(f"ran {done}/{n} code cells in {time.time() - t0:.0f} s; tracebacks: {errors}; "
          f"widgets that failed to display: {broken}", flush=True)
    return errors == 0 and broken == 0 and n == done


def redraws(page, cell, action, what):
    """Do ``action`` and wait up to 10 s for the first image in the cell's output to change."""
    picture = cell.locator(".jp-OutputArea img").first
    before = picture.get_attribute("src")
    action()
    for _ in range(20):
        time.sleep(0.5)
        if picture.get_attribute("src") != before:
            print(f"   {what}: picture changed", flush=True)
            return True
    print(f"   {what}: NO CHANGE", flush=True)
    return False


def press(page, handle, key, times=5):
    def act():
        handle.focus()
        for _ in range(times):
            page.keyboard.press(key)
    return act


def snap(page, cell, path):
    """A viewport screenshot cut to the cell; headless Chromium paints large images in tiles,
    so a shot taken a second after the redraw can show them half-painted."""
    cell.scroll_into_view_if_needed()
    time.sleep(PAINT_WAIT)
    page.screenshot(path=path, clip=cell.bounding_box())


def check_cell(page, cell, shot=None):
    results = []
    if shot:
        snap(page, cell, f"{shot}-before.png")
    sliders = cell.locator(".widget-slider")
    for j in range(sliders.count()):
        slider = sliders.nth(j)
        label = slider.locator(".widget-label").first.inner_text()
        value = slider.locator(".widget-readout").inner_text()
        handle = slider.locator(".noUi-handle")
        # a slider a notebook left at its maximum can only move left
        results.append(redraws(page, cell, press(page, handle, "ArrowRight"),
                               f"slider '{label}' right from {value}")
                       or redraws(page, cell, press(page, handle, "ArrowLeft"),
                                  f"slider '{label}' left from {value}"))
    menus = cell.locator(".widget-dropdown select")
    for j in range(menus.count()):
        menu = menus.nth(j)
        # ipywidgets writes labels with non-breaking spaces
        options = [o.replace("\xa0", " ") for o in menu.locator("option").all_inner_texts()]
        current = menu.input_value().replace("\xa0", " ")
        other = next((k for k, o in enumerate(options) if o != current), None)
        if other is not None:  # pick another entry, as a user would
            results.append(redraws(page, cell, lambda m=menu, k=other: m.select_option(index=k),
                                   f"menu {j + 1}: '{current}' -> '{options[other]}'"))
    buttons = cell.locator(".widget-toggle-buttons button")
    if buttons.count() > 3:
        button = buttons.nth(3)
        results.append(redraws(page, cell, button.click, f"button '{button.inner_text()}'"))
    boxes = cell.locator(".widget-text input[type='number']")
    for j in range(boxes.count()):
        box = boxes.nth(j)

        def edit(box=box):
            box.fill(str(int(box.input_value()) + 7))
            box.press("Enter")
        results.append(redraws(page, cell, edit, f"number box {j + 1}"))
    if shot:  # once the kernel has drawn every queued picture and the browser has decoded it
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        page.wait_for_function(IMAGES_LOADED, arg=cell.element_handle(), timeout=20_000)
        snap(page, cell, f"{shot}-after.png")
    return results


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/browser/lab_widgets.py NOTEBOOK.ipynb")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        # offline: answer only the local server (JupyterLab may ask the web for news)
        page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
        ok = run_all(page)
        cells = page.locator(f"{PANEL} .jp-CodeCell:has(.widget-slider), "
                             f"{PANEL} .jp-CodeCell:has(.widget-dropdown)")
        results = []
        for i in range(cells.count()):
            cell = cells.nth(i)
            cell.scroll_into_view_if_needed()
            first_line = cell.locator(".jp-InputArea").inner_text().splitlines()
            print(f"cell {i + 1}: {' | '.join(first_line[1:3])[:70]}", flush=True)
            shot = SHOTS and f"{SHOTS}/{Path(sys.argv[1]).stem}-cell{i + 1}"
            results += check_cell(page, cell, shot)
        browser.close()
    print(f"{sum(results)}/{len(results)} interactions redrew the picture", flush=True)
    sys.exit(0 if ok and results and all(results) else 1)


if __name__ == "__main__":
    main()
