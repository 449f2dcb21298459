"""Load or run (augkit.precomputed): a heavy grid is loaded only when the request matches exactly,
and the shipped grid of notebook 03 is the one its full mode asks for."""

import numpy as np
import pytest

from augkit import classify, files
from augkit import precomputed as shipped


def _grid(calls):
    def run():
        calls.append(1)
        return [{"seed": np.int64(0), "test_acc": np.float32(0.5)}]
    return run


def test_a_matching_request_loads_anything_else_runs(tmp_path):
    request = {"sizes": (10,), "budget": classify.Budget(steps=5), "seeds": [0, 1]}
    calls, said = [], []
    rows, info = shipped.load_or_run("g", request, _grid(calls), folder=tmp_path,
                                     echo=said.append)
    assert calls == [1] and info["source"] == "run" and rows == [{"seed": 0, "test_acc": 0.5}]
    shipped.save("g", info, folder=tmp_path)
    stored = files.read_json(tmp_path / "g.json")
    assert "source" not in stored and stored["request"]["budget"]["steps"] == 5

    # the same request (a tuple where a list was, a dataclass as before): loaded, not run
    same = {"sizes": [10], "budget": classify.Budget(steps=5), "seeds": (0, 1)}
    rows, info = shipped.load_or_run("g", same, _grid(calls), folder=tmp_path,
                                     command="augkit run 03 -p RECOMPUTE True", echo=said.append)
    assert calls == [1] and info["source"] == "shipped" and rows == stored["rows"]
    assert "loaded the shipped results" in said[-1] and "RECOMPUTE True" in said[-1]

    # another budget, another seed list, or recompute=True: run
    for other, kw in (({**same, "budget": classify.Budget(steps=6)}, {}),
                      ({**same, "seeds": [0]}, {}), (same, {"recompute": True})):
        shipped.load_or_run("g", other, _grid(calls), folder=tmp_path, echo=said.append, **kw)
    assert len(calls) == 4


def test_a_bad_name_is_refused(tmp_path):
    with pytest.raises(ValueError):
        shipped.load_or_run("../escape", {}, list, folder=tmp_path)


def test_notebook_03s_shipped_sweep_is_the_grid_its_full_mode_asks_for():
    stored = files.read_json(shipped.path_for("classic_sweep_mnist"))
    budget = classify.budget_for("mnist", quick=False)
    want = shipped.normalize(dict(dataset="mnist", sizes=[10], strengths=[0.0, 0.5, 1.0, 2.0, 3.0],
                                  seeds=[0, 1, 2], budget=budget, test_images=10_000))
    assert stored["request"] == want  # a changed budget or grid makes the shipped file stale
    rows = stored["rows"]
    assert len(rows) == 15 and {(r["strength"], r["seed"]) for r in rows} == {
        (s, seed) for s in want["strengths"] for seed in want["seeds"]}
    assert all(0.1 < r["test_acc"] <= 1 for r in rows)
    # what notebook 03 states in full mode: the default strength helps at 10 digits per class
    assert classify.paired_gains(rows)[1.0].low > 0
