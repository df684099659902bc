"""Metric functions against cases computed by hand."""

import numpy as np
import pytest

from model import pokedex
from model.metrics import (
    confusion,
    group_mean,
    naming,
    naming_curve,
    per_type_precision_recall,
    predicted_type_sets,
    species_metrics,
    tune_threshold,
    type_metrics,
)

FIRE, WATER, GRASS, FLYING = (pokedex.TYPES.index(t) for t in ("Fire", "Water", "Grass", "Flying"))


def probs(*rows: dict[int, float]) -> np.ndarray:
    out = np.full((len(rows), 18), 0.01, np.float32)
    for i, row in enumerate(rows):
        for t, p in row.items():
            out[i, t] = p
    return out


def multi_hot(*rows: tuple[int, ...]) -> np.ndarray:
    out = np.zeros((len(rows), 18), np.float32)
    for i, row in enumerate(rows):
        out[i, list(row)] = 1
    return out


def test_type_metrics_hand_computed():
    # 1: Fire/Flying, predicted Fire then Flying (0.6)  -> primary ok, any ok, exact ok
    # 2: Water, predicted Grass (0.7) then Water (0.6)  -> primary no, any no, top3 ok, exact no
    # 3: Grass/Flying, predicted Flying (0.8) then Grass (0.3) -> primary no, any ok, exact no
    # 4: Water, predicted Water only                     -> everything ok
    p = probs({FIRE: 0.9, FLYING: 0.6}, {GRASS: 0.7, WATER: 0.6}, {FLYING: 0.8, GRASS: 0.3},
              {WATER: 0.95})  # fmt: skip
    true = multi_hot((FIRE, FLYING), (WATER,), (GRASS, FLYING), (WATER,))
    primary = np.array([FIRE, WATER, GRASS, WATER])
    m = type_metrics(p, true, primary, threshold=0.5)
    assert m["primary_top1"] == pytest.approx(2 / 4)
    assert m["any_type_top1"] == pytest.approx(3 / 4)
    assert m["primary_top3"] == pytest.approx(4 / 4)
    assert m["exact_type_set"] == pytest.approx(2 / 4)
    # recall per primary type: Fire 1/1, Water 1/2, Grass 0/1 -> mean 0.5
    assert m["macro_recall"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_type_sets_follow_the_threshold():
    p = probs({FIRE: 0.9, FLYING: 0.45})
    assert predicted_type_sets(p, 0.5)[0].nonzero()[0].tolist() == [FIRE]
    assert sorted(predicted_type_sets(p, 0.4)[0].nonzero()[0].tolist()) == [FIRE, FLYING]


def test_threshold_tuning_picks_the_one_that_gets_sets_right():
    p = probs({FIRE: 0.9, FLYING: 0.42}, {WATER: 0.9, GRASS: 0.3})
    true = multi_hot((FIRE, FLYING), (WATER,))
    assert 0.3 < tune_threshold(p, true) <= 0.42


def test_species_top1_and_top5():
    species_list = [1, 4, 7, 25, 133, 150]
    p = np.array([[0.1, 0.6, 0.1, 0.1, 0.05, 0.05],  # true 4: top-1
                  [0.5, 0.2, 0.1, 0.1, 0.06, 0.04],  # true 133: 5th
                  [0.5, 0.2, 0.1, 0.1, 0.06, 0.04]])  # true 150: 6th, missed  # fmt: skip
    m = species_metrics(p, np.array([4, 133, 150]), species_list)
    assert m["species_top1"] == pytest.approx(1 / 3)
    assert m["species_top5"] == pytest.approx(2 / 3)


def test_naming_counts_the_named_and_the_rightly_named():
    species_list = [1, 4, 7]
    p = np.array([[0.7, 0.2, 0.1],  # named 1, right
                  [0.65, 0.3, 0.05],  # named 1, wrong (true 4)
                  [0.5, 0.4, 0.1],  # under the bar
                  [0.1, 0.1, 0.8]])  # named 7, right  # fmt: skip
    m = naming(p, np.array([1, 4, 1, 7]), species_list, bar=0.6)
    assert m == {"images": 4, "bar": 0.6, "named": 0.75, "right": pytest.approx(2 / 3)}
    none = naming(p[2:3], np.array([1]), species_list, bar=0.6)
    assert none["named"] == 0 and np.isnan(none["right"])


def test_the_naming_curve_counts_named_and_wrongly_named_at_each_bar():
    species_list = [1, 4, 7]
    p = np.array([[0.7, 0.2, 0.1],  # right, named up to 0.7
                  [0.62, 0.3, 0.08],  # wrong (true 4), named up to 0.6
                  [0.1, 0.1, 0.8]])  # right, named up to 0.8  # fmt: skip
    curve = {bar: (named, wrong) for bar, named, wrong in
             naming_curve(p, np.array([1, 4, 7]), species_list)}  # fmt: skip
    assert curve[0.6] == pytest.approx((1.0, 1 / 3))
    assert curve[0.65] == pytest.approx((2 / 3, 0.0))
    assert curve[0.8] == pytest.approx((1 / 3, 0.0))
    assert curve[0.85] == (0.0, 0.0)
    assert min(curve) == 0.3 and max(curve) == 0.95


def test_group_mean_averages_rows_per_key():
    keys, means = group_mean(np.array([7, 3, 7]), np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]))
    assert keys.tolist() == [3, 7]
    np.testing.assert_allclose(means, [[0.5, 0.5], [0.5, 0.5]])


def test_confusion_and_per_type_precision_recall():
    p = probs({FIRE: 0.9}, {FIRE: 0.8}, {WATER: 0.7})
    matrix = confusion(p, np.array([FIRE, WATER, WATER]))
    assert matrix[FIRE, FIRE] == 1 and matrix[WATER, FIRE] == 1 and matrix[WATER, WATER] == 1
    assert matrix.sum() == 3
    table = per_type_precision_recall(matrix)
    assert table["Fire"] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert table["Water"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert np.isnan(table["Ice"]["precision"])
