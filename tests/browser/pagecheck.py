"""What the real-browser tests do on a page: move every control of a widget as a user would
(keyboard on sliders, another entry of each menu, a class button, a number box) and wait for
the picture in the widget's output to change. Shared by the JupyterLab notebook test and the
``augkit explore`` (Voila) test; the fixtures that start the servers are in ``conftest.py``.
"""

from __future__ import annotations

import time

# Screenshot of each widget after its moves: headless Chromium paints large images in tiles,
# so give it a moment after the picture changed.
PAINT_WAIT = 1.0
IMAGES_LOADED = """(el) => [...el.querySelectorAll('img')]
  .every(img => img.complete && img.naturalHeight > 0)"""


def redraws(picture, action, what: str, log: list, timeout: float = 15.0) -> bool:
    """Do ``action`` and wait up to ``timeout`` s for ``picture``'s image data to change.
    Appends ``(what, changed, seconds)`` to ``log``."""
    before = picture.get_attribute("src")
    t0 = time.time()
    action()
    while time.time() - t0 < timeout:
        if picture.get_attribute("src") != before:
            log.append((what, True, time.time() - t0))
            return True
        time.sleep(0.05)
    log.append((what, False, timeout))
    return False


def _press(page, handle, key, times=5):
    def act():
        handle.focus()
        for _ in range(times):
            page.keyboard.press(key)
    return act


def move_controls(page, box, picture, log: list) -> None:
    """Move each control inside ``box`` (a locator holding one or more widgets) and check that
    ``picture`` (the locator of the widget's output image) redraws after each move."""
    sliders = box.locator(".widget-slider")
    for j in range(sliders.count()):
        slider = sliders.nth(j)
        label = slider.locator(".widget-label").first.inner_text()
        value = slider.locator(".widget-readout").inner_text()
        handle = slider.locator(".noUi-handle")
        # a slider a notebook left at its maximum can only move left
        if not redraws(picture, _press(page, handle, "ArrowRight"),
                       f"slider '{label}' right from {value}", log):
            log.pop()
            redraws(picture, _press(page, handle, "ArrowLeft"),
                    f"slider '{label}' left from {value}", log)
    menus = box.locator(".widget-dropdown select")
    for j in range(menus.count()):
        menu = menus.nth(j)
        # ipywidgets writes labels with non-breaking spaces
        options = [o.replace("\xa0", " ") for o in menu.locator("option").all_inner_texts()]
        current = menu.input_value().replace("\xa0", " ")
        other = next((k for k, o in enumerate(options) if o != current), None)
        if other is not None:  # pick another entry, as a user would
            redraws(picture, lambda m=menu, k=other: m.select_option(index=k),
                    f"menu {j + 1}: '{current}' -> '{options[other]}'", log)
    buttons = box.locator(".widget-toggle-buttons button")
    if buttons.count() > 3:
        button = buttons.nth(3)
        redraws(picture, button.click, f"button '{button.inner_text()}'", log)
    boxes = box.locator(".widget-text input[type='number']")
    for j in range(boxes.count()):
        number = boxes.nth(j)

        def edit(number=number):
            number.fill(str(int(number.input_value()) + 7))
            number.press("Enter")
        redraws(picture, edit, f"number box {j + 1}", log)


def screenshot(page, element, path) -> None:
    """A shot of ``element`` once its images are decoded and painted."""
    element.scroll_into_view_if_needed()
    page.wait_for_function(IMAGES_LOADED, arg=element.element_handle(), timeout=20_000)
    time.sleep(PAINT_WAIT)
    box = element.bounding_box()
    if box and box["width"] > 0 and box["height"] > 0:
        page.screenshot(path=str(path), clip=box)


def summary(log: list) -> str:
    lines = [f"{'ok ' if ok else 'NO CHANGE'} {what} ({seconds:.2f} s)" for what, ok, seconds in log]
    return "\n".join(lines)
