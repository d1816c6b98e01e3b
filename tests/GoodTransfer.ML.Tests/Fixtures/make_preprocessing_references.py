#!/usr/bin/env python3
"""torchvision's crops and PyTorch's features under eval transforms other than ImageNet's default.

The parity references of a non-default ImagePreprocessing. For each transform in TRANSFORMS and each
image in IMAGES (committed test images, see images/manifest.json), runs

    Resize(resize) -> CenterCrop(crop) -> ToTensor() -> Normalize(mean, std)

on Image.open(f).convert('RGB') exactly as torchvision 0.14 does, and writes

    images/preprocessing/<transform>/<stem>.crop.up.gz   the uint8 [crop, crop, 3] HWC crop, each row
                                                         minus the row above (mod 256), gzipped, as
                                                         images/generate_images.py stores crops
    images/preprocessing/<transform>/<stem>.features.f32 the pooled layer4 features of the query encoder
                                                         of checkpoints/bottleneck_moco_v2.pth, raw float32

listed in images/preprocessing.json with each crop's SHA-256.

Run from the repository root with Debian's PyTorch:
/usr/bin/python3 tests/GoodTransfer.ML.Tests/Fixtures/make_preprocessing_references.py
"""
import gzip
import hashlib
import json
import os
import sys

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_feature_references  # noqa: E402  (the query encoder and its forward pass)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

TRANSFORMS = [
    # torchvision's eval transform of its newer ResNet-50 weights (ResNet50_Weights.IMAGENET1K_V2).
    {"name": "resize232_crop224_imagenet", "resize": 232, "crop": 224, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    # Another crop, and a mean and std unlike ImageNet's in every channel's value.
    {"name": "resize160_crop128_mean0.5_std0.25", "resize": 160, "crop": 128, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
]

# Landscape, portrait, very tall (its crop's top is a half that rounds to even under both transforms),
# tiny (an upscale from partial JPEG blocks) and the largest photo.
IMAGES = ["coffee_500x333.jpg", "chelsea_333x500.jpg", "astronaut_257x999.jpg", "astronaut_31x45.jpg", "rocket.jpg"]


def up_filter(crop: np.ndarray) -> np.ndarray:
    filtered = crop.copy()
    filtered[1:] = crop[1:] - crop[:-1]
    return filtered


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = make_feature_references.load_query_encoder()
    out = []
    with torch.no_grad():
        for spec in TRANSFORMS:
            resize_and_crop = transforms.Compose([transforms.Resize(spec["resize"]), transforms.CenterCrop(spec["crop"])])
            to_input = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=spec["mean"], std=spec["std"])])
            folder = f"preprocessing/{spec['name']}"
            os.makedirs(os.path.join(HERE, "images", folder), exist_ok=True)
            images = []
            for name in IMAGES:
                stem = os.path.splitext(name)[0]
                cropped = resize_and_crop(Image.open(os.path.join(HERE, "images", name)).convert("RGB"))
                crop = np.asarray(cropped)
                assert crop.shape == (spec["crop"], spec["crop"], 3), crop.shape
                crop_file = f"{folder}/{stem}.crop.up.gz"
                with open(os.path.join(HERE, "images", crop_file), "wb") as f:
                    f.write(gzip.compress(up_filter(crop).tobytes(), compresslevel=9, mtime=0))
                features = make_feature_references.features(model, to_input(cropped).unsqueeze(0))[0].numpy().astype("<f4")
                features_file = f"{folder}/{stem}.features.f32"
                features.tofile(os.path.join(HERE, "images", features_file))
                images.append({"file": name, "crop": crop_file, "crop_sha256": hashlib.sha256(crop.tobytes()).hexdigest(),
                               "features": features_file})
            out.append({**spec, "images": images})
    manifest = {
        "generator": "make_preprocessing_references.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "pillow": PIL.__version__,
        "checkpoint": make_feature_references.CHECKPOINT,
        "layer": "layer4",
        "transforms": out,
    }
    with open(os.path.join(HERE, "images", "preprocessing.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{sum(len(t['images']) for t in out)} crops and feature references written for {len(out)} transforms")


if __name__ == "__main__":
    main()
