"""Checkpoints: everything needed to predict, in one file loaded with ``weights_only=True``.

A dict of plain values and tensors: format version, architecture, input size, normalisation,
the class lists (types, species numbers), the second-type threshold, training metadata, and the
weights (stored as float16 to halve the file; computed in float32).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from model import net, pokedex
from model.runtime import WeightsError

FORMAT_VERSION = 1


def save(
    path: str | os.PathLike,
    model: net.TypeSpeciesNet | net.Ensemble,
    *,
    arch: str,
    input_size: int,
    species: list[int],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    meta: dict,
    threshold: float = 0.5,
    members: list[dict] | None = None,
) -> None:
    state = {
        k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype)
        for k, v in model.state_dict().items()
    }
    payload = {
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "input_size": input_size,
        "types": list(pokedex.TYPES),
        "species": list(species),
        "mean": list(mean),
        "std": list(std),
        "threshold": threshold,
        "members": members,  # an ensemble's members (net.build), else None
        "meta": meta,
        "state_dict": state,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> tuple[net.TypeSpeciesNet | net.Ensemble, dict]:
    """(model in eval mode on the CPU, the checkpoint's other fields)."""
    payload = _read(path)
    model = net.build(
        payload["arch"], len(payload["species"]), payload["input_size"], payload.get("members")
    )
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in payload.pop("state_dict").items()})  # fmt: skip
    model.eval()
    return model, payload


def load_info(path: str | os.PathLike) -> dict:
    """The checkpoint's fields without building its network (class lists, input size, ...)."""
    payload = _read(path)
    del payload["state_dict"]
    return payload


def _read(path: str | os.PathLike) -> dict:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch's message suggests weights_only=False: never here
        raise WeightsError(
            f"{path} is not a neuralmon checkpoint that loads safely (weights only, no code): "
            f"{type(exc).__name__}"
        ) from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise WeightsError(f"{path} is not a neuralmon checkpoint")
    if (version := payload["format_version"]) != FORMAT_VERSION:
        raise WeightsError(f"{path}: checkpoint format {version}, this reads {FORMAT_VERSION}")
    if payload.get("types") != list(pokedex.TYPES):
        raise WeightsError(f"{path}: the checkpoint's type list differs from this code's")
    return payload


# Hold-out checkpoints recorded no species limit before the protocols covered the whole
# Pokédex: they were trained and tested on species 1..649.
LEGACY_HOLDOUT_SPECIES = 649


def species_limit(config: dict) -> int | None:
    """The ``max_species`` a checkpoint's training ``config`` used (none: every species)."""
    if config.get("max_species") is None and config["split"] != "all":
        return LEGACY_HOLDOUT_SPECIES
    return config.get("max_species")


def trained_on_style(meta: dict, style: str) -> bool:
    """Whether a checkpoint's training (an ensemble's: any member's) saw images of ``style``,
    by the dataset summary it recorded: its styles, or for checkpoints recorded before the
    styles were, its sources (a style's sources are named after it: ``gen5-back``)."""
    if "members" in meta:
        return any(trained_on_style(member["meta"], style) for member in meta["members"])
    if meta["config"]["holdout_style"] == style:
        return False
    dataset = meta["dataset"]
    if dataset.get("styles"):
        return style in dataset["styles"]
    return any(source == style or source.startswith(f"{style}-") for source in dataset["sources"])
