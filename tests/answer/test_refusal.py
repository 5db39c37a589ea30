import logging

import pytest

from assistant.answer.refusal import (
    auc,
    calibrate,
    choose_threshold,
    load_policy,
    read_calibration,
    write_calibration,
)


def test_auc_counts_pairs_and_ties():
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1], [2]) == 0.0
    assert auc([1], [1]) == 0.5


def test_threshold_respects_the_false_refusal_budget():
    answerable = [0.5, 0.6, 0.7, 0.8, 0.9] * 4  # 20 answerable
    unanswerable = [0.1, 0.2, 0.55, 0.95]
    threshold, refused, false = choose_threshold(answerable, unanswerable, 0.0)
    assert 0.2 < threshold <= 0.5 and refused == 0.5 and false == 0.0
    # allowing one false refusal in 20 (5%) does not help here: 0.55 sits above four 0.5s
    threshold, refused, false = choose_threshold(answerable, unanswerable, 0.05)
    assert refused == 0.5 and false == 0.0
    # allowing four: refusing 0.55 would cost four good answers for one near miss
    threshold, refused, false = choose_threshold(answerable, unanswerable, 0.2)
    assert refused == 0.5 and false == 0.0 and 0.2 < threshold <= 0.5
    # it takes a refusal that gains more than it costs
    near = [0.1, 0.55, 0.56, 0.57, 0.58, 0.59]
    threshold, refused, false = choose_threshold(answerable, near, 0.2)
    assert refused == 1.0 and false == 0.2 and 0.59 < threshold <= 0.6


def test_calibrate_picks_the_separating_signal(tmp_path):
    rows = [(f"a{i}", True, _signals(good=0.5 + i / 100, bad=0.3)) for i in range(20)]
    rows += [(f"u{i}", False, _signals(good=0.1 + i / 100, bad=0.3)) for i in range(4)]
    calibration = calibrate(rows, 0.05, _meta())
    assert calibration.signal == "sentence_lift"
    assert calibration.refused_unanswerable == 1.0 and calibration.false_refusals == 0.0
    assert calibration.auc["sentence_lift"] == 1.0 and calibration.auc["chunk_bm25"] == 0.5
    path = tmp_path / "calibration.json"
    write_calibration(calibration, path)
    assert read_calibration(path) == calibration


def test_questions_the_answer_type_check_refuses_leave_the_threshold_to_the_rest():
    rows = [(f"a{i}", True, _signals(good=0.5 + i / 100, bad=0.3)) for i in range(20)]
    rows += [("u0", False, _signals(good=0.9, bad=0.3)), ("u1", False, _signals(0.1, 0.3))]
    rows += [("a-ruled", True, _signals(good=0.6, bad=0.3))]
    calibration = calibrate(rows, 0.05, _meta(), ruled=["u0", "a-ruled"])
    # u0 (high signal) is refused by the check, u1 by the threshold; the check's false
    # refusal (1 of 21) uses up the budget, so the threshold refuses no answerable one
    assert calibration.refused_unanswerable == 1.0
    assert calibration.false_refusals == round(1 / 21, 4)
    assert 0.1 < calibration.threshold <= 0.5
    assert calibration.rule_refused == ["a-ruled", "u0"]
    assert [r["rule_refused"] for r in calibration.per_question][-3:] == [True, False, True]


def test_calibration_needs_both_kinds():
    with pytest.raises(ValueError):
        calibrate([("a", True, _signals(0.5, 0.5))], 0.05, _meta())


def test_policy_loading(tmp_path, caplog):
    path = tmp_path / "calibration.json"
    rows = [("a", True, _signals(0.9, 0.1)), ("u", False, _signals(0.1, 0.1))]
    write_calibration(calibrate(rows, 0.0, _meta()), path)
    policy = load_policy(path, "emb", None)
    assert policy.active and policy.signal == "sentence_lift" and 0.1 < policy.threshold < 0.9
    assert load_policy(path, "emb", 0.42).threshold == 0.42
    with caplog.at_level(logging.WARNING):
        other = load_policy(path, "another-embedder", None)
    assert not other.active and "another-embedder" in caplog.text
    assert not load_policy(tmp_path / "missing.json", "emb", None).active


def test_a_calibration_naming_a_signal_no_longer_computed_is_ignored(tmp_path, caplog):
    path = tmp_path / "calibration.json"
    rows = [("a", True, _signals(0.9, 0.1)), ("u", False, _signals(0.1, 0.1))]
    calibration = calibrate(rows, 0.0, _meta()).model_copy(update={"signal": "retired"})
    write_calibration(calibration, path)
    with caplog.at_level(logging.WARNING):
        policy = load_policy(path, "emb", None)
    assert not policy.active and "retired" in caplog.text and "calibrate-refusal" in caplog.text


def _signals(good: float, bad: float) -> dict[str, float]:
    from assistant.answer.refusal import SIGNALS

    return {name: (good if name == "sentence_lift" else bad) for name in SIGNALS}


def _meta() -> dict:
    return {"embedder": "emb", "retrieval_mode": "hybrid", "answer_k": 8, "corpus_hash": "x"}
