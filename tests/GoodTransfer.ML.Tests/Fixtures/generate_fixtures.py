#!/usr/bin/env python3
"""Generates the PyTorch ground truth that GoodTransfer.ML's C# tests compare against.

    /usr/bin/python3 tests/GoodTransfer.ML.Tests/Fixtures/generate_fixtures.py

Writes, next to this script:
    inputs.u8                     uint8 [2, 3, 224, 224] NCHW test images
    references/*.f32              pooled layer1..layer4 features, little-endian float32 [2, C]
    checkpoints/*.pth             small ResNet checkpoints in every layout a reader meets
    manifest.json                 what each checkpoint is and what the reader must report
    hostile/*.pth, hostile/manifest.json   files a safe reader must refuse

Deterministic: fixed seeds, one intra-op thread, fixed zip timestamps, and the legacy
format's address-named storages renamed (see fixturelib.legacy_rekey). Needs PyTorch 1.13 /
torchvision 0.14 (Debian 12: python3-torch python3-torchvision) - other versions write other
bytes. Finishes by loading every checkpoint back and recomputing its references.
"""
from __future__ import annotations

import copy
import io
import json
import pickle
import os
import resource
import subprocess
import sys
import tarfile
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402

from fixturelib import (LAYERS, PickleAsm, ZipEntry, build_resnet, build_zip,  # noqa: E402
                        f32_bytes, handmade_state_dict, inner_widths,
                        legacy_rekey, legacy_storage_region, make_images, read_zip_entries,
                        rename_root, stage_features, stage_outputs, tensor_records,
                        to_float_input, zip_facts, IMAGENET_MEAN, IMAGENET_STD, INPUT_SEED)

CKPT_DIR = HERE / "checkpoints"
REF_DIR = HERE / "references"
HOSTILE_DIR = HERE / "hostile"

MODELS = OrderedDict(
    mini_bottleneck=dict(block="bottleneck", layers=[2, 1, 1, 1], stem=8, planes=[4, 8, 16, 32],
                         groups=1, width_per_group=64, seed=101),
    mini_basic=dict(block="basic", layers=[1, 2, 1, 1], stem=8, planes=[8, 16, 32, 64],
                    groups=1, width_per_group=64, seed=202),
    # torchvision: width = int(planes * width_per_group / 64) * groups. With planes 4..32 a
    # width_per_group of 4 would give width 0, so 32 is used: inner width = 2 * planes, the
    # same ratio as resnext50_32x4d, 4 groups of 2/4/8/16 channels.
    mini_resnext=dict(block="bottleneck", layers=[1, 1, 1, 1], stem=8, planes=[4, 8, 16, 32],
                      groups=4, width_per_group=32, seed=303),
    mini_wide=dict(block="bottleneck", layers=[1, 1, 1, 1], stem=8, planes=[4, 8, 16, 32],
                   groups=1, width_per_group=128, seed=404),
    # the tiny net behind the hostile corpus and its two positive controls
    micro_bottleneck=dict(block="bottleneck", layers=[1, 1, 1, 1], stem=2, planes=[1, 2, 4, 8],
                          groups=1, width_per_group=64, seed=505),
)


def model_of(name: str, seed: int | None = None):
    spec = dict(MODELS[name])
    s = spec.pop("seed")
    return build_resnet(**spec, seed=s if seed is None else seed)


def rel(p: Path) -> str:
    return p.relative_to(HERE).as_posix()


def is_kept(key: str) -> bool:
    return not key.endswith("num_batches_tracked") and not key.startswith("fc.")


def kept_count(model: nn.Module) -> int:
    return sum(1 for k in model.state_dict() if is_kept(k))


def cast_floats(sd, dtype):
    out = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v.clone())
                      for k, v in sd.items())
    out._metadata = sd._metadata
    return out


def torch_zip_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def torch_legacy_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    return legacy_rekey(buf.getvalue())


def save_legacy(obj, path: Path) -> None:
    path.write_bytes(torch_legacy_bytes(obj))


def sgd_after_one_step(model: nn.Module, params_of=lambda m: m.parameters(), seed: int = 7):
    """An SGD-with-momentum optimizer state after one real step, taken on a copy so the
    saved weights stay those of `model`."""
    work = copy.deepcopy(model)
    work.train()
    opt = torch.optim.SGD(params_of(work), lr=0.1, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, 64, 64, generator=g)
    opt.zero_grad()
    work(x).square().mean().backward()
    opt.step()
    return opt.state_dict()


class MoCo(nn.Module):
    """Only what MoCo v2's checkpoints contain: two encoders, the queue and its pointer."""

    def __init__(self, encoder_q, encoder_k, dim, k):
        super().__init__()
        self.encoder_q = encoder_q
        self.encoder_k = encoder_k
        g = torch.Generator().manual_seed(11)
        q = torch.randn(dim, k, generator=g)
        self.register_buffer("queue", q / q.norm(dim=0, keepdim=True))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    def forward(self, x):
        return self.encoder_q(x)


def with_mlp_head(model: nn.Module, out_dim: int, seed: int) -> nn.Module:
    m = copy.deepcopy(model)
    c = m.fc.in_features
    torch.manual_seed(seed)
    m.fc = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, out_dim))
    return m


class Wrap(nn.Module):
    def __init__(self, name, module):
        super().__init__()
        setattr(self, name, module)


# --------------------------------------------------------------------------------------
# Evil payload objects (pickled by torch.save itself)
# --------------------------------------------------------------------------------------

class SystemCall:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class EvalCall:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned')",))


class PopenCall:
    def __reduce__(self):
        return (subprocess.Popen, (["echo", "pwned"],))


class _ImportOs:
    def __reduce__(self):
        return (__import__, ("os",))


class _GetattrSystem:
    def __call__(self, *args):
        raise RuntimeError("placeholder")

    def __reduce__(self):
        return (getattr, (_ImportOs(), "system"))


