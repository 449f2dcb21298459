"""`augkit explore`: the pages it writes, the explorers they build, and its command line.
The real-browser check of the running app is tests/browser/test_browser_explore.py."""

import json

import nbformat
import pytest

from augkit import cli, explore
from augkit.widgets.base import LiveFigure


def test_pages_are_written_for_every_explorer_and_linked_from_the_start_page(tmp_path):
    paths = explore.write_pages(tmp_path)
    assert [p.stem for p in paths] == [explore.START, *explore.NAMES]
    start = nbformat.read(paths[0], as_version=4)
    assert [c.cell_type for c in start.cells] == ["markdown"]
    for name in explore.NAMES:
        assert f"]({name}.ipynb)" in start.cells[0].source
    for path, page in zip(paths[1:], explore.PAGES, strict=True):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        assert code == [f"from augkit import explore\nexplore.show({page.name!r})"]
        assert page.title in nb.cells[0].source
        assert f"]({explore.START}.ipynb)" in nb.cells[-1].source


@pytest.mark.parametrize("name", explore.NAMES)
def test_every_page_builds_explorers_that_redraw(name):
    shown = explore.build(name)
    figures = [w for w in shown if isinstance(w, LiveFigure)]
    assert figures, f"{name}: no explorer built"
    for widget in figures:
        control = next(iter(widget.controls.values()))
        before, picture = widget.n_updates, widget.output.outputs[0]["data"]["image/png"]
        if hasattr(control, "options"):
            values = [v[1] if isinstance(v, tuple) else v for v in control.options]
            control.value = next(v for v in values if v != control.value)
        else:
            control.value = min(control.max, control.value + 5 * control.step)
        assert widget.n_updates == before + 1
        assert widget.output.outputs[0]["data"]["image/png"] != picture


def test_an_unknown_page_is_refused_with_the_list():
    with pytest.raises(ValueError, match="1-augmentation-gallery"):
        explore.build("no-such-page")


def test_the_app_listens_on_localhost_only_without_opening_voilas_file_list(tmp_path):
    command = explore.voila_command(tmp_path, 8866)
    assert "--Voila.ip=127.0.0.1" in command and "--no-browser" in command
    assert explore.start_url(8866).endswith(f"/voila/render/{explore.START}.ipynb")


def test_cli_refuses_a_bad_port_and_a_missing_data_dir(tmp_path, capsys):
    assert cli.main(["explore", "--port", "0", "--no-browser"]) == 2
    assert "--port 0" in capsys.readouterr().err
    missing = tmp_path / "nowhere"
    assert cli.main(["explore", "--no-browser", "--data-dir", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(missing) in err


def test_missing_voila_is_one_line_that_says_how_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "voila" else real(name, *a))
    assert cli.main(["explore", "--no-browser"]) == 2
    assert "pip install voila" in capsys.readouterr().err


def test_pages_display_widgets_not_reprs(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda item: shown.append(item))
    explore.show("2-gan-value-function")
    assert len(shown) == 1 and type(shown[0]).__module__.startswith("ipywidgets")
    from ipywidgets import embed

    # What the browser gets: the box and every widget it depends on, as plain JSON (no
    # default=str to turn an unreadable value into a string), each child among them.
    box = shown[0]
    state = json.loads(json.dumps(embed.dependency_state(box)))
    children = state[box.model_id]["state"]["children"]
    assert children and all(c.removeprefix("IPY_MODEL_") in state for c in children)


def test_a_busy_port_is_refused_before_voila_starts(monkeypatch, capsys):
    """Voila would move to another port while we printed the busy one's URL."""
    import socket

    def no_voila(*args, **kwargs):
        raise AssertionError("Voila was started on a busy port")

    monkeypatch.setattr(explore.subprocess, "Popen", no_voila)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["explore", "--port", str(port), "--no-browser"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"augkit explore: error: port {port} is in use; choose another "
                            "with --port\n")
    assert "http://" not in captured.out
    assert "--Voila.port_retries=0" in explore.voila_command(".", 8866)  # no silent move
