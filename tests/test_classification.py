"""HS suggestion, the misclassification signal, training and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from clearway.classification import HSClassifier
from clearway.classification.evaluation import evaluate, read_labelled_csv
from clearway.classification.loading import builtin_classifier
from clearway.classification.misclassification import FLAG_SCORE, check_classification
from clearway.classification.text import clean_nomenclature, terms
from clearway.clearance import ClassificationOptions, Stages
from clearway.errors import ConfigurationError, InputError
from clearway.reference.nomenclature import is_hs_subheading
from clearway.store.report import declaration_report
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTIONS = ROOT / "benchmarks" / "data" / "product_descriptions.csv"

# German marketplace descriptions: words the built-in knowledge has never seen.
GERMAN = [
    ("Kabellose Kopfhörer mit Ladeetui", "851830"),
    ("Kopfhörer kabellos schwarz", "851830"),
    ("Kopfhörer für Kinder", "851830"),
    ("Damenkleid aus Baumwolle", "620442"),
    ("Kleid Baumwolle geblümt", "620442"),
    ("Baumwollkleid für Damen", "620442"),
    ("Spielzeugauto für Kleinkinder", "950300"),
    ("Holzspielzeug Bausteine", "950300"),
    ("Plüschtier Spielzeug", "950300"),
    ("Armbanduhr Edelstahl Herren", "910211"),
    ("Herren Armbanduhr Quarz", "910211"),
    ("Damen Armbanduhr Leder", "910211"),
] * 5


@pytest.fixture(scope="module")
def model() -> HSClassifier:
    return builtin_classifier()


@pytest.mark.parametrize(
    ("text", "chapter"),
    [
        ("wireless earbuds bluetooth 5.3", "85"),
        ("Flue-cured tobacco leaves with stems intact", "24"),
        ("Men's cotton knit t-shirt", "61"),
        ("children's plastic building blocks toy", "95"),
        ("vitamin C supplement capsules", "21"),
        ("4K camera drone with GPS", "88"),
        ("lace front human hair wig", "67"),
        ("sterling silver pendant necklace", "71"),
    ],
)
def test_known_products_get_the_right_chapter(model: HSClassifier, text: str, chapter: str) -> None:
    top = model.suggest([text]).row(0)[0]
    assert top["chapter"] == chapter
    assert top["heading"] == top["hs"][:4]
    assert top["heading_confidence"] >= top["confidence"]


def test_top_five_are_valid_distinct_codes_best_first(model: HSClassifier) -> None:
    found = model.suggest(["wireless earbuds bluetooth 5.3", "steel wood screws"], k=5)
    assert found.codes.shape == (2, 5)
    for row in range(2):
        codes = list(found.codes[row])
        assert len(set(codes)) == 5
        assert all(is_hs_subheading(code) for code in codes)
        assert list(found.confidence[row]) == sorted(found.confidence[row], reverse=True)
        assert 0 < found.confidence[row].sum() <= 1.0 + 1e-9
    assert found.codes[0, 0] == "851830"


def test_probabilities_are_a_distribution(model: HSClassifier) -> None:
    dist = next(model.distributions(["ceramic coffee mug", "zzzz"]))
    assert np.allclose(dist.heading.sum(axis=1), 1.0)
    assert np.allclose(model.chapter_probabilities(dist.heading).sum(axis=1), 1.0)


def test_confidence_is_calibrated_on_the_product_set(model: HSClassifier) -> None:
    labelled = read_labelled_csv(DESCRIPTIONS)
    found = model.suggest(labelled.descriptions)
    right = np.array(
        [c[:4] == t[:4] for c, t in zip(found.codes[:, 0], labelled.codes, strict=True)]
    )
    confidence = found.heading_confidence[:, 0]
    # Expected calibration error over five confidence bins.
    bins = np.minimum((confidence * 5).astype(int), 4)
    error = sum(
        abs(right[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
        for b in range(5)
        if (bins == b).any()
    )
    assert error < 0.15


def test_unknown_words_give_low_confidence_not_a_crash(model: HSClassifier) -> None:
    found = model.suggest(["", "qqqq zzzz", "🙂"])
    assert found.codes.shape == (3, 5)
    assert (found.heading_confidence[:, 0] < 0.05).all()


def test_negated_nomenclature_words_are_dropped() -> None:
    cleaned = clean_nomenclature("Dresses; women's or girls', of cotton (not knitted or crocheted)")
    assert "knitted" not in cleaned
    assert "cotton" in cleaned


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_terms_never_fail_and_are_lowercase_words(text: str) -> None:
    for term in terms(text):
        assert term
        assert term == term.lower()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=5))
def test_suggest_accepts_any_text(texts: list[str]) -> None:
    found = builtin_classifier().suggest(texts, k=3)
    assert found.codes.shape == (len(texts), 3)
    assert all(is_hs_subheading(str(c)) for c in found.codes.ravel())


# -- misclassification ------------------------------------------------------


def test_a_declared_code_contradicted_by_its_description_is_flagged(model: HSClassifier) -> None:
    checks = check_classification(
        model,
        ["wireless earbuds bluetooth 5.3", "wireless earbuds bluetooth 5.3", "gift", "parts"],
        ["950300", "851830", "950300", None],
    )
    wrong, right, vague, missing = checks
    assert wrong.flagged
    assert wrong.score >= FLAG_SCORE
    assert wrong.suggested_hs == "851830"
    assert wrong.suggested_confidence > 0.5
    assert wrong.declared_heading_rank > 1
    assert not right.flagged
    assert right.score == 0.0
    assert right.declared_heading_rank == 1
    assert right.declared_subheading_rank == 1
    # A vague description cannot accuse its declared code.
    assert not vague.flagged
    assert missing.score == 0.0
    assert missing.declared_hs == ""
    assert len(missing.suggestions) == 5


def test_pipeline_stores_the_signal_and_show_prints_it(engine: Engine, tmp_path: Path) -> None:
    doc = f.declaration(
        items=[
            f.item(description="wireless earbuds bluetooth 5.3", hs_code="950300"),
            f.item(description="plush teddy bear stuffed toy", hs_code="950300", sku="SKU-2"),
        ]
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    ingest_files(engine, [path], stages=Stages(classification=ClassificationOptions()))
    _, report = declaration_report(engine, doc["declaration_id"])
    earbuds, bear = report["classification"]
    assert earbuds["item_line"] == 0
    assert earbuds["flagged"] is True
    assert earbuds["suggested_hs"] == "851830"
    assert earbuds["suggestions"][0]["hs"] == "851830"
    assert bear["flagged"] is False
    assert bear["suggested_hs"] == "950300"


def test_show_prints_suggestions_and_the_flag(tmp_path: Path, sqlite_url: str) -> None:
    doc = f.declaration(items=[f.item(description="wireless earbuds", hs_code="950300")])
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    assert clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url).returncode == 0
    shown = clearway("show", doc["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert "HS suggestions: 851830" in shown.stdout
    assert "declared 950300 looks misclassified" in shown.stdout


# -- training, evaluation, persistence --------------------------------------


def test_fit_returns_self_and_learns_state_in_underscored_attributes() -> None:
    model = HSClassifier(random_state=3)
    assert model.fit([], []) is model
    assert model.temperature_heading_ > 0
    assert model.n_history_ == 0


def test_fit_refuses_a_code_outside_the_nomenclature() -> None:
    with pytest.raises(InputError, match=r"row 1: hs must be an HS 2022 heading"):
        HSClassifier().fit(["a", "b"], ["851830", "999999"])


def test_training_on_history_teaches_new_vocabulary(model: HSClassifier) -> None:
    texts, codes = zip(*GERMAN, strict=True)
    trained = HSClassifier().fit(list(texts), list(codes))
    unseen = ["Kopfhörer Bluetooth", "Kleid Baumwolle Damen", "Spielzeug Holz", "Armbanduhr"]
    truth = ["8518", "6204", "9503", "9102"]
    before = [c[:4] for c in model.suggest(unseen).codes[:, 0]]
    after = [c[:4] for c in trained.suggest(unseen).codes[:, 0]]
    assert after == truth
    assert before != truth
    assert trained.n_history_ == len(GERMAN)


def test_saved_model_loads_with_identical_suggestions(tmp_path: Path) -> None:
    texts, codes = zip(*GERMAN, strict=True)
    trained = HSClassifier().fit(list(texts), list(codes))
    path = tmp_path / "model.npz"
    trained.save(path)
    loaded = HSClassifier.load(path)
    probe = ["Kopfhörer", "wireless earbuds", "cotton dress"]
    assert (loaded.suggest(probe).codes == trained.suggest(probe).codes).all()
    assert np.allclose(loaded.suggest(probe).confidence, trained.suggest(probe).confidence)
    assert loaded.metadata()["n_history"] == len(GERMAN)


def test_load_refuses_another_format_version_and_foreign_files(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    builtin_classifier().save(path)
    with np.load(path) as stored:
        arrays = dict(stored)
    meta = orjson.loads(str(arrays["metadata"]))
    meta["format_version"] = 99
    arrays["metadata"] = np.array(orjson.dumps(meta).decode())
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    with pytest.raises(ConfigurationError, match="format version 99"):
        HSClassifier.load(old)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigurationError, match="not a clearway classifier file"):
        HSClassifier.load(junk)


def test_a_format_1_model_file_suggests_as_before(tmp_path: Path) -> None:
    """A model trained before issue 18 (format 1: no example texts or
    sources, no precedent or evidence parameters) keeps serving unchanged."""
    texts, codes = zip(*GERMAN, strict=True)
    trained = HSClassifier().fit(list(texts), list(codes))
    path = tmp_path / "model.npz"
    trained.save(path)
    with np.load(path) as stored:
        arrays = {k: v for k, v in stored.items() if k not in ("example_texts", "example_sources")}
    meta = orjson.loads(str(arrays["metadata"]))
    meta["format_version"] = 1
    for name in ("precedent_weight", "evidence_floor"):
        del meta["params"][name]
    arrays["metadata"] = np.array(orjson.dumps(meta).decode())
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    loaded = HSClassifier.load(old)
    probe = ["Kopfhörer", "wireless earbuds", "cotton dress"]
    assert (loaded.suggest(probe).codes == trained.suggest(probe).codes).all()
    assert np.array_equal(loaded.suggest(probe).confidence, trained.suggest(probe).confidence)
    assert loaded.evidence(["Kopfhörer"]) == [{"examples": [], "precedents": []}]
    assert trained.evidence(["Kopfhörer"])[0]["examples"][0]["source"] == "history"


def test_labelled_csv_keeps_good_rows_and_names_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("description,hs\nearbuds,851830\n,950300\ntoy,95x\nwig,6704\n")
    labelled = read_labelled_csv(path)
    assert labelled.descriptions == ["earbuds", "wig"]
    assert labelled.codes == ["851830", "6704"]
    assert [p.field for p in labelled.problems] == ["line 3: description", "line 4: hs"]
    assert "Got '95x'" in labelled.problems[1].message
    header = tmp_path / "h.csv"
    header.write_text("text,code\nx,1\n")
    with pytest.raises(InputError, match="Missing: description, hs"):
        read_labelled_csv(header)


def test_evaluate_reports_levels_and_skips_subheading_for_four_digit_labels(
    model: HSClassifier,
) -> None:
    six = evaluate(model, ["wireless earbuds", "teddy bear"], ["851830", "950300"])
    assert six["n"] == 2
    assert six["heading"] == {"top1": 1.0, "top5": 1.0}
    assert "subheading" in six
    four = evaluate(model, ["wireless earbuds", "teddy bear"], ["8518", "9504"])
    assert "subheading" not in four
    assert four["heading"]["top1"] == 0.5
    assert four["per_second"] > 0


def test_cli_classify_train_and_evaluate(tmp_path: Path, sqlite_url: str) -> None:
    shown = clearway("classify", "wireless earbuds bluetooth 5.3", cwd=tmp_path, url=sqlite_url)
    assert shown.returncode == 0, shown.stderr
    assert "851830" in shown.stdout
    history = tmp_path / "history.csv"
    history.write_text(
        "description,hs\n" + "".join(f'"{t}",{c}\n' for t, c in GERMAN) + "bad row,12x\n"
    )
    trained = clearway("classifier", "train", str(history), cwd=tmp_path, url=sqlite_url)
    assert trained.returncode == 0, trained.stderr
    summary = orjson.loads(trained.stdout.strip().splitlines()[-1])
    assert summary["rows"] == len(GERMAN)
    assert summary["skipped"] == 1
    assert summary["after"]["heading"]["top1"] >= summary["before"]["heading"]["top1"]
    assert (tmp_path / "clearway-classifier.npz").is_file()
    german = clearway("classify", "Kopfhörer Bluetooth", "--json", cwd=tmp_path, url=sqlite_url)
    assert orjson.loads(german.stdout)[0]["suggestions"][0]["heading"] == "8518"
    labelled = tmp_path / "eval.csv"
    labelled.write_text("description,hs\nwireless earbuds,851830\nteddy bear toy,9503\n")
    done = clearway("classifier", "evaluate", str(labelled), cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) == {"n", "chapter", "heading", "coverage", "per_second"}
    assert [p["coverage"] for p in result["coverage"]] == [0.5, 0.5, 1.0, 1.0]
    assert result["n"] == 2
    assert result["chapter"]["top1"] == 1.0


def test_signal_finds_simulated_misclassifications(tmp_path: Path, model: HSClassifier) -> None:
    import csv

    from clearway.classification.misclassification import check_houses
    from clearway.declarations.batch import prepare_batch
    from clearway.declarations.intake import IntakeLimits, read_records
    from clearway.simulate import SimulationConfig, write_simulation

    out, truth_file = tmp_path / "t.jsonl", tmp_path / "t.csv"
    write_simulation(SimulationConfig(days=1, per_day=2000, seed=5), out, truth_file)
    with truth_file.open() as stream:
        truth = {
            r["declaration_id"]: "misclassification" in r["violations"]
            for r in csv.DictReader(stream)
        }
    houses = prepare_batch(list(read_records([out], IntakeLimits()))).houses
    flagged = [any(c.flagged for c in checks) for checks in check_houses(model, houses)]
    actual = [truth[h.ref] for h in houses]
    hits = sum(f and a for f, a in zip(flagged, actual, strict=True))
    assert sum(actual) >= 20
    assert hits / sum(actual) >= 0.8  # recall
    assert hits / sum(flagged) >= 0.35  # precision, against a ~3% base rate


def test_cached_builtin_model_suggests_what_a_fresh_fit_suggests(tmp_path: Path) -> None:
    from clearway.classification.loading import cached_builtin

    texts = ["TWS bluetooth earbuds ENC", "women's cotton summer dress", "tpu phone case", "x"]
    fresh = HSClassifier().fit([], [])
    first = cached_builtin(tmp_path)  # fits and writes the cache file
    (file,) = tmp_path.glob("builtin-hs-*.npz")
    second = cached_builtin(tmp_path)  # read from the file
    expected = fresh.suggest(texts, k=5)
    for model in (first, second):
        found = model.suggest(texts, k=5)
        assert found.codes.tolist() == expected.codes.tolist()
        np.testing.assert_allclose(found.confidence, expected.confidence, rtol=1e-6)
        np.testing.assert_allclose(found.heading_confidence, expected.heading_confidence, rtol=1e-6)
    # A damaged file is refitted and replaced, not fatal.
    file.write_bytes(b"not a model")
    again = cached_builtin(tmp_path)
    assert again.suggest(texts, k=5).codes.tolist() == expected.codes.tolist()
    assert file.read_bytes()[:2] == b"PK"
