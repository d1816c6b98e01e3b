#!/usr/bin/env python3
"""PyTorch's features for the committed test images: the reference of the featurizer's parity test.

For every image in images/manifest.json, runs torchvision's eval pipeline exactly as the paper's
models were evaluated -- Image.open(f).convert('RGB'), Resize(256), CenterCrop(224), ToTensor(),
Normalize(ImageNet) -- through the query encoder of checkpoints/bottleneck_moco_v2.pth (a small
torchvision-named ResNet in MoCo v2's training layout), and writes the pooled layer4 features as
raw float32 to images/references/<name>.features.f32, listed in images/features.json.

Run from the repository root with Debian's PyTorch: /usr/bin/python3 tests/GoodTransfer.ML.Tests/Fixtures/make_feature_references.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixturelib  # noqa: E402  (the fixture generator's model definitions)

CHECKPOINT = "checkpoints/bottleneck_moco_v2.pth"
MODEL = "mini_bottleneck"


def load_query_encoder():
    manifest = json.load(open(os.path.join(HERE, "manifest.json")))
    spec = manifest["models"][MODEL]
    model = fixturelib.build_resnet(spec["block"], spec["layers"], spec["stem"], spec["planes"],
                                    groups=spec["groups"], width_per_group=spec["width_per_group"])
    checkpoint = torch.load(os.path.join(HERE, CHECKPOINT), map_location="cpu")
    prefix = "module.encoder_q."
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix) and not k[len(prefix):].startswith("fc.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("fc.") for k in missing), (missing, unexpected)
    return model.eval()


def features(model, x):
    """torchvision's ResNet forward without fc: the pooled output of layer4."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    x = model.layer4(model.layer3(model.layer2(model.layer1(x))))
    return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    images = json.load(open(os.path.join(HERE, "images", "manifest.json")))
    entries = images["images"] if isinstance(images, dict) else images
    model = load_query_encoder()
    transform = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    out = []
    os.makedirs(os.path.join(HERE, "images", "references"), exist_ok=True)
    with torch.no_grad():
        for entry in entries:
            name = entry["file"]
            image = Image.open(os.path.join(HERE, "images", name)).convert("RGB")
            f = features(model, transform(image).unsqueeze(0))[0].numpy().astype("<f4")
            stem = os.path.splitext(os.path.basename(name))[0]
            ref = f"images/references/{stem}.features.f32"
            f.tofile(os.path.join(HERE, ref))
            mode = Image.open(os.path.join(HERE, "images", name)).mode
            # ML.NET's MLImage premultiplies alpha and keeps 8 bits, so only these modes survive it exactly.
            out.append({"file": f"images/{name}", "reference": ref, "mode": mode,
                        "mlimage_exact": mode not in ("RGBA", "LA", "PA", "I", "I;16")})
    json.dump({"checkpoint": CHECKPOINT, "layer": "layer4", "images": out}, open(os.path.join(HERE, "images", "features.json"), "w"), indent=2)
    print(f"{len(out)} feature references written")


if __name__ == "__main__":
    main()
