"""The study results explorer, driven headlessly on rows whose paired gains are known."""

import pytest

from augkit.widgets.study import ResultsExplorer
from tests.test_report import SIZES, effect, make_rows


@pytest.fixture
def explorer():
    fair = make_rows()
    leaky = [{**r, "setting": "leaky", "run_id": r["run_id"] + "-leaky"} for r in fair
             if r["strategy"] in ("real", "gan")]
    return ResultsExplorer(fair + leaky)


def test_first_draw_shows_the_gan_cell_and_its_paired_gain(explorer):
    v = explorer.values()
    assert (v["setting"], v["strategy"], v["ratio"]) == ("fair", "gan", 1.0)
    assert explorer.n_updates == 1 and explorer.figure is not None
    cell = explorer.state["cell"]
    assert cell["gain"].mean == pytest.approx(effect("gan", 1.0, v["n_per_class"]))
    assert "gan" in explorer.readout.value and "paired gain" in explorer.readout.value
    left, right = explorer.figure.axes
    assert len(left.lines) == 3  # one line per seed: real-only -> gan on the same subset
    assert len(right.containers) == len(explorer.state["gains"])


def test_each_choice_redraws_once_and_narrows_the_others(explorer):
    c = explorer.controls
    c["n_per_class"].value = SIZES[-1]
    assert explorer.n_updates == 2 and explorer.state["n_per_class"] == SIZES[-1]
    c["strategy"].value = "classic"
    assert explorer.n_updates == 3
    assert list(c["ratio"].options) == [("0", 0.0)]  # classic has no synthetic ratio
    c["strategy"].value = "gan"
    assert {v for _, v in c["ratio"].options} == {0.5, 1.0, 2.0}
    c["ratio"].value = 2.0
    assert explorer.state["cell"]["gain"].mean == pytest.approx(effect("gan", 2.0, SIZES[-1]))
    # The leaky setting only ran real and gan: the strategy list follows, gan is kept.
    c["setting"].value = "leaky"
    assert [v for _, v in c["strategy"].options] == ["real", "gan"]
    assert explorer.values()["strategy"] == "gan" and explorer.state["setting"] == "leaky"


def test_verdict_follows_the_interval(explorer):
    explorer.controls["strategy"].value = "synthetic_only"  # a known 20-point loss
    assert "hurts" in explorer.readout.value
    explorer.controls["strategy"].value = "classic"
    assert "helps" in explorer.readout.value


def test_no_rows_is_a_clear_error():
    with pytest.raises(ValueError, match="run `augkit study` first"):
        ResultsExplorer([])
