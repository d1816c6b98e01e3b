#!/usr/bin/env python3
"""PyTorch baseline for GoodTransfer.ML's checkpoint -> ONNX conversion.

    /usr/bin/python3 bench/pytorch/baseline.py CHECKPOINT ONNX_OUT [--no-normalize] [--check]

Times the same job the C# converter does, the PyTorch way:
  load_s    torch.load(CHECKPOINT, map_location='cpu'), unwrapping ('state_dict' / 'model')
            and prefixes (module., module.encoder_q., encoder_q., encoder., backbone.),
            building torchvision.models.resnet50() with fc = Identity and load_state_dict
            (strict, fc.* dropped)
  export_s  torch.onnx.export of the featurizer, opset 17, dynamic batch axis
  total_s   both
  peak_rss_mb  peak resident set size of the process (resource.getrusage), which includes
            the ~rss_after_import_mb that importing torch/torchvision costs before any work.
By default the exported graph takes RGB in [0, 1] and applies the ImageNet normalisation
itself, as GoodTransfer.ML's ONNX does (input 'input' [N,3,224,224] -> 'features' [N,2048]);
--no-normalize exports the bare network. --check runs onnx.checker afterwards (not timed).
Prints one JSON line.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torchvision

PREFIXES = ("module.encoder_q.", "encoder_q.", "module.", "encoder.", "backbone.", "")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def backbone_state_dict(obj):
    sd = obj
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    for prefix in PREFIXES:
        if prefix + "conv1.weight" in sd:
            return {k[len(prefix):]: v for k, v in sd.items()
                    if k.startswith(prefix) and not k[len(prefix):].startswith("fc.")}
    raise SystemExit("no ResNet conv1.weight found in the checkpoint")


class Featurizer(nn.Module):
    def __init__(self, net, normalize=True):
        super().__init__()
        self.net = net
        self.normalize = normalize
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        if self.normalize:
            x = (x - self.mean) / self.std
        return self.net(x)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    ckpt, onnx_out = args
    normalize = "--no-normalize" not in sys.argv
    rss_import = peak_rss_mb()

    t0 = time.perf_counter()
    obj = torch.load(ckpt, map_location="cpu")
    t_file = time.perf_counter()
    sd = backbone_state_dict(obj)
    net = torchvision.models.resnet50()
    net.fc = nn.Identity()
    net.load_state_dict(sd, strict=True)
    net.eval()
    model = Featurizer(net, normalize).eval()
    del obj, sd
    t1 = time.perf_counter()

    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), onnx_out, opset_version=17,
                          input_names=["input"], output_names=["features"],
                          dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}},
                          do_constant_folding=True)
    t2 = time.perf_counter()

    result = {
        "load_s": round(t1 - t0, 3), "export_s": round(t2 - t1, 3), "total_s": round(t2 - t0, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "torch_load_s": round(t_file - t0, 3), "rss_after_import_mb": round(rss_import, 1),
        "normalize_in_graph": normalize, "opset": 17, "threads": torch.get_num_threads(),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
    }
    if "--check" in sys.argv:
        import onnx
        onnx.checker.check_model(onnx_out)
        result["onnx_checked"] = True
    print(json.dumps(result))


if __name__ == "__main__":
    main()
