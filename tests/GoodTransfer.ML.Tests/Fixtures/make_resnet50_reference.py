#!/usr/bin/env python3
"""Full-size ResNet-50 ground truth for GoodTransfer.ML (not committed: ~230 MB).

    /usr/bin/python3 tests/GoodTransfer.ML.Tests/Fixtures/make_resnet50_reference.py OUTDIR

Writes into OUTDIR:
    resnet50_moco.pth        MoCo v2 layout: {'epoch': 200, 'arch': 'resnet50',
                             'state_dict': {module.encoder_q.* (torchvision resnet50, MLP head
                             fc.0 2048->2048, fc.2 2048->128), module.encoder_k.* (a different
                             random resnet50 with the same head), module.queue [128, 4096],
                             module.queue_ptr [1] long}, 'optimizer': SGD state dict}
                             The optimizer has never stepped (no momentum buffers), so the
                             file stays near 230 MB instead of 340 MB.
    inputs.u8                uint8 [2, 3, 224, 224], the same images as the fixtures' inputs.u8
    resnet50.layer4.f32      encoder_q features: pooled layer4 output, float32 [2, 2048],
                             input b / 255 normalised with the ImageNet mean/std
    resnet50.layer{1,2,3}.f32   the other stages, same convention ([2, 256/512/1024])
and prints one JSON line with the paths. Deterministic (fixed seeds, one thread).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402

from fixturelib import (INPUT_SEED, LAYERS, f32_bytes, make_images, randomize_batchnorm,  # noqa: E402
                        stage_features, to_float_input)


def encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    m = torchvision.models.resnet50()          # torchvision's own random init
    randomize_batchnorm(m, torch.Generator().manual_seed(seed + 1))
    m.fc = nn.Sequential(nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 128))
    return m.eval()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()

    enc_q, enc_k = encoder(50), encoder(51)
    g = torch.Generator().manual_seed(52)
    queue = torch.randn(128, 4096, generator=g)
    queue = queue / queue.norm(dim=0, keepdim=True)
    state_dict = {}
    for name, m in (("encoder_q", enc_q), ("encoder_k", enc_k)):
        for k, v in m.state_dict().items():
            state_dict[f"module.{name}.{k}"] = v
    state_dict["module.queue"] = queue
    state_dict["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
    optimizer = torch.optim.SGD(enc_q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    ckpt = {"epoch": 200, "arch": "resnet50", "state_dict": state_dict,
            "optimizer": optimizer.state_dict()}
    ckpt_path = out / "resnet50_moco.pth"
    torch.save(ckpt, ckpt_path)

    u8 = make_images(INPUT_SEED)
    (out / "inputs.u8").write_bytes(np.ascontiguousarray(u8).tobytes())
    feats = stage_features(enc_q, to_float_input(u8))
    refs = {}
    for layer in LAYERS:
        t = feats[layer]
        assert torch.isfinite(t).all() and ((t[0] - t[1]).norm() / t.norm()) > 0.01
        p = out / f"resnet50.{layer}.f32"
        p.write_bytes(f32_bytes(t))
        refs[layer] = str(p)

    print(json.dumps({
        "checkpoint": str(ckpt_path), "inputs": str(out / "inputs.u8"),
        "input_shape": [2, 3, 224, 224], "reference": refs["layer4"],
        "reference_shape": [2, 2048], "references": refs,
        "prefix": "module.encoder_q.", "state_dict_key": "state_dict",
        "kept_keys": sum(1 for k in enc_q.state_dict()
                         if not k.startswith("fc.") and not k.endswith("num_batches_tracked")),
        "checkpoint_bytes": ckpt_path.stat().st_size,
        "seconds": round(time.perf_counter() - t0, 2),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
    }))


if __name__ == "__main__":
    main()
