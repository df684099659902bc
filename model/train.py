"""Training: one loop, read top to bottom.

    python -m model train --split family-holdout --out runs/family.pt
    python -m model train --config configs/shipped-3-species.toml     # a recipe (configs/)

Loss per image: cross-entropy of the type logits against the primary type (so the arg-max names
the primary type), plus binary cross-entropy against both types (so each type's probability is
meaningful on its own), both weighted against type imbalance; plus, for the species head,
cross-entropy with label smoothing. The best epoch on the validation part is kept. ``--ema``
keeps a running average of the weights instead of the last ones (validated and saved in their
place); ``--init`` starts from a checkpoint of the same split instead of ImageNet's weights
(one more learning-rate cycle: a warm restart).
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
    BALANCES,
    POST_SHARE,
    SPLITS,
    TRAIN_NOISE_CELL,
    SplitData,
    augment,
    epoch_order,
    load_split,
    training_pool,
)
from model.evaluate import predict_indices
from model.metrics import scores, tune_threshold
from model.options import option
from model.preprocess import MEAN, STD

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every option of ``python -m model train`` (its flags are derived from these fields)."""

    split: str = option("family-holdout", "which images train, validate, test", choices=SPLITS)
    out: Path | None = option(None, "the checkpoint to write")
    dataset_dir: Path | None = option(
        None, "dataset folder; none: <data dir>/dataset", flag="--dataset"
    )
    arch: str = option("lite0", "the network", choices=net.ARCHS)
    pretrained: bool = option(True, "start the backbone from ImageNet's weights")
    init: Path | None = option(None, "start from this checkpoint (same arch and split)")
    input_size: int = option(96, "the network's input side in pixels")
    epochs: int = option(10, "epochs of the one-cycle learning-rate schedule")
    batch_size: int = option(64, "images per step")
    lr: float = option(2e-3, "peak learning rate of the heads")
    backbone_lr: float = option(5e-4, "peak learning rate of a pretrained backbone")
    weight_decay: float = option(0.05, "AdamW's weight decay")
    species_weight: float = option(0.5, "the species loss's weight; 0: no species head")
    label_smoothing: float = option(0.1, "of the species targets")
    patience: int = option(4, "epochs without a validation gain before stopping")
    balance: str = option(
        "species", "what an epoch draws evenly (species: then styles)", choices=BALANCES
    )
    repeat_single: int = option(1, "with balance files: repeat images alone in their file")
    post_share: float = option(POST_SHARE, "of images, framed like a post on a busy background")
    noise_cell: tuple[float, float] = option(TRAIN_NOISE_CELL, "grain of noise backgrounds, px")
    ema: float = option(0.0, "decay of a running average of the weights kept instead; 0: off")
    time_budget: float | None = option(None, "minutes; then stop and keep the best epoch")
    holdout_style: str | None = option(None, "never train on this style; test on it")
    max_species: int = option(pokedex.LAST_NUMBER, "use species 1..N only")
    seed: int = option(0, "seeds the weights, the epochs' order and the augmentation")
    device: str = option("auto", "auto (CUDA when present), cpu or cuda")
    threads: int | None = option(None, "CPU threads for torch; none: torch's choice")
    workers: int | None = option(None, "processes preparing batches; none: 0 on CPU")
    progress: bool = option(True, "show a progress bar (the command line's --quiet)", flag=None)

    def __post_init__(self) -> None:
        if self.split not in SPLITS or self.balance not in BALANCES or self.arch not in net.ARCHS:
            raise ValueError(
                f"unknown split, balance or arch: {self.split} {self.balance} {self.arch}"
            )
        for name in ("post_share", "ema"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} {getattr(self, name):g} is not between 0 and 1")
        if not 0 < self.noise_cell[0] <= self.noise_cell[1]:
            raise ValueError("noise_cell wants 0 < MIN <= MAX")
        if self.balance == "species" and self.repeat_single != 1:
            raise ValueError("repeat_single is for balance files")


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
        for key in ("arch", "split")
        if trained[key] != getattr(cfg, key)
    ] + (["another species list"] if info["species"] != species_list else [])
    limit = checkpoint.species_limit(trained) or pokedex.LAST_NUMBER
    if limit != cfg.max_species:
        differ.append(f"species 1..{limit}, not 1..{cfg.max_species}")
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
        noise_cell: tuple[float, float] = TRAIN_NOISE_CELL,
    ):
        self.images, self.order, self.batch_size, self.size = images, order, batch_size, size
        self.seed, self.epoch, self.post_share, self.noise_cell = (
            seed,
            epoch,
            post_share,
            noise_cell,
        )

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(image indices, augmented images)."""
        idx = np.sort(self.order[step * self.batch_size : (step + 1) * self.batch_size])
        state = np.random.SeedSequence([self.seed, self.epoch, step]).generate_state(2)
        g = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        x = augment(self.images[idx], self.size, g, self.post_share, self.noise_cell)
        return torch.from_numpy(idx), x


class TypeSpeciesLoss:
    """The loss of a batch of training images, from their labels (see the module's text)."""

    def __init__(self, cfg: TrainConfig, data: SplitData, train: np.ndarray, device):
        self.labels, self.device = data.labels, device
        self.species_weight, self.label_smoothing = cfg.species_weight, cfg.label_smoothing
        self.ce_weight, self.pos_weight = (w.to(device) for w in class_weights(data, train))

    def __call__(
        self, type_logits: torch.Tensor, species_logits: torch.Tensor, idx: np.ndarray
    ) -> torch.Tensor:
        types = torch.as_tensor(self.labels.types[idx], device=self.device)
        primary = torch.as_tensor(self.labels.primary[idx], device=self.device)
        loss = F.cross_entropy(type_logits, primary, weight=self.ce_weight)
        loss = loss + F.binary_cross_entropy_with_logits(
            type_logits, types, pos_weight=self.pos_weight
        )
        if self.species_weight:
            species = torch.as_tensor(self.labels.num[idx] - 1, device=self.device)  # 1..1025
            loss = loss + self.species_weight * F.cross_entropy(
                species_logits, species, label_smoothing=self.label_smoothing
            )
        return loss


@dataclass
class Run:
    """What one training run holds: its data, network, optimiser and schedule."""

    cfg: TrainConfig
    device: torch.device
    workers: int
    data: SplitData
    species_list: list[int]
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    loss: TypeSpeciesLoss
    averaged: AveragedModel | None  # with --ema: the running average, validated and kept

    @property
    def kept(self) -> torch.nn.Module:
        return self.averaged.module if self.averaged else self.model


def set_up(cfg: TrainConfig) -> Run:
    """The data, the network (from ImageNet's weights or ``--init``) and its optimiser."""
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    workers = default_workers(device) if cfg.workers is None else cfg.workers
    data = load_split(cfg.dataset_dir, cfg.split, cfg.holdout_style, cfg.max_species)
    train_idx = data.parts["train"]
    pool = train_idx
    if cfg.balance == "files":
        pool = training_pool(data.labels, train_idx, cfg.repeat_single)
    log.info(
        "split %s: %d train (%d per epoch) / %d val / %d test images; %s on %s, %d batch workers",
        cfg.split, len(train_idx), len(pool), len(data.parts["val"]), len(data.parts["test"]),
        cfg.arch, device, workers,
    )  # fmt: skip
    species_list = [s.num for s in pokedex.load()]
    model = net.build(cfg.arch, len(species_list), cfg.input_size)
    pretrained_backbone = cfg.pretrained and cfg.arch in net.PRETRAINED
    if cfg.init:
        model.load_state_dict(initial_state(cfg, species_list))
    elif pretrained_backbone:
        net.load_pretrained(model, cfg.arch)
    model.to(device).to(memory_format=torch.channels_last)
    optimizer, schedule = one_cycle(model, cfg, pretrained_backbone, len(pool))
    # A running average of the weights sits in a flatter region than the weights of any one
    # step, which tends to carry better to what training never saw (SWAD, Cha et al. 2021).
    averaged = None
    if cfg.ema:
        averaged = AveragedModel(
            model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True
        )
    loss = TypeSpeciesLoss(cfg, data, train_idx, device)
    return Run(cfg, device, workers, data, species_list, model, optimizer, schedule, loss, averaged)


def one_cycle(
    model: torch.nn.Module, cfg: TrainConfig, pretrained_backbone: bool, images_per_epoch: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW, the pretrained backbone at its own lower rate, over one one-cycle schedule."""
    head_params = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    backbone_lr = cfg.backbone_lr if pretrained_backbone else cfg.lr
    optimizer = torch.optim.AdamW(
        [{"params": model.backbone.parameters(), "lr": backbone_lr},
         {"params": head_params, "lr": cfg.lr}],
        weight_decay=cfg.weight_decay,
    )  # fmt: skip
    total_steps = cfg.epochs * math.ceil(images_per_epoch / cfg.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[backbone_lr, cfg.lr],
        total_steps=total_steps,
        pct_start=min(0.5, max(0.1, 2 / total_steps)),  # short runs: warm up for 2 steps at least
    )
    return optimizer, schedule


def train_one_epoch(run: Run, epoch: int, rng: np.random.Generator, deadline: float):
    """(mean loss, images seen, whether the time budget ran out)."""
    cfg = run.cfg
    run.model.train()
    order = epoch_order(
        run.data.labels, run.data.parts["train"], rng, cfg.balance, cfg.repeat_single
    )
    batches = torch.utils.data.DataLoader(
        TrainingBatches(
            run.data.images,
            order,
            cfg.batch_size,
            cfg.input_size,
            cfg.seed,
            epoch,
            cfg.post_share,
            cfg.noise_cell,
        ),
        batch_size=None,  # the dataset yields whole batches
        num_workers=run.workers,
        pin_memory=run.device.type == "cuda",
    )
    bar = tqdm(batches, desc=f"epoch {epoch}", disable=not cfg.progress, leave=False)
    total, seen, steps = 0.0, 0, 0
    for idx, x in bar:
        x = x.to(run.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        loss = run.loss(*run.model(x), idx.numpy())
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.schedule.step()
        if run.averaged:
            run.averaged.update_parameters(run.model)
        total, seen, steps = total + loss.item(), seen + len(idx), steps + 1
        bar.set_postfix(loss=f"{total / steps:.3f}")
        if time.perf_counter() > deadline:
            return total / steps, seen, True
    return total / steps, seen, False


def validate(run: Run, network: torch.nn.Module) -> tuple[dict, dict, float]:
    """(per-image metrics, per-species metrics, the score early stopping watches)."""
    cfg, data, val = run.cfg, run.data, run.data.parts["val"]
    type_p, species_p = predict_indices(
        network, data, val, cfg.input_size, flip=False, device=run.device
    )
    both = scores(type_p, species_p, data.labels, val, run.species_list)
    metrics, per_species = both["per_image"], both["per_species"]
    return metrics, per_species, validation_score(cfg.split, metrics, cfg.species_weight > 0)


def validation_score(split: str, metrics: dict, species_head: bool = True) -> float:
    """What early stopping watches: types on unseen species, or species on held-out files
    (types there too for a network trained without a species head)."""
    if split == "all" and species_head:
        return metrics["species_top1"]
    return metrics["primary_top1"] + metrics["any_type_top1"]


def epoch_record(run: Run, epoch: int, loss: float, elapsed: float) -> tuple[dict, float]:
    """(the history's line for an epoch, its validation score), logged."""
    metrics, per_species, score = validate(run, run.kept)
    record = (
        {"epoch": epoch, "loss": loss, "seconds": round(elapsed)}
        | {k: round(v, 4) for k, v in metrics.items()}
        # the reports' aggregation, to see whether it peaks where the per-image score does
        | {"per_species": {k: round(v, 4) for k, v in per_species.items()}}
        # with --ema, how the last weights themselves score: what the average changed
        | ({"unaveraged_score": round(validate(run, run.model)[2], 4)} if run.averaged else {})
    )
    log.info(
        "epoch %d: loss %.3f | val primary %.3f any %.3f species %.3f"
        " | per species %.3f / %.3f / %.3f | %.0f s",
        epoch, loss, metrics["primary_top1"], metrics["any_type_top1"], metrics["species_top1"],
        per_species["primary_top1"], per_species["any_type_top1"], per_species["species_top1"],
        elapsed,
    )  # fmt: skip
    return record, score


def train(cfg: TrainConfig) -> dict:
    """Set up, train epoch by epoch keeping the best on validation, save. Returns the meta
    data saved with the checkpoint."""
    started = time.perf_counter()
    run = set_up(cfg)
    rng = np.random.default_rng(cfg.seed)
    deadline = started + (cfg.time_budget * 60 if cfg.time_budget else math.inf)
    best, history, seen, stop_reason = {"score": -1.0}, [], 0, "epochs done"
    for epoch in range(1, cfg.epochs + 1):
        loss, epoch_seen, out_of_time = train_one_epoch(run, epoch, rng, deadline)
        seen += epoch_seen
        record, score = epoch_record(run, epoch, loss, time.perf_counter() - started)
        history.append(record)
        if score > best["score"]:
            state = {k: v.detach().clone() for k, v in run.kept.state_dict().items()}
            best = {"score": score, "epoch": epoch, "state": state}
        elif epoch - best["epoch"] >= cfg.patience:
            stop_reason = f"no validation gain for {cfg.patience} epochs"
            break
        if out_of_time:
            stop_reason = "time budget"
            break
    run.model.load_state_dict(best["state"])
    seconds = time.perf_counter() - started
    meta = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "best_epoch": best["epoch"],
        "stop_reason": stop_reason,
        "history": history,
        "train_images": len(run.data.parts["train"]),
        "images_seen": seen,
        "seconds": round(seconds, 1),
        "images_per_second": round(seen / seconds, 1),
        "device": str(run.device),
        "torch": str(torch.__version__),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": data_manifest_summary(cfg.dataset_dir),
    }
    save(run, meta)
    log.info(
        "best epoch %d (%s); %.1f min, %.0f images/s; saved %s",
        best["epoch"], stop_reason, seconds / 60, seen / seconds, cfg.out,
    )  # fmt: skip
    return meta


def save(run: Run, meta: dict) -> None:
    """The best weights, with the second-type threshold tuned on the validation images."""
    cfg, val = run.cfg, run.data.parts["val"]
    type_p, _ = predict_indices(
        run.model, run.data, val, cfg.input_size, flip=False, device=run.device
    )
    threshold = tune_threshold(type_p, run.data.labels.types[val])
    checkpoint.save(
        cfg.out, run.model, arch=cfg.arch, input_size=cfg.input_size, species=run.species_list,
        mean=MEAN, std=STD, meta=meta, threshold=threshold,
    )  # fmt: skip


def data_manifest_summary(dataset_dir: Path) -> dict:
    import json

    manifest = json.loads((Path(dataset_dir) / "manifest.json").read_text("utf-8"))
    keys = ("created", "size", "count", "species", "sources", "styles")
    return {k: manifest.get(k) for k in keys}
