"""Training: one loop, read top to bottom.

    python -m model train --split family-holdout --out runs/family.pt
    python -m model train --split all --out model/weights/neuralmon.pt

Loss per image: cross-entropy of the type logits against the primary type (so the arg-max names
the primary type), plus binary cross-entropy against both types (so each type's probability is
meaningful on its own), both weighted against type imbalance; plus, for the species head,
cross-entropy with label smoothing. The best epoch on the validation part is kept. Optional:
``--mixup`` blends pairs of images and their labels; ``--ema`` keeps a running average of the
weights instead of the last ones (validated and saved in their place); ``--family-share`` gives
part of each species target to its relatives; ``--init`` starts from a checkpoint of the same
split instead of ImageNet's weights (one more learning-rate cycle: a warm restart).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from model import checkpoint, net, pokedex
from model.dataset import (
    POST_SHARE,
    TRAIN_NOISE_CELL,
    Labels,
    SplitData,
    augment,
    epoch_order,
    load_split,
    training_pool,
)
from model.evaluate import predict_indices
from model.metrics import score_images, score_species, tune_threshold
from model.preprocess import MEAN, STD

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    split: str = "family-holdout"
    out: Path = Path("runs/model.pt")
    dataset_dir: Path = Path("dataset")
    arch: str = "lite0"
    pretrained: bool = True
    init: Path | None = None  # start from this checkpoint's weights (same arch and split)
    input_size: int = 64
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    backbone_lr: float = 5e-4  # pretrained features move more slowly than the new heads
    weight_decay: float = 0.05
    species_weight: float = 0.5
    label_smoothing: float = 0.1
    family_share: float = 0.0  # of each species target, spread over its trained relatives
    patience: int = 4
    balance: str = "files"  # what epochs draw evenly: "files" or "species" (then styles)
    repeat_single: int = 1  # with balance "files": epochs see single-image styles this often
    post_share: float = POST_SHARE  # of training images framed like a post on a busy background
    empty_share: float = 0.0  # of training images shown without their subject, species unsure
    noise_cell: tuple[float, float] = TRAIN_NOISE_CELL  # the grain of noise backgrounds, pixels
    mixup: float = 0.0  # Beta(a, a) for blending pairs of images; 0: none
    ema: float = 0.0  # decay of a running average of the weights, kept instead of them; 0: none
    time_budget: float | None = None  # minutes
    holdout_style: str | None = None
    max_species: int | None = None
    seed: int = 0
    device: str = "auto"
    workers: int | None = None  # processes preparing batches; None: 0 on CPU, up to 8 with CUDA
    progress: bool = True


def class_weights(data: SplitData, train: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(weights for the primary-type cross-entropy, positive weights for the binary one).

    Square-root inverse frequency: rare types count more, without letting a handful of Flying
    primaries dominate.
    """
    primary_counts = np.bincount(data.labels.primary[train], minlength=len(pokedex.TYPES))
    ce = 1 / np.sqrt(np.maximum(primary_counts, 1))
    ce = ce / (ce * primary_counts).sum() * primary_counts.sum()
    positives = data.labels.types[train].sum(0)
    pos = np.sqrt((len(train) - positives) / np.maximum(positives, 1))
    return torch.tensor(ce, dtype=torch.float32), torch.tensor(pos, dtype=torch.float32)


def species_targets(labels: Labels, train: np.ndarray, family_share: float) -> torch.Tensor:
    """float32 [1025, 1025]: row ``num - 1`` is the species-head target of species ``num``.

    ``1 - family_share`` on the species itself, ``family_share`` spread evenly over the species
    of its evolution family seen in training (itself included), so that the head learns to
    point at relatives rather than to push them apart, in the hope that an unseen species
    points at its family (on the species hold-out it did not: model/REPORT.md).
    """
    n = pokedex.LAST_NUMBER
    targets = torch.eye(n)
    seen = np.unique(np.stack([labels.num[train], labels.family[train]], 1), axis=0)
    for family in np.unique(seen[:, 1]):
        members = torch.as_tensor(seen[seen[:, 1] == family, 0] - 1)
        for num in members:
            targets[num] *= 1 - family_share
            targets[num, members] += family_share / len(members)
    return targets


