#!/usr/bin/env python3
"""Writes a plain full-size torchvision ResNet-50 state dict for the conversion benchmark.

    /usr/bin/python3 bench/pytorch/make_resnet50_checkpoint.py OUT.pth

Root layout, torch.save defaults (zip, fc and num_batches_tracked included), ~98 MiB.
Random weights (torchvision's init, fixed seed) with non-trivial BatchNorm statistics:
running_mean +-0.5, running_var 0.5..2, weight 0.5..1.5, bias +-0.3.
"""
import sys

import torch
import torchvision


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.manual_seed(50)
    model = torchvision.models.resnet50()
    gen = torch.Generator().manual_seed(51)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))
                m.bias.copy_(0.6 * torch.rand(n, generator=gen) - 0.3)
    torch.save(model.state_dict(), sys.argv[1])
    print(sys.argv[1])


if __name__ == "__main__":
    main()