class GetattrChain:
    def __reduce__(self):
        return (_GetattrSystem(), ("echo pwned",))


# --------------------------------------------------------------------------------------

class Generator:
    def __init__(self):
        self.models = OrderedDict((n, model_of(n)) for n in MODELS)
        self.u8 = make_images(INPUT_SEED)
        self.x = to_float_input(self.u8)
        self.checkpoints = []
        self.model_info = OrderedDict()
        self.refs = {}

    # ---- references --------------------------------------------------------------------
    def write_references(self, tag: str, model: nn.Module) -> dict:
        feats = stage_features(model, self.x)
        # torchvision's own forward with the head removed must agree with layer4
        head = model.fc
        model.fc = nn.Identity()
        with torch.no_grad():
            tv = model((self.x - IMAGENET_MEAN) / IMAGENET_STD)
        model.fc = head
        assert torch.equal(tv, feats["layer4"]), tag
        out = {}
        for layer, t in feats.items():
            assert t.dtype == torch.float32 and t.shape[0] == 2
            assert torch.isfinite(t).all()
            # not degenerate: the two images must give clearly different features
            rel_diff = ((t[0] - t[1]).norm() / t.norm()).item()
            assert rel_diff > 0.01, (tag, layer, rel_diff)
            p = REF_DIR / f"{tag}.{layer}.f32"
            p.write_bytes(f32_bytes(t))
            out[layer] = rel(p)
        self.refs[tag] = out
        return out

    def precision_hint(self, model: nn.Module) -> dict:
        m64 = copy.deepcopy(model).double()
        f64 = stage_features(m64, self.x.double())
        f32 = stage_features(model, self.x)
        return {k: float((f32[k].double() - f64[k]).abs().max()) for k in LAYERS}

    # ---- checkpoints -------------------------------------------------------------------
    def add(self, path: Path, model_name: str, container: str, description: str, ref_tag: str,
            kept_keys: int, ignored: list, *, wrapper=None, prefix="", dtype="float32", **extra):
        entry = OrderedDict(
            file=rel(path), model=model_name, container=container, description=description,
            references=self.refs[ref_tag], kept_keys=kept_keys, ignored_keys_include=ignored,
            state_dict_key=wrapper, prefix=prefix, stored_dtype=dtype)
        entry.update(extra)
        data = path.read_bytes()
        if container == "zip":
            facts = zip_facts(data)
            entry["zip"] = OrderedDict((k, facts[k]) for k in (
                "root", "entries", "data_descriptors", "aligned_64", "zip64_eocd_record",
                "zip64_extra_local", "zip64_extra_central", "byteorder", "version", "methods"))
        else:
            assert not zipfile.is_zipfile(io.BytesIO(data))
        self.checkpoints.append(entry)

    def generate_main(self):
        mb = self.models["mini_bottleneck"]
        sd = mb.state_dict()
        kept = kept_count(mb)
        for name, spec in MODELS.items():
            m = self.models[name]
            self.write_references(name, m)
            self.model_info[name] = OrderedDict(
                block=spec["block"], layers=spec["layers"], stem=spec["stem"],
                groups=spec["groups"], width_per_group=spec["width_per_group"],
                planes=spec["planes"],
                inner_widths=inner_widths(spec["block"], spec["planes"], spec["groups"],
                                          spec["width_per_group"]),
                stage_outputs=stage_outputs(spec["block"], spec["planes"]),
                num_classes=10, kept_keys=kept_count(m), references=self.refs[name],
                f32_vs_f64_max_abs_diff=self.precision_hint(m))

        fc_ign = ["fc.weight", "fc.bias"]

        # 1. root state dict, default zip
        p = CKPT_DIR / "bottleneck_root.pth"
        torch.save(sd, p)
        self.add(p, "mini_bottleneck", "zip", "root state dict, torch.save default zip, with fc "
                 "and every num_batches_tracked", "mini_bottleneck", kept, fc_ign)

        # 2. ImageNet-example training checkpoint
        dp = nn.DataParallel(copy.deepcopy(mb))  # CPU only: no replication, adds 'module.'
        assert next(iter(dp.state_dict())).startswith("module.")
        ck = {"epoch": 90, "arch": "resnet50", "state_dict": dp.state_dict(),
              "best_acc1": torch.tensor(76.1), "optimizer": sgd_after_one_step(dp)}
        p = CKPT_DIR / "bottleneck_imagenet_train.pth"
        torch.save(ck, p)
        self.add(p, "mini_bottleneck", "zip", "ImageNet-example layout: {'state_dict' with "
                 "'module.' prefix, epoch, arch, best_acc1 tensor, SGD momentum optimizer state}",
                 "mini_bottleneck", kept, ["module.fc.weight", "module.fc.bias"],
                 wrapper="state_dict", prefix="module.")

        # 3. {'model': sd}
        p = CKPT_DIR / "bottleneck_model_key.pth"
        torch.save({"model": sd, "epoch": 5}, p)
        self.add(p, "mini_bottleneck", "zip", "{'model': state dict, 'epoch': 5}",
                 "mini_bottleneck", kept, fc_ign, wrapper="model")

        # 4. MoCo v2
        enc_q = with_mlp_head(mb, 16, seed=21)
        enc_k = with_mlp_head(model_of("mini_bottleneck", seed=999), 16, seed=22)
        moco = MoCo(enc_q, enc_k, 16, 64)
        moco_dp = nn.DataParallel(moco)
        moco_opt = sgd_after_one_step(moco_dp, lambda m: m.module.encoder_q.parameters())
        moco_ck = {"epoch": 200, "arch": "resnet50", "state_dict": moco_dp.state_dict(),
                   "optimizer": moco_opt}
        moco_ign = ["module.encoder_q.fc.0.weight", "module.encoder_q.fc.2.bias",
                    "module.encoder_k.conv1.weight", "module.encoder_k.layer4.0.bn3.running_var",
                    "module.queue", "module.queue_ptr"]
        p = CKPT_DIR / "bottleneck_moco_v2.pth"
        torch.save(moco_ck, p)
        self.add(p, "mini_bottleneck", "zip", "MoCo v2 training checkpoint: module.encoder_q.* "
                 "(MLP head fc.0/fc.2) is the model; module.encoder_k.*, module.queue, "
                 "module.queue_ptr and the optimizer are ignored", "mini_bottleneck", kept,
                 moco_ign, wrapper="state_dict", prefix="module.encoder_q.")

        # 5. prefixes
        p = CKPT_DIR / "bottleneck_prefix_encoder_q.pth"
        torch.save(Wrap("encoder_q", copy.deepcopy(enc_q)).state_dict(), p)
        self.add(p, "mini_bottleneck", "zip", "root state dict, every key prefixed 'encoder_q.' "
                 "(a MoCo query encoder on its own, MLP head fc.0/fc.2)", "mini_bottleneck", kept,
                 ["encoder_q.fc.0.weight", "encoder_q.fc.2.weight"], prefix="encoder_q.")
        p = CKPT_DIR / "bottleneck_prefix_encoder.pth"
        torch.save(Wrap("encoder", copy.deepcopy(mb)).state_dict(), p)
        self.add(p, "mini_bottleneck", "zip", "root state dict, every key prefixed 'encoder.' "
                 "(fc included)", "mini_bottleneck", kept,
                 ["encoder.fc.weight", "encoder.fc.bias"], prefix="encoder.")
        headless = copy.deepcopy(mb)
        del headless.fc
        p = CKPT_DIR / "bottleneck_prefix_backbone.pth"
        torch.save(Wrap("backbone", headless).state_dict(), p)
        self.add(p, "mini_bottleneck", "zip", "root state dict, every key prefixed 'backbone.', "
                 "no fc at all", "mini_bottleneck", kept, [], prefix="backbone.")

        # 6. legacy format
        p = CKPT_DIR / "bottleneck_root_legacy.pth"
        save_legacy(sd, p)
        self.add(p, "mini_bottleneck", "legacy", "legacy (non-zip) torch.save of the root state "
                 "dict, _use_new_zipfile_serialization=False", "mini_bottleneck", kept, fc_ign)
        p = CKPT_DIR / "bottleneck_moco_v2_legacy.pth"
        save_legacy({k: v for k, v in moco_ck.items() if k != "optimizer"}, p)
        self.add(p, "mini_bottleneck", "legacy", "legacy (non-zip) MoCo v2 checkpoint: same "
                 "epoch/arch/state_dict as bottleneck_moco_v2.pth, optimizer left out to keep "
                 "the fixtures small", "mini_bottleneck", kept, moco_ign,
                 wrapper="state_dict", prefix="module.encoder_q.")

        base_entries = read_zip_entries((CKPT_DIR / "bottleneck_root.pth").read_bytes())

        # 7. different root folder, rewritten by Python's zipfile (seekable: no data
        #    descriptors, no alignment, no Zip64 records)
        p = CKPT_DIR / "bottleneck_root_folder_renamed.pth"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
            for e in rename_root(base_entries, "my_model"):
                z.writestr(zip_info(e.name), e.data)
        self.add(p, "mini_bottleneck", "zip", "bottleneck_root.pth rewritten by Python zipfile "
                 "with every entry under 'my_model/' (stored, unaligned, no data descriptors, "
                 "no Zip64 records)", "mini_bottleneck", kept, fc_ign)

        # 8a. data descriptors from a streaming writer
        p = CKPT_DIR / "bottleneck_root_data_descriptors.pth"
        p.write_bytes(stream_zip(base_entries, force_zip64=False))
        self.add(p, "mini_bottleneck", "zip", "rewritten by Python zipfile to a non-seekable "
                 "stream: flag bit 3, zero CRC/sizes in local headers, 16-byte data "
                 "descriptors, unaligned", "mini_bottleneck", kept, fc_ign)
        # 8b. streaming + force_zip64
        p = CKPT_DIR / "bottleneck_root_zip64_streamed.pth"
        p.write_bytes(stream_zip(base_entries, force_zip64=True))
        self.add(p, "mini_bottleneck", "zip", "Python zipfile, non-seekable stream, "
                 "force_zip64: Zip64 extra in every local header, 24-byte Zip64 data "
                 "descriptors, classic central directory and EOCD", "mini_bottleneck", kept,
                 fc_ign)
        # 8c. Zip64 everywhere
        p = CKPT_DIR / "bottleneck_root_zip64_full.pth"
        p.write_bytes(build_zip(base_entries, descriptors=False, zip64="full"))
        self.add(p, "mini_bottleneck", "zip", "Zip64 everywhere: 0xFFFFFFFF in every 32-bit "
                 "size/offset field with the values in Zip64 extras (local and central), "
                 "classic EOCD holds only 0xFFFF/0xFFFFFFFF markers, Zip64 EOCD record and "
                 "locator are authoritative; 64-byte aligned", "mini_bottleneck", kept, fc_ign)

        # 9. byteorder record, as newer torch versions write it
        entries = list(base_entries)
        root = entries[0].name.split("/")[0]
        entries.insert(1, ZipEntry(f"{root}/byteorder", b"little"))
        p = CKPT_DIR / "bottleneck_root_byteorder.pth"
        p.write_bytes(build_zip(entries, descriptors=True, zip64="eocd"))
        self.add(p, "mini_bottleneck", "zip", "torch-like layout (aligned, data descriptors, "
                 "Zip64 EOCD) plus a 'byteorder' entry containing 'little' after data.pkl, as "
                 "torch >= 2.0 writes", "mini_bottleneck", kept, fc_ign)

        # 10. dtypes
        gen64 = torch.Generator().manual_seed(64)
        for dtype, tag in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16"),
                           (torch.float64, "float64")):
            cast = cast_floats(sd, dtype)
            if dtype == torch.float64:
                # genuine doubles (not float32 values widened), so the double -> float
                # rounding is exercised; stays positive for running_var (relative 1e-3)
                for k, v in cast.items():
                    if v.is_floating_point():
                        cast[k] = v * (1 + 1e-3 * (2 * torch.rand(v.shape, generator=gen64,
                                                                   dtype=torch.float64) - 1))
            back = copy.deepcopy(mb)
            back.load_state_dict(OrderedDict((k, v.float() if v.is_floating_point() else v)
                                             for k, v in cast.items()))
            ref_tag = f"mini_bottleneck-{tag}"
            self.write_references(ref_tag, back)
            p = CKPT_DIR / f"bottleneck_{tag}.pth"
            torch.save(cast, p)
            recs = tensor_records(zipfile.ZipFile(p).read(f"bottleneck_{tag}/data.pkl"))
            assert recs["bn1.num_batches_tracked"]["dtype"] == "LongStorage"
            storage_type = {"float16": "HalfStorage", "bfloat16": "BFloat16Storage",
                            "float64": "DoubleStorage"}[tag]
            assert recs["conv1.weight"]["dtype"] == storage_type
            extra = {}
            if dtype == torch.float16:
                h = torch.cat([v.flatten() for v in cast.values()
                               if v.dtype == torch.float16]).float()
                extra["float16_subnormals"] = int(((h != 0) & (h.abs() < 2.0 ** -14)).sum())
            self.add(p, "mini_bottleneck", "zip", f"root state dict with every float tensor "
                     f"stored as {tag} (num_batches_tracked stays int64); reference computed "
                     f"from the stored values converted to float32", ref_tag, kept, fc_ign,
                     dtype=tag, **extra)

        # 11. channels-last
        cl = copy.deepcopy(mb).to(memory_format=torch.channels_last)
        p = CKPT_DIR / "bottleneck_channels_last.pth"
        torch.save(cl.state_dict(), p)
        recs = tensor_records(zipfile.ZipFile(p).read("bottleneck_channels_last/data.pkl"))
        strides = OrderedDict()
        for k, r in recs.items():
            if len(r["size"]) == 4:
                o, c, kh, kw = r["size"]
                assert r["stride"] == [c * kh * kw, 1, kw * c, c], (k, r)
                strides[k] = r["stride"]
        self.cl_strides = strides
        self.add(p, "mini_bottleneck", "zip", "model.to(memory_format=torch.channels_last) "
                 "state dict: every conv weight [O,C,kh,kw] stored with strides "
                 "[C*kh*kw, 1, kw*C, C] (NHWC order in the storage)", "mini_bottleneck", kept,
                 fc_ign, conv_strides_example={k: strides[k] for k in
                                               ("conv1.weight", "layer1.0.conv2.weight",
                                                "layer1.0.downsample.0.weight")})

        # 12. one shared storage with offsets (NaN padding between the tensors)
        p = CKPT_DIR / "bottleneck_shared_storage.pth"
        shared = share_one_storage(copy.deepcopy(mb))
        ssd = shared.state_dict()
        floats = [v for v in ssd.values() if v.is_floating_point()]
        ptrs = {v.storage().data_ptr() for v in floats}
        assert len(ptrs) == 1 and all(v.storage_offset() > 0 for v in floats)
        for k, v in ssd.items():
            assert torch.equal(v, sd[k]), k
        torch.save(ssd, p)
        recs = tensor_records(zipfile.ZipFile(p).read("bottleneck_shared_storage/data.pkl"))
        fkeys = {r["storage"] for r in recs.values() if r["dtype"] == "FloatStorage"}
        assert len(fkeys) == 1
        self.add(p, "mini_bottleneck", "zip", "every float parameter and buffer is a view into "
                 "ONE FloatStorage (numel %d) at its own storage_offset (first %d), with NaN "
                 "gaps between them" % (floats[0].storage().size(), floats[0].storage_offset()),
                 "mini_bottleneck", kept, fc_ign, float_storages=1,
                 storage_numel=floats[0].storage().size())

        # other architectures
        for name, fname in (("mini_basic", "basic_root.pth"), ("mini_resnext", "resnext_root.pth"),
                            ("mini_wide", "wide_root.pth"), ("micro_bottleneck", "micro_root.pth")):
            m = self.models[name]
            p = CKPT_DIR / fname
            torch.save(m.state_dict(), p)
            self.add(p, name, "zip", f"{name}: root state dict, torch.save default zip", name,
                     kept_count(m), fc_ign)

        # positive control for the hostile corpus: a data.pkl written opcode by opcode
        micro = self.models["micro_bottleneck"]
        p = CKPT_DIR / "micro_handwritten.pth"
        p.write_bytes(build_zip(handmade_micro(
            OrderedDict((k, v.clone()) for k, v in compact_state_dict(micro).items()))))
        self.add(p, "micro_bottleneck", "zip", "hand-assembled data.pkl under 'archive/' "
                 "(OrderedDict via REDUCE, memoized globals, no num_batches_tracked, every tensor "
                 "a view of storage '0' except %s in storage '1'): the baseline the hand-made "
                 "hostile files are derived from" % HOSTILE_TARGET, "micro_bottleneck",
                 kept_count(micro), fc_ign)

    # ---- verification ------------------------------------------------------------------
    def verify(self):
        for e in self.checkpoints:
            path = HERE / e["file"]
            obj = torch.load(path, map_location="cpu")
            sd = obj[e["state_dict_key"]] if e["state_dict_key"] else obj
            pre = e["prefix"]
            kept = OrderedDict()
            for k, v in sd.items():
                if k.startswith(pre) and is_kept(k[len(pre):]):
                    kept[k[len(pre):]] = v
            assert len(kept) == e["kept_keys"], (e["file"], len(kept))
            for k in e["ignored_keys_include"]:
                assert k in sd and not (k.startswith(pre) and is_kept(k[len(pre):])), (e["file"], k)
            fresh = model_of(e["model"], seed=12345)
            missing, unexpected = fresh.load_state_dict(
                OrderedDict((k, v.float()) for k, v in kept.items()), strict=False)
            assert not unexpected and all(m.startswith("fc.") or m.endswith("num_batches_tracked")
                                          for m in missing), (missing, unexpected)
            feats = stage_features(fresh, self.x)
            for layer in LAYERS:
                want = (HERE / e["references"][layer]).read_bytes()
                assert f32_bytes(feats[layer]) == want, (e["file"], layer)
        print(f"verified {len(self.checkpoints)} checkpoints: every reference recomputed "
              f"bit-exactly from the file", file=sys.stderr)