class InitError(ValueError):
    """``--init`` names a checkpoint this run cannot start from."""


def initial_state(cfg: TrainConfig, species_list: list[int]) -> dict:
    """The weights of ``cfg.init``, refused unless trained on the same split: one trained on
    another split has seen this split's validation or test images."""
    try:
        start, info = checkpoint.load(cfg.init)
    except (OSError, ValueError) as e:  # missing, unreadable or of another format
        raise InitError(str(e)) from e
    trained = info["meta"]["config"]
    differ = [
        f"{key} {trained[key]}, not {getattr(cfg, key)}"
        for key in ("arch", "split", "max_species")
        if trained[key] != getattr(cfg, key)
    ] + (["another species list"] if info["species"] != species_list else [])
    if cfg.holdout_style and checkpoint.trained_on_style(info["meta"], cfg.holdout_style):
        differ.append(f"{cfg.holdout_style} in training, which this run holds out")
    if differ:
        raise InitError(f"{cfg.init} was trained with " + ", ".join(differ))
    return start.state_dict()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def default_workers(device: torch.device) -> int:
    """On a CPU the network needs every core; a GPU waits on the CPU's augmentation unless
    worker processes prepare the next batches."""
    return 0 if device.type == "cpu" else max(1, min(8, (os.cpu_count() or 2) - 1))


class TrainingBatches(torch.utils.data.Dataset):
    """One epoch's batches, augmented. Batch ``step`` draws from a generator seeded by
    (seed, epoch, step), so a seed gives the same batches however many workers prepare them."""

    def __init__(
        self,
        images: np.ndarray,
        order: np.ndarray,
        batch_size: int,
        size: int,
        seed: int,
        epoch: int,
        post_share: float,
        empty_share: float = 0.0,
        noise_cell: tuple[float, float] = TRAIN_NOISE_CELL,
    ):
        self.images, self.order, self.batch_size, self.size = images, order, batch_size, size
        self.seed, self.epoch, self.post_share = seed, epoch, post_share
        self.empty_share, self.noise_cell = empty_share, noise_cell

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image indices, augmented images, which of them show no subject)."""
        idx = np.sort(self.order[step * self.batch_size : (step + 1) * self.batch_size])
        state = np.random.SeedSequence([self.seed, self.epoch, step]).generate_state(2)
        g = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        empty = torch.zeros(len(idx), dtype=torch.bool)
        if self.empty_share:  # drawn only when asked, so that earlier runs' batches stay the same
            empty = torch.rand(len(idx), generator=g) < self.empty_share
        x = augment(self.images[idx], self.size, g, self.post_share, empty, self.noise_cell)
        return torch.from_numpy(idx), x, empty


def mixup(x: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Blend every image with another one of the batch (mixup, Zhang et al. 2018).

    Returns the blended batch, each image's partner and the weight of the image itself, at
    least 0.5 so that its primary type stays the stronger one.
    """
    share = torch.distributions.Beta(alpha, alpha).sample().item()
    share = max(share, 1 - share)
    partner = torch.randperm(len(x))
    return share * x + (1 - share) * x[partner], partner, share


def validation_score(split: str, metrics: dict, species_head: bool = True) -> float:
    """What early stopping watches: types on unseen species, or species on held-out files
    (types there too for a network trained without a species head)."""
    if split == "all" and species_head:
        return metrics["species_top1"]
    return metrics["primary_top1"] + metrics["any_type_top1"]


