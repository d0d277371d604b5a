"""The learned risk model, its metrics and the Korean data adapter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clearway.errors import ConfigurationError, InputError
from clearway.risk import FeatureSpec, RiskModel, ranking_report
from clearway.risk.korean import read_korean
from clearway.risk.metrics import auc, precision_at, recall_at
from clearway.risk.training import recent_period, train_risk_model
from tests.conftest import SHARED_DATA
from tests.test_cli import clearway

KOREAN = SHARED_DATA / "customs-declarations"
needs_korean = pytest.mark.skipif(
    not (KOREAN / "df_syn_train_eng.csv").is_file(),
    reason=f"Korean customs declarations not found at {KOREAN}",
)

SPEC = FeatureSpec(
    categorical=("origin",),
    numeric=("value",),
    encoded=(("importer",),),
    descriptions={"importer": "importer", "origin": "country of origin"},
)


def _frame(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Importers I0-I9; I0 and I1 are always at fault, the rest never;
    origin and value are noise."""
    rng = np.random.default_rng(seed)
    importer = rng.integers(0, 10, n)
    frame = {
        "importer": np.array([f"I{i}" for i in importer]),
        "origin": rng.choice(np.array(["CN", "HK", "US"]), n),
        "value": rng.normal(50, 10, n),
    }
    return frame, (importer < 2).astype(int)


def test_metrics_on_a_hand_made_ranking() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    assert precision_at(scores, labels, 0.2) == 0.5
    assert recall_at(scores, labels, 0.3) == pytest.approx(2 / 3)
    # 3 positives, 7 negatives: pairs won = 7 + 6 + 0 = 13 of 21.
    assert auc(scores, labels) == pytest.approx(13 / 21)
    assert auc(np.zeros(4), np.array([1, 0, 1, 0])) == 0.5


def test_model_learns_the_importer_and_explains_it() -> None:
    frame, labels = _frame(2000)
    model = RiskModel(SPEC, n_estimators=50, max_depth=3)
    assert model.fit(frame, labels) is model
    test, truth = _frame(500, seed=1)
    report = ranking_report(model.predict_proba(test), truth)
    assert report["auc"] > 0.99
    reasons = model.explain({k: v[truth == 1][:5] for k, v in test.items()})
    assert all(r and r[0][0] == "past finding rate for this importer" for r in reasons)


def test_out_of_fold_rates_do_not_leak_a_rows_own_label() -> None:
    # Every importer is seen once: a rate that used the row's own label
    # would predict the training labels perfectly; out of fold it cannot.
    n = 400
    frame = {
        "importer": np.array([f"I{i}" for i in range(n)]),
        "origin": np.array(["CN"] * n),
        "value": np.zeros(n),
    }
    labels = np.random.default_rng(0).integers(0, 2, n)
    model = RiskModel(SPEC, n_estimators=30, max_depth=3).fit(frame, labels)
    assert auc(model.predict_proba(frame), labels) < 0.75


def test_save_load_round_trip_and_version_check(tmp_path: Path) -> None:
    frame, labels = _frame(500)
    model = RiskModel(SPEC, n_estimators=20, max_depth=3).fit(frame, labels)
    path = tmp_path / "risk.json"
    model.save(path, {"data_to": "2026-11-01"})
    loaded = RiskModel.load(path)
    assert np.allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.stored_metadata_["data_to"] == "2026-11-01"
    assert loaded.stored_metadata_["features"] == SPEC.feature_names()
    document = json.loads(path.read_text())
    document["metadata"]["format_version"] = 7
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigurationError, match="format version 7"):
        RiskModel.load(path)


def test_missing_columns_are_named() -> None:
    frame, labels = _frame(50)
    del frame["origin"]
    with pytest.raises(InputError, match="lacks the columns origin"):
        RiskModel(SPEC).fit(frame, labels)


def test_recent_period_is_the_latest_days() -> None:
    dates = np.array(["2026-01-01"] * 5 + ["2026-01-02"] * 3 + ["2026-01-03"] * 2)
    recent, cut = recent_period(dates, 0.2)
    assert cut == "2026-01-03"
    assert recent.sum() == 2
    with pytest.raises(InputError, match="too few days"):
        recent_period(np.array(["2026-01-01"] * 4))


def test_korean_reader_names_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Declaration ID,Date\n1,2020-01-01\n")
    with pytest.raises(InputError, match="missing"):
        read_korean(bad)


@needs_korean
def test_korean_validation_precision_beats_the_target() -> None:
    train = read_korean(KOREAN / "df_syn_train_eng.csv")
    valid = read_korean(KOREAN / "df_syn_valid_eng.csv")
    from clearway.risk.korean import KOREAN_SPEC

    model = RiskModel(KOREAN_SPEC).fit(train.frame, train.fraud)
    report = ranking_report(model.predict_proba(valid.frame), valid.fraud)
    assert report["precision_at_5"] >= 0.90
    assert report["precision_at_10"] >= 0.80


@needs_korean
def test_training_replaces_only_a_worse_model(tmp_path: Path) -> None:
    from clearway.risk.korean import KOREAN_SPEC

    data = read_korean(KOREAN / "df_syn_valid_eng.csv")
    first = train_risk_model(data.labelled(), None, KOREAN_SPEC)
    assert first.replaced
    assert first.current is None
    # A model trained on shuffled labels must lose to the candidate...
    rng = np.random.default_rng(0)
    from clearway.risk.korean import KOREAN_SPEC

    noise = RiskModel(KOREAN_SPEC, n_estimators=20).fit(data.frame, rng.permutation(data.fraud))
    second = train_risk_model(data.labelled(), noise, KOREAN_SPEC)
    assert second.replaced
    # ...and the good model is kept against a candidate trained on less.
    kept = train_risk_model(data.labelled(), first.model, KOREAN_SPEC)
    assert not kept.replaced
    assert kept.model is first.model


@needs_korean
def test_cli_risk_evaluate_prints_the_json_last(tmp_path: Path, sqlite_url: str) -> None:
    done = clearway(
        "risk",
        "evaluate",
        "--train",
        str(KOREAN / "df_syn_train_eng.csv"),
        "--test",
        str(KOREAN / "df_syn_valid_eng.csv"),
        cwd=tmp_path,
        url=sqlite_url,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) == {
        "precision_at_5",
        "precision_at_10",
        "recall_at_5",
        "recall_at_10",
        "auc",
    }
    assert result["precision_at_5"] >= 0.9
