"""The study's grid, sharding, results file, resume and a tiny study end to end."""

import json

import pytest

from augkit import study

TINY = study.Preset(sizes=(3,), ratios=(1.0,), seeds=(0, 1), generator_steps=10,
                    test_images=500, quick=True)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(study.PRESETS, ("mnist", "tiny"), TINY)
    return "tiny"


def test_grid_has_every_strategy_once_per_cell_and_ratio():
    preset = study.PRESETS[("mnist", "full")]
    runs = study.grid("mnist", "fair", preset)
    ids = [study.run_id(r) for r in runs]
    assert len(ids) == len(set(ids))
    per_cell = 2 + len(study.SYNTHETIC) * len(preset.ratios) + 1
    assert len(runs) == len(preset.sizes) * len(preset.seeds) * per_cell
    assert {r.strategy for r in runs} == set(study.STRATEGIES)
    with pytest.raises(ValueError, match="setting must be one of"):
        study.grid("mnist", "sloppy", preset)


def test_shards_partition_the_grid():
    runs = study.grid("mnist", "fair", study.PRESETS[("mnist", "full")])
    parts = [study.shard(runs, f"{i}/3") for i in (1, 2, 3)]
    ids = [study.run_id(r) for part in parts for r in part]
    assert sorted(ids) == sorted(study.run_id(r) for r in runs) and len(ids) == len(set(ids))
    assert study.shard(runs, "2/3") == study.shard(runs, "2/3")  # deterministic
    for bad in ("0/3", "4/3", "x", "1-3"):
        with pytest.raises(ValueError, match="--shard"):
            study.shard(runs, bad)


def test_a_truncated_last_line_is_dropped_and_a_broken_middle_line_refused(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    study.append_result(path, {"run_id": "a"})
    study.append_result(path, {"run_id": "b"})
    with open(path, "a") as fh:
        fh.write('{"run_id": "c", "test_')  # killed mid-write
    assert [r["run_id"] for r in study.read_results(path)] == ["a", "b"]
    assert "incomplete" in capsys.readouterr().out
    assert path.read_text().count("\n") == 2 and path.read_text().endswith("\n")
    path.write_text('{"run_id": "a"}\nnot json\n{"run_id": "b"}\n')
    with pytest.raises(ValueError, match="line 2 is not a JSON record"):
        study.read_results(path)


def test_tiny_study_end_to_end_cut_short_and_resumed(tmp_path, tiny, shared_data):
    out = tmp_path / "study"
    first = study.run_study("mnist", tiny, "fair", out_dir=out, data_dir=shared_data,
                            progress=False, max_runs=5, report=False)
    assert first["done"] == 5 and first["total"] == 16
    with pytest.raises(ValueError, match="add --resume"):
        study.run_study("mnist", tiny, "fair", out_dir=out, data_dir=shared_data,
                        progress=False, report=False)
    second = study.run_study("mnist", tiny, "fair", out_dir=out, data_dir=shared_data,
                             progress=False, resume=True)
    assert second["new"] == 11 and second["done"] == 16
    rows = study.all_results(out)
    ids = [r["run_id"] for r in rows]
    assert len(ids) == 16 and len(set(ids)) == 16  # no run lost, none repeated
    assert sorted(ids) == sorted(study.run_id(r) for r in study.grid("mnist", "fair", TINY))
    for r in rows:
        assert 0.0 <= r["test_acc"] <= 1.0 and r["seconds"] > 0
        assert r["config"]["test_images"] == 500 and "tensorflow" in r["versions"]
    by = {(r["strategy"], r["seed"]): r for r in rows}
    assert by[("gan", 0)]["train_images"] == 60 and by[("synthetic_only", 0)]["train_images"] == 30
    # Screening keeps only what a subset-only judge confirms: with a 10-step generator that can
    # be nothing at all, and the run then trains on the real subset plus what was kept.
    screened = by[("gan_screened", 0)]
    assert 0 <= screened["kept_share"] <= 1 and 30 <= screened["train_images"] <= 60
    # The fair generators were trained on the cell's subset and cached for every strategy.
    assert len(list((out / "generators").glob("*.weights.h5"))) == 4
    assert all(path.is_file() for path in second["report"].values())
    json.dumps(rows)  # every row is plain JSON


def test_cli_study_faults_are_one_line(tmp_path, capsys):
    from augkit import cli

    assert cli.main(["study", "--shard", "5/3", "--out", str(tmp_path)]) == 2
    assert "--shard 5/3" in capsys.readouterr().err
    assert cli.main(["study", "--jobs", "0", "--out", str(tmp_path)]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    (tmp_path / "results.jsonl").write_text('{"run_id": "x"}\n')
    assert cli.main(["study", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "add --resume" in err