def train(cfg: TrainConfig) -> dict:
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = pick_device(cfg.device)
    workers = default_workers(device) if cfg.workers is None else cfg.workers
    data = load_split(cfg.dataset_dir, cfg.split, cfg.holdout_style, cfg.max_species)
    train_idx, val_idx = data.parts["train"], data.parts["val"]
    pool = (
        train_idx
        if cfg.balance == "species"
        else training_pool(data.labels, train_idx, cfg.repeat_single)
    )
    log.info(
        "split %s: %d train (%d per epoch) / %d val / %d test images; %s on %s, %d batch workers",
        cfg.split, len(train_idx), len(pool), len(val_idx), len(data.parts["test"]), cfg.arch,
        device, workers,
    )  # fmt: skip

    species_list = [s.num for s in pokedex.load()]
    model = net.build(cfg.arch, len(species_list), cfg.input_size)
    pretrained_backbone = cfg.pretrained and cfg.arch in net.PRETRAINED
    if cfg.init:
        model.load_state_dict(initial_state(cfg, species_list))
    elif pretrained_backbone:
        net.load_pretrained(model, cfg.arch)
    model.to(device).to(memory_format=torch.channels_last)
    head_params = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    backbone_lr = cfg.backbone_lr if pretrained_backbone else cfg.lr
    optimizer = torch.optim.AdamW(
        [
            {"params": model.backbone.parameters(), "lr": backbone_lr},
            {"params": head_params, "lr": cfg.lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    steps_per_epoch = math.ceil(len(pool) / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[backbone_lr, cfg.lr],
        total_steps=total_steps,
        pct_start=min(0.5, max(0.1, 2 / total_steps)),  # short runs: warm up for 2 steps at least
    )
    ce_weight, pos_weight = (w.to(device) for w in class_weights(data, train_idx))
    labels = data.labels
    species_target = torch.as_tensor(labels.num - 1)  # species list is 1..1025 in order
    soft_targets = (
        species_targets(labels, train_idx, cfg.family_share).to(device)
        if cfg.family_share
        else None
    )

    def subject_loss(
        type_logits: torch.Tensor, species_logits: torch.Tensor, idx: np.ndarray
    ) -> torch.Tensor:
        types = torch.as_tensor(labels.types[idx], device=device)
        primary = torch.as_tensor(labels.primary[idx], device=device)
        loss = F.cross_entropy(type_logits, primary, weight=ce_weight)
        loss = loss + F.binary_cross_entropy_with_logits(type_logits, types, pos_weight=pos_weight)
        if cfg.species_weight:
            target = species_target[idx].to(device)
            loss = loss + cfg.species_weight * F.cross_entropy(
                species_logits,
                soft_targets[target] if soft_targets is not None else target,
                label_smoothing=cfg.label_smoothing,
            )
        return loss

    def batch_loss(
        type_logits: torch.Tensor, species_logits: torch.Tensor, idx: np.ndarray, empty: np.ndarray
    ) -> torch.Tensor:
        """The subjects' loss and, for images without a subject (``--empty-share``), only the
        species head's, against the uniform distribution: there is nothing to name. Each part
        weighs as its share of the batch."""
        if not empty.any():
            return subject_loss(type_logits, species_logits, idx)
        mask = torch.as_tensor(empty, device=device)
        unsure = -F.log_softmax(species_logits[mask], 1).mean(1).mean() * cfg.species_weight
        if empty.all():
            return unsure
        loss = subject_loss(type_logits[~mask], species_logits[~mask], idx[~empty])
        return (loss * (~empty).sum() + unsure * empty.sum()) / len(empty)

    # A running average of the weights sits in a flatter region than the weights of any one
    # step, which tends to carry better to what training never saw (SWAD, Cha et al. 2021).
    averaged = (
        AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        if cfg.ema
        else None
    )
    kept = averaged.module if averaged else model

    def validate(network: torch.nn.Module) -> tuple[dict, dict, float]:
        """(per-image metrics, per-species metrics, the score early stopping watches)."""
        type_p, species_p = predict_indices(
            network, data, val_idx, cfg.input_size, flip=False, device=device
        )
        metrics = score_images(type_p, species_p, labels, val_idx, species_list)
        per_species = score_species(type_p, species_p, labels, val_idx, species_list)
        return metrics, per_species, validation_score(cfg.split, metrics, cfg.species_weight > 0)

    best = {"score": -1.0}
    history = []
    budget_s = cfg.time_budget * 60 if cfg.time_budget else math.inf
    stop_reason = "epochs done"
    seen = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        batches = torch.utils.data.DataLoader(
            TrainingBatches(
                data.images,
                epoch_order(labels, train_idx, rng, cfg.balance, cfg.repeat_single),
                cfg.batch_size,
                cfg.input_size,
                cfg.seed,
                epoch,
                cfg.post_share,
                cfg.empty_share,
                cfg.noise_cell,
            ),
            batch_size=None,  # the dataset yields whole batches
            num_workers=workers,
            pin_memory=device.type == "cuda",
        )
        bar = tqdm(batches, desc=f"epoch {epoch}", disable=not cfg.progress, leave=False)
        total = 0.0
        for step, (idx, x, empty) in enumerate(bar):
            idx, empty = idx.numpy(), empty.numpy()
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            if cfg.mixup:
                x, partner, share = mixup(x, cfg.mixup)
                logits = model(x)
                partner = partner.numpy()
                loss = share * batch_loss(*logits, idx, empty)
                loss = loss + (1 - share) * batch_loss(*logits, idx[partner], empty[partner])
            else:
                loss = batch_loss(*model(x), idx, empty)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if averaged:
                averaged.update_parameters(model)
            total += loss.item()
            seen += len(idx)
            bar.set_postfix(loss=f"{total / (step + 1):.3f}")
            if time.perf_counter() - started > budget_s:
                stop_reason = "time budget"
                break

        metrics, per_species, score = validate(kept)
        elapsed = time.perf_counter() - started
        history.append(
            {"epoch": epoch, "loss": total / (step + 1), "seconds": round(elapsed)}
            | {k: round(v, 4) for k, v in metrics.items()}
            # the reports' aggregation, to see whether it peaks where the per-image score does
            | {"per_species": {k: round(v, 4) for k, v in per_species.items()}}
            # with --ema, how the last weights themselves score: what the average changed
            | ({"unaveraged_score": round(validate(model)[2], 4)} if averaged else {})
        )
        log.info(
            "epoch %d: loss %.3f | val primary %.3f any %.3f species %.3f"
            " | per species %.3f / %.3f / %.3f | %.0f s",
            epoch, total / (step + 1), metrics["primary_top1"], metrics["any_type_top1"],
            metrics["species_top1"], per_species["primary_top1"], per_species["any_type_top1"],
            per_species["species_top1"], elapsed,
        )  # fmt: skip
        if score > best["score"]:
            state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
            best = {"score": score, "epoch": epoch, "state": state}
        elif epoch - best["epoch"] >= cfg.patience:
            stop_reason = f"no validation gain for {cfg.patience} epochs"
            break
        if stop_reason == "time budget":
            break

    seconds = time.perf_counter() - started
    model.load_state_dict(best["state"])
    type_p, _ = predict_indices(model, data, val_idx, cfg.input_size, flip=False, device=device)
    threshold = tune_threshold(type_p, labels.types[val_idx])
    meta = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "best_epoch": best["epoch"],
        "stop_reason": stop_reason,
        "history": history,
        "train_images": len(train_idx),
        "images_seen": seen,
        "seconds": round(seconds, 1),
        "images_per_second": round(seen / seconds, 1),
        "device": str(device),
        "torch": str(torch.__version__),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": data_manifest_summary(cfg.dataset_dir),
    }
    checkpoint.save(
        cfg.out,
        model,
        arch=cfg.arch,
        input_size=cfg.input_size,
        species=species_list,
        mean=MEAN,
        std=STD,
        meta=meta,
        threshold=threshold,
    )
    log.info(
        "best epoch %d (%s); %.1f min, %.0f images/s; saved %s",
        best["epoch"], stop_reason, seconds / 60, seen / seconds, cfg.out,
    )  # fmt: skip
    return meta


def data_manifest_summary(dataset_dir: Path) -> dict:
    import json

    manifest = json.loads((Path(dataset_dir) / "manifest.json").read_text("utf-8"))
    keys = ("created", "size", "count", "species", "sources", "styles")
    return {k: manifest.get(k) for k in keys}
