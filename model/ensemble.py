"""Several trained checkpoints as one network: their probabilities averaged.

    python -m model ensemble runs/family-lite0-64.pt runs/family-net2017.pt --out runs/family-ens.pt

The members must share a split, a species list and the input normalisation; one trained on a
smaller input reads the image resized to its size (the ensemble takes the largest). The result
is an ordinary checkpoint that ``evaluate``, ``predict``, ``export`` and the bot load like any
other. Members trained without a species head (``--species-weight 0``) vote on types only. The
second-type threshold is tuned again on the validation part, as training does.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from model import checkpoint, net
from model.dataset import load_split
from model.evaluate import predict_indices
from model.metrics import scores, tune_threshold

log = logging.getLogger(__name__)
SAME = ("split", "holdout_style", "max_species")  # what members' training must share


def member_entries(paths: list[Path], infos: list[dict], type_weights: list[float]) -> list:
    """Each member's entry (``net.build``'s), refusing members that cannot be averaged: other
    class lists, normalisation, split, or an ensemble."""
    first = infos[0]
    members = []
    for path, info, type_weight in zip(paths, infos, type_weights, strict=True):
        config = info["meta"]["config"]
        for key in ("species", "mean", "std"):
            if info[key] != first[key]:
                raise ValueError(f"{path}: its {key} differs from {paths[0]}'s")
        for key in SAME:
            if config[key] != first["meta"]["config"][key]:
                raise ValueError(f"{path}: trained with another {key} than {paths[0]}")
        if info["arch"] == "ensemble":
            raise ValueError(f"{path} is an ensemble already: name its members instead")
        has_species = config.get("species_weight", 1) > 0
        members.append({"arch": info["arch"], "type_weight": float(type_weight),
                        "species_weight": 1.0 if has_species else 0.0,
                        "input_size": info["input_size"]})  # fmt: skip
    return members


def combine(
    paths: list[Path],
    out: str | os.PathLike,
    dataset_dir: Path,
    type_weights: list[float] | None = None,
) -> dict:
    """``type_weights``: each member's share of the type vote (default: equal shares)."""
    type_weights = type_weights or [1.0] * len(paths)
    if len(type_weights) != len(paths) or min(type_weights) < 0 or not sum(type_weights):
        raise ValueError("give one type weight per checkpoint, none negative")
    loaded = [checkpoint.load(path) for path in paths]
    first = loaded[0][1]
    members = member_entries(paths, [info for _, info in loaded], type_weights)
    if not any(m["species_weight"] for m in members):
        raise ValueError("no member has a species head (all trained with --species-weight 0)")
    input_size = max(m["input_size"] for m in members)
    model = net.Ensemble(
        [trained for trained, _ in loaded],
        [m["type_weight"] for m in members],
        [m["species_weight"] for m in members],
        [m["input_size"] for m in members],
    ).eval()

    config = first["meta"]["config"]
    limit = checkpoint.species_limit(config)
    data = load_split(dataset_dir, config["split"], config["holdout_style"], limit)
    val = data.parts["val"]
    type_p, species_p = predict_indices(model, data, val, input_size, flip=False)
    threshold = tune_threshold(type_p, data.labels.types[val])
    val_scores = scores(type_p, species_p, data.labels, val, first["species"], threshold)
    val_scores = val_scores["per_species"]
    log.info(
        "validation, per species: primary %.3f, any type %.3f, species %.3f",
        val_scores["primary_top1"], val_scores["any_type_top1"], val_scores["species_top1"],
    )  # fmt: skip
    meta = {
        "config": config,  # the shared split, for evaluate
        "members": [
            {"path": str(path), "arch": info["arch"], "meta": info["meta"]}
            for path, (_, info) in zip(paths, loaded, strict=True)
        ],
        "validation_per_species": val_scores,
        "seconds": sum(info["meta"].get("seconds", 0) for _, info in loaded),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    checkpoint.save(
        out, model, arch="ensemble", input_size=input_size, species=first["species"],
        mean=first["mean"], std=first["std"], meta=meta, threshold=threshold, members=members,
    )  # fmt: skip
    log.info("ensemble of %d saved to %s (threshold %.2f)", len(paths), out, threshold)
    return meta
