"""Metrics of GUIDE §2, as plain functions of probability arrays (tested by hand-computed cases).

Types: ``type_p`` [N, 18] probabilities, ``true_types`` [N, 18] multi-hot, ``primary`` [N]
indices. Species: ``species_p`` [N, S] probabilities over ``species_list`` (national numbers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model import pokedex

if TYPE_CHECKING:
    from model.dataset import Labels

DEFAULT_THRESHOLD = 0.5


def predicted_type_sets(type_p: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """bool [N, 18]: the most likely type always; the runner-up too when its p >= threshold."""
    order = np.argsort(-type_p, axis=1)
    sets = np.zeros_like(type_p, dtype=bool)
    rows = np.arange(len(type_p))
    sets[rows, order[:, 0]] = True
    second = type_p[rows, order[:, 1]] >= threshold
    sets[rows[second], order[second, 1]] = True
    return sets


def type_metrics(
    type_p: np.ndarray,
    true_types: np.ndarray,
    primary: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, float]:
    rows = np.arange(len(type_p))
    best = type_p.argmax(1)
    top3 = np.argsort(-type_p, axis=1)[:, :3]
    exact = (predicted_type_sets(type_p, threshold) == true_types.astype(bool)).all(1)
    recalls = [np.mean(best[primary == t] == t) for t in np.unique(primary)]
    return {
        "primary_top1": float(np.mean(best == primary)),
        "any_type_top1": float(np.mean(true_types[rows, best] > 0)),
        "primary_top3": float(np.mean((top3 == primary[:, None]).any(1))),
        "exact_type_set": float(np.mean(exact)),
        "macro_recall": float(np.mean(recalls)),
    }


def species_metrics(
    species_p: np.ndarray, true_num: np.ndarray, species_list: list[int]
) -> dict[str, float]:
    classes = np.asarray(species_list)
    top5 = classes[np.argsort(-species_p, axis=1)[:, :5]]
    return {
        "species_top1": float(np.mean(top5[:, 0] == true_num)),
        "species_top5": float(np.mean((top5 == true_num[:, None]).any(1))),
    }


def naming(
    species_p: np.ndarray, true_num: np.ndarray, species_list: list[int], bar: float
) -> dict[str, float | int]:
    """How often a species would be named (its top probability at least ``bar``), and how often
    the named species is the right one."""
    named = species_p.max(1) >= bar
    right = np.asarray(species_list)[species_p.argmax(1)] == true_num
    return {
        "images": len(species_p),
        "bar": bar,
        "named": float(named.mean()),
        "right": float(right[named].mean()) if named.any() else float("nan"),
    }


NAMING_BARS = tuple(np.round(np.arange(0.3, 0.96, 0.05), 2).tolist())


def naming_curve(species_p: np.ndarray, true_num: np.ndarray, species_list: list[int]) -> list:
    """At each of ``NAMING_BARS``: (bar, share of images named, share named wrongly), the
    figures a naming bar is chosen from."""
    top, best = species_p.max(1), np.asarray(species_list)[species_p.argmax(1)]
    return [
        (bar, float((top >= bar).mean()), float(((top >= bar) & (best != true_num)).mean()))
        for bar in NAMING_BARS
    ]


def confusion(type_p: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """[18, 18] counts: row = true primary type, column = arg-max type."""
    n = len(pokedex.TYPES)
    return np.bincount(primary * n + type_p.argmax(1), minlength=n * n).reshape(n, n)


def per_type_precision_recall(matrix: np.ndarray) -> dict[str, dict[str, float | int]]:
    """Per type, from a confusion matrix: precision and recall of the primary type."""
    out = {}
    for i, name in enumerate(pokedex.TYPES):
        predicted, actual = matrix[:, i].sum(), matrix[i].sum()
        out[name] = {
            "precision": float(matrix[i, i] / predicted) if predicted else float("nan"),
            "recall": float(matrix[i, i] / actual) if actual else float("nan"),
            "support": int(actual),
        }
    return out


def group_mean(keys: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Average rows that share a key (e.g. all images of a species): (unique keys, means...)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)[:, None]
    means = []
    for arr in arrays:
        sums = np.zeros((len(unique), arr.shape[1]), np.float64)
        np.add.at(sums, inverse, arr)
        means.append((sums / counts).astype(np.float32))
    return unique, *means


def scores(
    type_p: np.ndarray,
    species_p: np.ndarray,
    labels: Labels,
    indices: np.ndarray,
    species_list: list[int],
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, dict[str, float]]:
    """Every metric of the images ``indices`` (rows of the probability arrays), "per_image",
    and "per_species": a species' images vote by averaging their probabilities."""
    per_image = type_metrics(
        type_p, labels.types[indices], labels.primary[indices], threshold
    ) | species_metrics(species_p, labels.num[indices], species_list)
    nums, type_mean, species_mean = group_mean(labels.num[indices], type_p, species_p)
    first = {n: i for i, n in zip(indices[::-1], labels.num[indices][::-1], strict=True)}
    rows = np.array([first[n] for n in nums])
    per_species = (
        type_metrics(type_mean, labels.types[rows], labels.primary[rows], threshold)
        | species_metrics(species_mean, nums, species_list)
        | {"species": len(nums)}
    )
    return {"per_species": per_species, "per_image": per_image}


def tune_threshold(type_p: np.ndarray, true_types: np.ndarray) -> float:
    """The second-type threshold that gets the most exact type sets (on validation data)."""
    candidates = np.round(np.arange(0.2, 0.95, 0.05), 2)
    scores = [
        (predicted_type_sets(type_p, t) == true_types.astype(bool)).all(1).mean()
        for t in candidates
    ]
    return float(candidates[int(np.argmax(scores))])