def zip_info(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    return zi


class _Sink:
    """Write-only, non-seekable: makes zipfile use data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def write(self, b):
        self.buf += b
        return len(b)

    def flush(self):
        pass


def stream_zip(entries, force_zip64: bool) -> bytes:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as z:
        for e in entries:
            with z.open(zip_info(e.name), "w", force_zip64=force_zip64) as f:
                f.write(e.data)
    return bytes(sink.buf)


def share_one_storage(model: nn.Module) -> nn.Module:
    """Rebinds every float parameter/buffer to a view of one flat tensor."""
    items = []
    for mod in model.modules():
        for n, prm in mod._parameters.items():
            if prm is not None and prm.is_floating_point():
                items.append((mod, "_parameters", n, prm))
        for n, buf in mod._buffers.items():
            if buf is not None and buf.is_floating_point():
                items.append((mod, "_buffers", n, buf))
    head, gap = 5, 3
    total = head + sum(t.numel() + gap for *_, t in items)
    flat = torch.full((total,), float("nan"))
    off = head
    for mod, kind, n, t in items:
        view = flat[off:off + t.numel()].view(t.shape)
        view.copy_(t.detach())
        if kind == "_parameters":
            mod._parameters[n] = nn.Parameter(view, requires_grad=t.requires_grad)
        else:
            mod._buffers[n] = view
        off += t.numel() + gap
    return model


# --------------------------------------------------------------------------------------
# Hostile corpus
# --------------------------------------------------------------------------------------

def make_tar_checkpoint() -> bytes:
    """The pre-0.4 tar layout: members sys_info, storages, tensors, pickle."""
    data = np.arange(6, dtype="<f4") / 10
    storages = bytearray(pickle_bytes(1))
    storages += PickleAsm(2).mark().int(0).str("cpu").glob("torch", "FloatStorage").tuple().stop()
    storages += (6).to_bytes(8, "little") + data.tobytes()
    storages += pickle_bytes([])
    tensors = bytearray(pickle_bytes(1))
    tensors += PickleAsm(2).mark().int(1).int(0).glob("torch", "FloatTensor").tuple().stop()
    tensors += np.array([2], "<i4").tobytes() + b"\0" * 4
    tensors += np.array([2, 3, 3, 1, 0], "<i8").tobytes()
    pkl = PickleAsm(2).raw(b"}").str("conv1.weight").str("1").raw(b"Qs").stop()
    sys_info = pickle_bytes({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, payload in (("sys_info", sys_info), ("storages", bytes(storages)),
                              ("tensors", bytes(tensors)), ("pickle", pkl)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(payload), 0, 0o644
            tar.addfile(ti, io.BytesIO(payload))
    return buf.getvalue()


def pickle_bytes(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


def replace_entry(entries, suffix, data=None, **kw):
    out = []
    for e in entries:
        if e.name.endswith("/" + suffix):
            if data is False:
                continue
            e = ZipEntry(e.name, e.data if data is None else data,
                         **{**dict(method=e.method), **kw})
        out.append(e)
    return out


def storage_index(sd, key):
    return str(list(sd).index(key))


HOSTILE_TARGET = "layer4.0.conv2.weight"   # the tensor the hand-made attacks tamper with


def compact_state_dict(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """Pre-0.4.1 style state dict: no num_batches_tracked, no _metadata, and every tensor a
    view of one shared storage - the smallest complete checkpoint torch.save can write."""
    m = share_one_storage(copy.deepcopy(model))
    return OrderedDict((k, v) for k, v in m.state_dict().items()
                       if not k.endswith("num_batches_tracked"))


def handmade_micro(msd, **kw) -> List[ZipEntry]:
    """The hand-made baseline (= checkpoints/micro_handwritten.pth) or a variant of it:
    everything in shared storage '0' except HOSTILE_TARGET, which owns storage '1'."""
    return handmade_state_dict(msd, own_storage=[HOSTILE_TARGET], **kw)


def generate_hostile(micro: nn.Module):
    full_sd = micro.state_dict()               # torchvision-style, with num_batches_tracked
    msd = compact_state_dict(micro)            # same values, compact
    msd_plain = OrderedDict((k, v.clone()) for k, v in msd.items())
    items = []

    def add(name, attacks, expect, message, data: bytes):
        (HOSTILE_DIR / name).write_bytes(data)
        items.append(OrderedDict(file=name, attacks=attacks, expect=expect,
                                 message_contains=message))

    def full(**kw):
        """the complete micro state dict, hand-made; the attack is the only defect"""
        return build_zip(handmade_micro(msd_plain, **kw))

    one_tensor = OrderedDict([("conv1.weight", msd_plain["conv1.weight"])])

    def tiny(emit=None, protocol=2, key="evil"):
        """a one-tensor hand-made state dict plus one extra item (the attack)"""
        extra = [(key, emit)] if emit else []
        return handmade_state_dict(one_tensor, extra_items=extra, protocol=protocol)

    # ---- forbidden globals ----
    add("global_posix_system.pth", "torch.save of {'state_dict': real torchvision-style sd, "
        "'evil': obj} whose __reduce__ is os.system('echo pwned') -> GLOBAL 'posix system' + "
        "REDUCE", "unsafe", "posix.system",
        torch_zip_bytes({"state_dict": full_sd, "evil": SystemCall()}))
    add("global_posix_system_legacy.pth", "same os.system payload beside a real state dict in "
        "the legacy (non-zip) format", "unsafe", "posix.system",
        torch_legacy_bytes({"state_dict": full_sd, "evil": SystemCall()}))
    add("global_builtin_eval.pth", "eval(\"__import__('os').system(...)\") beside a real state "
        "dict (torch.save); protocol 2 writes it as GLOBAL '__builtin__ eval'", "unsafe", ".eval",
        torch_zip_bytes({"state_dict": msd, "evil": EvalCall()}))
    add("global_commands_popen.pth", "subprocess.Popen(['echo','pwned']) beside a real state "
        "dict (torch.save); protocol 2 (fix_imports) writes it as GLOBAL 'commands Popen', "
        "which Python 3 maps back to subprocess", "unsafe", ".Popen",
        torch_zip_bytes({"state_dict": msd, "evil": PopenCall()}))
    add("global_builtin_getattr_chain.pth", "getattr(__import__('os'), 'system')('echo pwned') "
        "beside a real state dict (torch.save): first global '__builtin__ getattr'; the callable "
        "of the outer REDUCE is itself a REDUCE result", "unsafe", ".getattr",
        torch_zip_bytes({"state_dict": msd, "evil": GetattrChain()}))
    add("global_subprocess_popen.pth", "hand-made GLOBAL 'subprocess Popen' called on "
        "['echo','pwned']", "unsafe", "subprocess.Popen",
        build_zip(tiny(lambda p: p.glob("subprocess", "Popen").mark().mark().str("echo")
                       .str("pwned").raw(b"l").tuple().reduce())))

    def stack_global_chain(p):
        p.str("builtins").str("getattr").raw(b"\x93")
        p.str("builtins").str("__import__").raw(b"\x93").str("os").raw(b"\x85").reduce()
        p.str("system").raw(b"\x86").reduce()
        p.str("echo pwned").raw(b"\x85").reduce()
    add("stack_global_builtins_getattr.pth", "protocol-4 STACK_GLOBAL (module and name pushed "
        "as strings, no GLOBAL opcode): builtins.getattr(builtins.__import__('os'), 'system')",
        "unsafe", "builtins.getattr", build_zip(tiny(stack_global_chain, protocol=4)))
    add("inst_os_system.pth", "protocol-0 INST opcode 'i os\\nsystem\\n': instantiates a global "
        "without any GLOBAL/STACK_GLOBAL opcode", "unsafe", "os.system",
        build_zip(tiny(lambda p: p.mark().str("echo pwned").raw(b"ios\nsystem\n"))))
    add("global_torch_load.pth", "GLOBAL 'torch load' called on a path: a torch function that "
        "is not a tensor rebuilder", "unsafe", "torch.load",
        build_zip(tiny(lambda p: p.glob("torch", "load").str("/etc/passwd").raw(b"\x85").reduce())))
    nested = torch_legacy_bytes({"evil": SystemCall()})
    add("global_torch_storage_load_from_bytes.pth", "GLOBAL 'torch.storage _load_from_bytes' "
        "(what plain pickle.dumps of a storage uses) on BINBYTES holding a nested legacy "
        "checkpoint with os.system: a torch.load inside the pickle", "unsafe",
        "torch.storage._load_from_bytes",
        build_zip(tiny(lambda p: p.glob("torch.storage", "_load_from_bytes")
                       .raw(b"B" + len(nested).to_bytes(4, "little") + nested + b"\x85").reduce(),
                       protocol=3)))
    add("global_dotted_name.pth", "protocol-4 GLOBAL 'torch._utils "
        "_rebuild_tensor_v2.__globals__': Python resolves dotted names attribute by attribute, "
        "reaching module globals through an allowed-looking prefix", "unsafe", "__globals__",
        build_zip(tiny(lambda p: p.glob("torch._utils", "_rebuild_tensor_v2.__globals__"),
                       protocol=4)))

    def hook_target(mutate):
        def hook(k, spec):
            if k == HOSTILE_TARGET:
                mutate(spec)
            return spec
        return hook

    def set_(**kw):
        def f(spec):
            for a, v in kw.items():
                setattr(spec, a, v)
        return f
    add("persid_storage_type_posix_system.pth", f"the storage-type slot of {HOSTILE_TARGET}'s "
        "persistent id is GLOBAL 'posix system' instead of torch.FloatStorage (complete state "
        "dict otherwise)", "unsafe", "posix.system",
        full(spec_hook=hook_target(set_(storage_type="posix:system"))))
    add("whole_module.pth", "torch.save(model) of a whole torchvision ResNet (zip): "
        "torchvision.models.resnet.ResNet and torch.nn.modules.* globals", "unsafe",
        "state_dict()", torch_zip_bytes(micro))
    import torch.serialization as ts
    orig = ts.get_source_lines_and_file

    def no_source(obj):
        raise OSError("source capture disabled for the fixture")
    ts.get_source_lines_and_file = no_source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy_module = torch_legacy_bytes(micro)
    finally:
        ts.get_source_lines_and_file = orig
    add("whole_module_legacy.pth", "torch.save(model) in the legacy format: persistent ids "
        "('module', class, None, None) for every container class, then the module globals",
        "unsafe", "state_dict()", legacy_module)

    # ---- format: archive and container ----
    add("tar_format.pth", "pre-0.4 tar checkpoint: members sys_info, storages, tensors, pickle",
        "format", "tar", make_tar_checkpoint())
    good_zip = torch_zip_bytes(full_sd)
    for pct in (10, 50, 99):
        add(f"truncated_zip_{pct}pct.pth", f"valid torch.save zip cut to {pct}% of its "
            f"{len(good_zip)} bytes", "format", "", good_zip[:len(good_zip) * pct // 100])
    good_legacy = torch_legacy_bytes(full_sd)
    start = legacy_storage_region(good_legacy)
    cut = start + (len(good_legacy) - start) // 2
    add("truncated_legacy_in_storages.pth", f"valid legacy checkpoint cut at byte {cut} of "
        f"{len(good_legacy)}, inside the raw storage records (they start at {start})",
        "format", "", good_legacy[:cut])
    bad_magic = bytearray(torch_legacy_bytes(one_tensor))
    assert bad_magic[:4] == b"\x80\x02\x8a\x0a"
    bad_magic[4] ^= 0xFF
    add("legacy_bad_magic.pth", "legacy checkpoint whose leading magic number "
        "(0x1950a86a20f9469cfc6c) has one byte flipped", "format", "", bytes(bad_magic))
    add("empty.pth", "zero-byte file", "format", "", b"")
    add("random_bytes.pth", "4096 seeded random bytes", "format", "",
        np.random.RandomState(4096).randint(0, 256, 4096).astype(np.uint8).tobytes())
    valid = handmade_micro(msd_plain)
    t_entry = "data/1"      # HOSTILE_TARGET's own storage
    tiny_valid = tiny()
    plain = build_zip(tiny_valid, zip64="none")
    add("zip_cd_offset_outside.pth", "EOCD says the central directory starts 4096 bytes past "
        "the end of the file (classic zip, no Zip64 records)", "format", "",
        build_zip(tiny_valid, zip64="none", cd_offset_override=len(plain) + 4096))
    add("zip_local_header_outside.pth", f"complete state dict, but the central directory entry "
        f"of {t_entry} ({HOSTILE_TARGET}) puts its local header at offset 10**9", "format", "",
        build_zip([ZipEntry(e.name, e.data, local_offset_override=10 ** 9)
                   if e.name.endswith("/" + t_entry) else e for e in valid]))
    add("zip_deflate_data_pkl.pth", "data.pkl compressed with deflate (method 8); torch never "
        "writes compressed entries", "format", "",
        build_zip(replace_entry(tiny_valid, "data.pkl", method=8)))
    add("zip_bomb_claim.pth", f"complete state dict, but {t_entry} is deflated (method 8) and "
        "claims a 16 GiB uncompressed size through Zip64 extras", "format", "",
        build_zip(replace_entry(valid, t_entry, method=8, claim_usize=2 ** 34)))
    add("zip_stored_size_mismatch.pth", f"complete state dict, but {t_entry} is stored "
        "(method 0) with an uncompressed size of 2**40 and its real compressed size", "format",
        "", build_zip(replace_entry(valid, t_entry, claim_usize=2 ** 40)))
    add("zip_missing_data_pkl.pth", "archive without data.pkl (storages and version only)",
        "format", "", build_zip(replace_entry(tiny_valid, "data.pkl", data=False)))
    add("zip_missing_storage_entry.pth", f"complete state dict whose data.pkl references "
        f"{t_entry}, but that entry is absent", "format", "",
        build_zip(replace_entry(valid, t_entry, data=False)))
    evil_pkl = tiny(lambda p: p.glob("posix", "system").str("echo pwned").raw(b"\x85").reduce())[0]
    add("zip_duplicate_data_pkl.pth", "two entries named archive/data.pkl: the first clean, the "
        "second calls os.system; a scanner and a loader could disagree on which one counts",
        "format", "", build_zip(tiny_valid[:1] + [evil_pkl] + tiny_valid[1:]))

    # ---- format: tensors and storages (complete state dict, one tampered tensor) ----
    add("zip_storage_entry_too_short.pth", f"data.pkl is fine but {t_entry} "
        f"({HOSTILE_TARGET}) holds half the bytes the tensor needs", "format", "",
        full(storage_hook=lambda k, b: b[:len(b) // 2] if k == "1" else b))
    add("rebuild_tensor_v2_wrong_arity.pth", f"torch._utils._rebuild_tensor_v2 for "
        f"{HOSTILE_TARGET} called with 3 arguments (storage, offset, size) instead of 6",
        "format", "", full(spec_hook=hook_target(set_(nargs=3))))
    sz = list(msd[HOSTILE_TARGET].shape)
    ne = msd[HOSTILE_TARGET].numel()
    row = ne // sz[0]
    for fname, what, mutate in (
            ("storage_numel_2pow62.pth", "its FloatStorage declared with 2**62 elements (2**64 "
             "bytes: wraps to 0 in 64-bit arithmetic)", set_(numel=2 ** 62)),
            ("tensor_negative_size.pth", "size[0] = -1", set_(size=[-1] + sz[1:])),
            ("tensor_negative_stride.pth", "stride[0] negative and the offset at the last row, "
             "so every element address is still inside the storage",
             set_(stride=[-row, sz[2] * sz[3], sz[3], 1], offset=ne - row)),
            ("tensor_stride_out_of_bounds.pth", "stride[0] = 10**6: elements far beyond the "
             "storage", set_(stride=[10 ** 6, sz[2] * sz[3], sz[3], 1])),
            ("tensor_negative_offset.pth", "storage_offset = -1", set_(offset=-1)),
            ("tensor_huge_offset.pth", "storage_offset = 2**62", set_(offset=2 ** 62)),
            ("tensor_numel_overflow.pth", "size [2**32, 2**32, 1, 1] with zero strides: numel "
             "2**64 wraps to 0 in int64 while the extent check passes",
             set_(size=[2 ** 32, 2 ** 32, 1, 1], stride=[0, 0, 1, 1]))):
        add(fname, f"{HOSTILE_TARGET} (own storage {t_entry}) rebuilt with {what}", "format", "",
            full(spec_hook=hook_target(mutate)))

    # ---- format: pickle machinery ----
    depth_marks, depth_lists = 100000, 30000
    add("deep_nesting_marks.pth", f"data.pkl is {depth_marks} MARK opcodes then {depth_marks} "
        f"LIST opcodes: lists nested {depth_marks} deep", "format", "",
        build_zip([ZipEntry("archive/data.pkl",
                            b"\x80\x02" + b"(" * depth_marks + b"l" * depth_marks + b"."),
                   ZipEntry("archive/version", b"3\n")]))
    add("deep_nesting_lists.pth", f"data.pkl is {depth_lists} EMPTY_LIST opcodes then "
        f"{depth_lists - 1} APPEND opcodes: {depth_lists} values on the stack, then lists "
        f"nested {depth_lists} deep", "format", "",
        build_zip([ZipEntry("archive/data.pkl",
                            b"\x80\x02" + b"]" * depth_lists + b"a" * (depth_lists - 1) + b"."),
                   ZipEntry("archive/version", b"3\n")]))
    add("memo_get_never_put.pth", "BINGET 7 when nothing was ever PUT in the memo", "format", "",
        build_zip(tiny(lambda p: p.raw(b"h\x07"), key="bad")))
    add("memo_long_get_huge_index.pth", "LONG_BINGET 0xFFFFFFFF (a memo sized by the index "
        "would need 4 G slots)", "format", "",
        build_zip(tiny(lambda p: p.raw(b"j\xff\xff\xff\xff"), key="bad")))
    add("pickle_unknown_opcode.pth", "data.pkl contains opcode byte 0xF0, which no pickle "
        "protocol defines", "format", "", build_zip(tiny(lambda p: p.raw(b"\xf0"), key="bad")))
    no_stop = tiny()
    assert no_stop[0].data.endswith(b"u.")
    no_stop[0] = ZipEntry(no_stop[0].name, no_stop[0].data[:-1])
    add("pickle_no_stop.pth", "data.pkl with its final STOP opcode removed", "format", "",
        build_zip(no_stop))
    add("pickle_next_buffer.pth", "protocol-5 NEXT_BUFFER opcode (out-of-band buffer that a "
        "checkpoint can never supply)", "format", "",
        build_zip(tiny(lambda p: p.raw(b"\x97"), protocol=5, key="bad")))
    add("persid_unknown_type.pth", "a persistent id tuple whose tag is 'evil' instead of "
        "'storage'", "format", "",
        build_zip(tiny(lambda p: p.mark().str("evil").str("0").tuple().raw(b"Q"), key="bad")))

    # ---- mismatch ----
    def altered(drop=None, reshape=None, add_key=None):
        sd = OrderedDict((k, v) for k, v in msd.items() if k != drop)  # views: one storage
        if reshape:
            sd[reshape] = torch.ones(sd[reshape].numel() + 3)
        if add_key:
            sd[add_key] = torch.zeros(4, 4, 1, 1)
        return torch_zip_bytes(sd)
    add("missing_layer3_0_conv2_weight.pth", "valid state dict without layer3.0.conv2.weight",
        "mismatch", "layer3.0.conv2.weight", altered(drop="layer3.0.conv2.weight"))
    add("wrong_shape_layer2_0_bn1_running_var.pth", "layer2.0.bn1.running_var has 3 more "
        "elements than the layer's channels", "mismatch", "layer2.0.bn1.running_var",
        altered(reshape="layer2.0.bn1.running_var"))
    add("extra_key_layer5_0_conv1_weight.pth", "valid state dict plus an unknown "
        "layer5.0.conv1.weight", "mismatch", "layer5.0.conv1.weight",
        altered(add_key="layer5.0.conv1.weight"))
    return items


def torch_weights_only_result(path: Path) -> str:
    """What torch 1.13's own safe loader (weights_only=True) makes of a file, in a child
    process with 4 GiB address space and a time limit. Informational only."""
    code = ("import sys, torch\n"
            "try:\n"
            "    torch.load(sys.argv[1], map_location='cpu', weights_only=True)\n"
            "    print('loaded')\n"
            "except BaseException as e:\n"
            "    print(type(e).__name__ + ': ' + ' '.join(str(e).split())[:110])\n")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    try:
        r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                           text=True, timeout=120, preexec_fn=limit)
        return (r.stdout.strip().splitlines() or [f"crashed (rc {r.returncode})"])[-1]
    except subprocess.TimeoutExpired:
        return "timeout"


def main():
    torch.set_num_threads(1)
    for d in (CKPT_DIR, REF_DIR, HOSTILE_DIR):
        d.mkdir(exist_ok=True)
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
    g = Generator()
    (HERE / "inputs.u8").write_bytes(np.ascontiguousarray(g.u8).tobytes())
    g.generate_main()
    manifest = OrderedDict(
        generator=OrderedDict(script="generate_fixtures.py", torch=torch.__version__,
                              torchvision=torchvision.__version__),
        input=OrderedDict(file="inputs.u8", shape=[2, 3, 224, 224], dtype="uint8", layout="NCHW",
                          to_float="b / 255 (float32)",
                          normalization=OrderedDict(mean=[0.485, 0.456, 0.406],
                                                    std=[0.229, 0.224, 0.225],
                                                    formula="(x - mean) / std, float32")),
        features="global average pool of each stage output: flatten(adaptive_avg_pool2d(x, 1), 1), "
                 "float32 little-endian [2, C]",
        models=g.model_info,
        checkpoints=g.checkpoints,
    )
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    hostile = generate_hostile(g.models["micro_bottleneck"])
    (HOSTILE_DIR / "manifest.json").write_text(json.dumps(hostile, indent=2) + "\n")
    g.verify()
    if "--torch-check" in sys.argv:
        # informational: what torch 1.13's weights_only loader says about each hostile file
        for h in hostile:
            print(f"{h['file']:45s} {h['expect']:9s} "
                  f"{torch_weights_only_result(HOSTILE_DIR / h['file'])}")


if __name__ == "__main__":
    main()
