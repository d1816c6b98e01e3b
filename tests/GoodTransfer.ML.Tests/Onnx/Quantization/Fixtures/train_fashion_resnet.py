#!/usr/bin/env python3
"""Trains the small ResNet behind the int8 quality tests: a backbone with real statistics.

    /usr/bin/python3 tests/GoodTransfer.ML.Tests/Onnx/Quantization/Fixtures/train_fashion_resnet.py [THREADS]

Every other fixture checkpoint has random weights. A random network's features barely change from
one image to the next, so any rounding swamps what does change, and a linear probe on them says
little about how int8 treats a trained backbone. This one is trained, briefly, to classify
Fashion-MNIST (Debian's dataset-fashion-mnist), and written as fashion_resnet.pth beside this script:
a torchvision ResNet (Bottleneck, layers [1, 1, 1, 1], stem 16, planes 8/16/32/64, so 32/64/128/256
channels per stage), root state dict with fc, torch.save's zip.

It trains on training images 40000..59999 only; the tests probe with training images 0..999 (and
calibrate on 2000..2031) and test images 0..1999, which it never sees. Images go through what the
featurizer does to a 28x28 image: gray replicated to RGB, Resize(256) (bilinear), CenterCrop(224),
ImageNet normalisation. One epoch, SGD with momentum and a one-cycle schedule, fixed seeds;
about 10 minutes on two cores (the thread count, default 2, is the one argument).
"""
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "Fixtures"))
from fixturelib import IMAGENET_MEAN, IMAGENET_STD, build_resnet  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")
FIRST, LAST = 40000, 60000
BATCH = 64


def read_idx(name: str, header: int) -> np.ndarray:
    with gzip.open(DATA / name, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8)[header:]


def preprocess(gray: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] -> normalised float [N, 3, 224, 224], as the featurizer sees the image."""
    x = gray.float().unsqueeze(1)
    x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
    x = x.round().clamp(0, 255)[:, :, 16:240, 16:240] / 255.0
    return (x.expand(-1, 3, -1, -1) - IMAGENET_MEAN) / IMAGENET_STD


def main() -> None:
    torch.manual_seed(7)
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    images = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)[FIRST:LAST].copy())
    labels = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz", 8)[FIRST:LAST].astype(np.int64))
    model = build_resnet("bottleneck", [1, 1, 1, 1], stem=16, planes=[8, 16, 32, 64], seed=606)
    # Train from torchvision's initialisation, not the fixtures' random BatchNorm statistics.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_parameters()
            m.reset_running_stats()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    order = torch.randperm(len(images))
    steps = len(order) // BATCH
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=steps)
    model.train()
    start = time.time()
    correct = seen = 0
    for step in range(steps):
        index = order[step * BATCH:(step + 1) * BATCH]
        logits = model(preprocess(images[index]))
        loss = F.cross_entropy(logits, labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        correct += (logits.argmax(1) == labels[index]).sum().item()
        seen += len(index)
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step}/{steps} loss {loss.item():.3f} running accuracy {correct / seen:.3f} {time.time() - start:.0f}s", flush=True)
            correct = seen = 0
    model.eval()
    torch.save(model.state_dict(), HERE / "fashion_resnet.pth")
    print(HERE / "fashion_resnet.pth")


if __name__ == "__main__":
    main()
