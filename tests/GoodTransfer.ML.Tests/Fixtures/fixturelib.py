"""Shared helpers for the GoodTransfer.ML PyTorch fixture scripts.

Everything here is written for these fixtures: small ResNets assembled from
torchvision's own block classes, the seeded test images, the reference feature
computation, a small zip writer that can imitate (or deliberately break) the
layout torch.save produces, a tiny pickle assembler for hand-made pickles and a
zip inspector used to document what a file really contains.

Run with the Debian interpreter: /usr/bin/python3 (PyTorch 1.13, torchvision 0.14).
"""
from __future__ import annotations

import io
import pickle
import pickletools
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

LAYERS = ("layer1", "layer2", "layer3", "layer4")
INPUT_SEED = 20240611  # inputs.u8 of the fixtures and of make_resnet50_reference.py

# ImageNet normalisation, exactly as torchvision.transforms.Normalize uses it
# (float32, broadcast over the channel axis).
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float32).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float32).view(1, 3, 1, 1)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------

def _stage(block, inplanes: int, planes: int, blocks: int, stride: int, groups: int,
           width_per_group: int):
    """One ResNet stage, following torchvision's rules for when a downsample is needed."""
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, out_channels, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
    blocks_list = [block(inplanes, planes, stride, downsample, groups, width_per_group, 1,
                         nn.BatchNorm2d)]
    for _ in range(1, blocks):
        blocks_list.append(block(out_channels, planes, 1, None, groups, width_per_group, 1,
                                 nn.BatchNorm2d))
    return nn.Sequential(*blocks_list), out_channels


def randomize_batchnorm(module: nn.Module, gen: torch.Generator) -> None:
    """Non-trivial BN statistics everywhere: mean +-0.5, var 0.5..2, weight 0.5..1.5, bias +-0.3."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))
                m.bias.copy_(0.6 * torch.rand(n, generator=gen) - 0.3)


def build_resnet(block: str, layers: Sequence[int], stem: int, planes: Sequence[int],
                 groups: int = 1, width_per_group: int = 64, num_classes: int = 10,
                 seed: int = 0) -> ResNet:
    """A small net that *is* a torchvision ResNet instance (same class, same module names,
    torchvision's forward) but with a custom stem width and small stage widths.

    torchvision's constructor hard-codes 64/128/256/512, so the instance is created without
    calling it and the attributes are assigned in torchvision's order (that order defines
    the state-dict key order)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    block_cls = {"bottleneck": Bottleneck, "basic": BasicBlock}[block]
    m = ResNet.__new__(ResNet)
    nn.Module.__init__(m)
    m._norm_layer = nn.BatchNorm2d
    m.inplanes = stem
    m.dilation = 1
    m.groups = groups
    m.base_width = width_per_group
    m.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(stem)
    m.relu = nn.ReLU(inplace=True)
    m.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    inplanes = stem
    for i, (p, n) in enumerate(zip(planes, layers)):
        stage, inplanes = _stage(block_cls, inplanes, p, n, 1 if i == 0 else 2, groups,
                                 width_per_group)
        setattr(m, f"layer{i + 1}", stage)
    m.inplanes = inplanes
    m.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    m.fc = nn.Linear(inplanes, num_classes)
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            # same initialisation torchvision's ResNet uses, from our seeded global RNG
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
    randomize_batchnorm(m, gen)
    m.eval()
    return m


def stage_outputs(block: str, planes: Sequence[int]) -> List[int]:
    return [p * (4 if block == "bottleneck" else 1) for p in planes]


def inner_widths(block: str, planes: Sequence[int], groups: int, width_per_group: int) -> List[int]:
    if block == "basic":
        return list(planes)
    return [int(p * (width_per_group / 64.0)) * groups for p in planes]


# --------------------------------------------------------------------------------------
# Inputs and features
# --------------------------------------------------------------------------------------

def make_images(seed: int, n: int = 2, size: int = 224) -> np.ndarray:
    """Seeded image-like uint8 batch [n, 3, size, size]: smooth gradients and waves,
    a few flat shapes with soft edges, plus pixel noise."""
    rs = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    out = np.empty((n, 3, size, size), dtype=np.uint8)
    for i in range(n):
        img = np.empty((3, size, size), dtype=np.float64)
        for c in range(3):
            gx, gy = rs.uniform(-0.4, 0.4, size=2)
            fx, fy = rs.uniform(0.5, 3.0, size=2)
            phase = rs.uniform(0, 2 * np.pi)
            img[c] = (0.5 + gx * (xx - 0.5) + gy * (yy - 0.5)
                      + 0.18 * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase))
        for _ in range(6):
            cx, cy = rs.uniform(0.1, 0.9, size=2)
            r = rs.uniform(0.05, 0.2)
            color = rs.uniform(0.0, 1.0, size=3)
            if rs.rand() < 0.5:
                d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
            else:
                d = np.maximum(np.abs(xx - cx), np.abs(yy - cy))
            alpha = np.clip((r - d) / 0.01, 0.0, 1.0)
            img = img * (1 - alpha) + color[:, None, None] * alpha
        img += rs.normal(0.0, 0.03, size=img.shape)
        out[i] = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    return out


def to_float_input(u8: np.ndarray) -> torch.Tensor:
    """The exact float input: b / 255 in float32 (C# computes b / 255f)."""
    return torch.from_numpy(np.ascontiguousarray(u8)).float() / 255.0


def normalize(x: torch.Tensor) -> torch.Tensor:
    mean, std = IMAGENET_MEAN.to(x.dtype), IMAGENET_STD.to(x.dtype)
    return (x - mean) / std


@torch.no_grad()
def stage_features(model: nn.Module, x01: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Global-average-pooled outputs of layer1..layer4 for RGB input in [0, 1]."""
    x = normalize(x01)
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    feats = {}
    for name in LAYERS:
        x = getattr(model, name)(x)
        feats[name] = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    return feats


def f32_bytes(t: torch.Tensor) -> bytes:
    return t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()


# --------------------------------------------------------------------------------------
# Zip writer
# --------------------------------------------------------------------------------------

SIG_LOCAL = 0x04034B50
SIG_CENTRAL = 0x02014B50
SIG_EOCD = 0x06054B50
SIG_EOCD64 = 0x06064B50
SIG_LOCATOR64 = 0x07064B50
SIG_DESCRIPTOR = 0x08074B50
PAD_EXTRA_ID = 0x4246  # "FB", the id torch uses for its alignment padding


@dataclass
class ZipEntry:
    name: str
    data: bytes                            # uncompressed payload
    method: int = 0                        # 0 stored, 8 deflate
    claim_usize: Optional[int] = None      # lie about the uncompressed size
    local_offset_override: Optional[int] = None


def build_zip(entries: Sequence[ZipEntry], *, align: int = 64, descriptors: bool = True,
              zip64: str = "eocd", flags_extra: int = 0x800,
              cd_offset_override: Optional[int] = None) -> bytes:
    """Writes a zip archive byte by byte.

    zip64: "none"  - classic records only;
           "eocd"  - like torch 1.13: classic headers, plus a Zip64 end-of-central-directory
                     record and locator before the classic EOCD;
           "full"  - every local and central header carries a Zip64 extra field with the
                     32-bit fields set to 0xFFFFFFFF, and the classic EOCD only holds
                     0xFFFF / 0xFFFFFFFF markers, so the Zip64 record is authoritative.
    descriptors: set general-purpose bit 3, zero CRC/sizes in the local header and write a
                 signed data descriptor after each payload (what torch 1.13 does).
    align: pad the local extra field so every payload starts at a multiple of `align`."""
    out = bytearray()
    central = []
    full = zip64 == "full"
    for e in entries:
        name = e.name.encode("utf-8")
        payload = e.data
        if e.method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = c.compress(e.data) + c.flush()
        crc = zlib.crc32(e.data) & 0xFFFFFFFF
        usize = e.claim_usize if e.claim_usize is not None else len(e.data)
        csize = len(payload)
        entry64 = full or usize >= 0xFFFFFFFF or csize >= 0xFFFFFFFF
        flags = flags_extra | (0x08 if descriptors else 0)
        version = 45 if entry64 else 20
        offset = len(out)
        extra = b""
        if entry64:
            extra += struct.pack("<HHQQ", 1, 16, 0 if descriptors else usize,
                                 0 if descriptors else csize)
        if descriptors:
            l_crc, l_cs, l_us = 0, 0, 0
        else:
            l_crc, l_cs, l_us = crc, csize, usize
        if entry64:
            l_cs, l_us = 0xFFFFFFFF, 0xFFFFFFFF
        if align:
            start = offset + 30 + len(name) + len(extra)
            pad = (-start) % align
            if pad:
                while pad < 4:
                    pad += align
                extra += struct.pack("<HH", PAD_EXTRA_ID, pad - 4) + b"Z" * (pad - 4)
        out += struct.pack("<IHHHHHIIIHH", SIG_LOCAL, version, flags, e.method, 0, 0,
                           l_crc, l_cs, l_us, len(name), len(extra))
        out += name + extra + payload
        if descriptors:
            if entry64:
                out += struct.pack("<IIQQ", SIG_DESCRIPTOR, crc, csize, usize)
            else:
                out += struct.pack("<IIII", SIG_DESCRIPTOR, crc, csize, usize)
        central.append((name, version, flags, e.method, crc, csize, usize, offset, entry64,
                        e.local_offset_override))

    cd_start = len(out)
    for name, version, flags, method, crc, csize, usize, offset, entry64, override in central:
        off = override if override is not None else offset
        extra = b""
        c_cs, c_us, c_off = csize, usize, off
        if entry64:
            vals = []
            if full or usize >= 0xFFFFFFFF:
                vals.append(usize)
                c_us = 0xFFFFFFFF
            if full or csize >= 0xFFFFFFFF:
                vals.append(csize)
                c_cs = 0xFFFFFFFF
            if full:
                vals.append(off)
                c_off = 0xFFFFFFFF
            extra = struct.pack("<HH", 1, 8 * len(vals)) + struct.pack("<%dQ" % len(vals), *vals)
        out += struct.pack("<IHHHHHHIIIHHHHHII", SIG_CENTRAL, version, version, flags, method,
                           0, 0, crc, c_cs, c_us, len(name), len(extra), 0, 0, 0,
                           0o644 << 16, c_off)
        out += name + extra
    cd_size = len(out) - cd_start
    n = len(entries)
    cd_off = cd_offset_override if cd_offset_override is not None else cd_start
    if zip64 in ("eocd", "full"):
        eocd64_pos = len(out)
        out += struct.pack("<IQHHIIQQQQ", SIG_EOCD64, 44, 45, 45, 0, 0, n, n, cd_size, cd_off)
        out += struct.pack("<IIQI", SIG_LOCATOR64, 0, eocd64_pos, 1)
    if full:
        out += struct.pack("<IHHHHIIH", SIG_EOCD, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", SIG_EOCD, 0, 0, n, n, cd_size, cd_off, 0)
    return bytes(out)


def read_zip_entries(data: bytes) -> List[ZipEntry]:
    import zipfile
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [ZipEntry(i.filename, z.read(i.filename)) for i in z.infolist()]


def rename_root(entries: Sequence[ZipEntry], new_root: str) -> List[ZipEntry]:
    return [ZipEntry(new_root + "/" + e.name.split("/", 1)[1], e.data, e.method) for e in entries]


# --------------------------------------------------------------------------------------
# Zip inspector
# --------------------------------------------------------------------------------------

def zip_facts(data: bytes) -> dict:
    """What a zip really contains, read from the bytes (no zipfile module)."""
    eocd = data.rfind(struct.pack("<I", SIG_EOCD), max(0, len(data) - 65558))
    if eocd < 0:
        raise ValueError("no EOCD")
    _, _, _, n16, total16, cd_size32, cd_off32, _ = struct.unpack_from("<IHHHHIIH", data, eocd)
    facts = {"zip64_eocd_record": False, "zip64_locator": False}
    n, cd_off = total16, cd_off32
    loc = eocd - 20
    if loc >= 0 and struct.unpack_from("<I", data, loc)[0] == SIG_LOCATOR64:
        facts["zip64_locator"] = True
        eocd64 = struct.unpack_from("<Q", data, loc + 8)[0]
        if struct.unpack_from("<I", data, eocd64)[0] == SIG_EOCD64:
            facts["zip64_eocd_record"] = True
            # record: sig, size, made-by, needed, disk, cd disk, entries here, entries total,
            # cd size, cd offset
            n = struct.unpack_from("<Q", data, eocd64 + 32)[0]
            cd_off = struct.unpack_from("<Q", data, eocd64 + 48)[0]
    pos = cd_off
    entries = []
    for _ in range(n):
        (sig, made, need, flags, method, _, _, crc, cs, us, nl, el, cl, _, _, _,
         off) = struct.unpack_from("<IHHHHHHIIIHHHHHII", data, pos)
        assert sig == SIG_CENTRAL
        name = data[pos + 46:pos + 46 + nl].decode("utf-8")
        extra = data[pos + 46 + nl:pos + 46 + nl + el]
        z64c = False
        e = 0
        while e + 4 <= len(extra):
            eid, esz = struct.unpack_from("<HH", extra, e)
            if eid == 1:
                z64c = True
                vals = list(struct.unpack_from("<%dQ" % (esz // 8), extra, e + 4))
                if us == 0xFFFFFFFF:
                    us = vals.pop(0)
                if cs == 0xFFFFFFFF:
                    cs = vals.pop(0)
                if off == 0xFFFFFFFF:
                    off = vals.pop(0)
            e += 4 + esz
        pos += 46 + nl + el + cl
        lsig, _, lflags, _, _, _, _, _, _, lnl, lel = struct.unpack_from("<IHHHHHIIIHH", data,
                                                                         off)
        assert lsig == SIG_LOCAL
        lextra = data[off + 30 + lnl:off + 30 + lnl + lel]
        z64l = False
        e = 0
        while e + 4 <= len(lextra):
            eid, esz = struct.unpack_from("<HH", lextra, e)
            z64l |= eid == 1
            e += 4 + esz
        data_off = off + 30 + lnl + lel
        desc = (bool(lflags & 0x08)
                and data[data_off + cs:data_off + cs + 4] == struct.pack("<I", SIG_DESCRIPTOR))
        entries.append(dict(name=name, flags=flags, local_flags=lflags, method=method, size=us,
                            data_offset=data_off, zip64_extra_central=z64c, zip64_extra_local=z64l,
                            descriptor=desc, payload=data[data_off:data_off + cs]))
    names = [e["name"] for e in entries]
    roots = sorted({nm.split("/", 1)[0] for nm in names})
    by_suffix = {nm.split("/", 1)[1]: e for nm, e in zip(names, entries)}
    facts.update(
        root=roots[0] if len(roots) == 1 else roots,
        entries=len(entries),
        data_descriptors=all(e["local_flags"] & 0x08 for e in entries),
        signed_descriptors=all(e["descriptor"] for e in entries),
        flags=sorted({e["flags"] for e in entries}),
        methods=sorted({e["method"] for e in entries}),
        aligned_64=all(e["data_offset"] % 64 == 0 for e in entries),
        zip64_extra_local=any(e["zip64_extra_local"] for e in entries),
        zip64_extra_central=any(e["zip64_extra_central"] for e in entries),
        byteorder=by_suffix["byteorder"]["payload"].decode() if "byteorder" in by_suffix else None,
        version=(by_suffix["version"]["payload"].decode().strip()
                 if "version" in by_suffix else None),
    )
    return facts


# --------------------------------------------------------------------------------------
# Pickle helpers
# --------------------------------------------------------------------------------------

class PickleAsm:
    """A minimal pickle assembler for hand-made pickles (opcodes written one by one).
    glob_m / str_m memoize (BINPUT on first use, BINGET afterwards) like pickle does."""

    def __init__(self, protocol: int = 2):
        self.b = bytearray(b"\x80" + bytes([protocol]))
        self.memo = {}

    def _memoized(self, key, emit):
        if key in self.memo:
            idx = self.memo[key]
            self.b += b"h" + bytes([idx]) if idx < 256 else b"j" + struct.pack("<I", idx)
        else:
            emit()
            idx = self.memo[key] = len(self.memo)
            self.b += b"q" + bytes([idx]) if idx < 256 else b"r" + struct.pack("<I", idx)
        return self

    def glob_m(self, module: str, name: str):
        return self._memoized(("g", module, name), lambda: self.glob(module, name))

    def str_m(self, s: str):
        return self._memoized(("s", s), lambda: self.str(s))

    def raw(self, data: bytes):
        self.b += data
        return self

    def int(self, v: int):
        if 0 <= v < 256:
            self.b += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.b += b"M" + struct.pack("<H", v)
        elif -2 ** 31 <= v < 2 ** 31:
            self.b += b"J" + struct.pack("<i", v)
        else:
            n = (v.bit_length() + 8) // 8
            self.b += b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)
        return self

    def str(self, s: str):
        enc = s.encode("utf-8")
        self.b += b"X" + struct.pack("<I", len(enc)) + enc
        return self

    def bool(self, v: bool):
        self.b += b"\x88" if v else b"\x89"
        return self

    def none(self):
        self.b += b"N"
        return self

    def glob(self, module: str, name: str):
        self.b += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        return self

    def mark(self):
        self.b += b"("
        return self

    def tuple(self):
        self.b += b"t"
        return self

    def int_tuple(self, vals: Sequence[int]):
        if not vals:
            self.b += b")"
            return self
        if len(vals) > 3:
            self.mark()
        for v in vals:
            self.int(v)
        self.b += {1: b"\x85", 2: b"\x86", 3: b"\x87"}.get(len(vals), b"t")
        return self

    def reduce(self):
        self.b += b"R"
        return self

    def stop(self):
        self.b += b"."
        return bytes(self.b)


@dataclass
class TensorSpec:
    storage_key: str
    storage_type: str     # e.g. FloatStorage (a torch global), or "module:name" for any other
    numel: int            # storage numel as declared in the persistent id
    offset: int
    size: Sequence[int]
    stride: Sequence[int]
    nargs: int = 6        # arguments passed to _rebuild_tensor_v2


def emit_tensor(p: PickleAsm, t: TensorSpec) -> None:
    p.glob_m("torch._utils", "_rebuild_tensor_v2")
    p.mark()
    mod, _, name = t.storage_type.rpartition(":")
    p.mark().str_m("storage").glob_m(mod or "torch", name).str_m(t.storage_key).str_m("cpu")
    p.int(t.numel).tuple()
    p.raw(b"Q")  # BINPERSID
    args = [lambda: p.int(t.offset), lambda: p.int_tuple(t.size), lambda: p.int_tuple(t.stride),
            lambda: p.bool(False),
            lambda: p.glob_m("collections", "OrderedDict").raw(b")").reduce()]
    for arg in args[:t.nargs - 1]:
        arg()
    p.tuple().reduce()


def tensor_bytes(v: torch.Tensor) -> bytes:
    """Raw little-endian bytes of a contiguous tensor (bfloat16 via its int16 bit pattern)."""
    v = v.contiguous()
    if v.dtype == torch.bfloat16:
        v = v.view(torch.int16)
    return v.numpy().tobytes()


STORAGE_TYPES = {torch.float32: "FloatStorage", torch.float16: "HalfStorage",
                 torch.bfloat16: "BFloat16Storage", torch.float64: "DoubleStorage",
                 torch.int64: "LongStorage"}


def handmade_state_dict(sd, root: str = "archive", *, own_storage: Sequence[str] = (),
                        overrides: Optional[Dict[str, Callable[[PickleAsm], None]]] = None,
                        extra_items: Sequence = (), spec_hook=None, storage_hook=None,
                        protocol: int = 2) -> List[ZipEntry]:
    """Zip entries of a torch-compatible checkpoint whose data.pkl is written opcode by opcode:
    an OrderedDict built with REDUCE + SETITEMS, memoized globals and strings, every tensor a
    view into one shared storage '0' except the keys in own_storage, which get storages
    '1', '2', ... of their own.
    overrides[key] replaces the emitted value; extra_items are (key, emitter) appended;
    spec_hook(key, spec) may alter the tensor geometry; storage_hook(storage_key, bytes) may
    alter (or, returning None, drop) a storage payload."""
    overrides = overrides or {}
    shared = [(k, v) for k, v in sd.items() if k not in own_storage and k not in overrides]
    assert len({v.dtype for _, v in shared}) <= 1
    storages = OrderedDict()
    offsets, off = {}, 0
    if shared:
        storages["0"] = b"".join(tensor_bytes(v) for _, v in shared)
        for k, v in shared:
            offsets[k] = off
            off += v.numel()
    p = PickleAsm(protocol)
    p.glob_m("collections", "OrderedDict").raw(b")").reduce().mark()
    for k, v in sd.items():
        p.str(k)
        if k in overrides:
            overrides[k](p)
            continue
        stride = [int(s) for s in v.contiguous().stride()]
        if k in offsets:
            spec = TensorSpec("0", STORAGE_TYPES[v.dtype], off, offsets[k], list(v.shape), stride)
        else:
            key = str(len(storages))
            storages[key] = tensor_bytes(v)
            spec = TensorSpec(key, STORAGE_TYPES[v.dtype], v.numel(), 0, list(v.shape), stride)
        if spec_hook:
            spec = spec_hook(k, spec)
        emit_tensor(p, spec)
    for k, emit in extra_items:
        p.str(k)
        emit(p)
    p.raw(b"u")
    data_pkl = p.stop()
    entries = [ZipEntry(f"{root}/data.pkl", data_pkl)]
    for key in sorted(storages):
        payload = storage_hook(key, storages[key]) if storage_hook else storages[key]
        if payload is not None:
            entries.append(ZipEntry(f"{root}/data/{key}", payload))
    entries.append(ZipEntry(f"{root}/version", b"3\n"))
    return entries


class _Rec:
    def __init__(self, kind, args):
        self.kind, self.args = kind, args


def tensor_records(data_pkl: bytes) -> dict:
    """Parses a torch data.pkl without torch: returns {key: dict(storage, dtype, numel, offset,
    size, stride)} for a (possibly nested) dict of tensors. Only allow-listed globals."""

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("collections", "OrderedDict"):
                return OrderedDict
            if (module, name) in (("torch._utils", "_rebuild_tensor_v2"),
                                  ("torch._utils", "_rebuild_parameter")):
                return lambda *a: _Rec(name, a)
            if module == "torch" and name.endswith("Storage"):
                return name
            raise pickle.UnpicklingError(f"global {module}.{name} not allowed here")

        def persistent_load(self, pid):
            return tuple(pid)

    obj = U(io.BytesIO(data_pkl)).load()
    out = {}

    def walk(o, prefix):
        if isinstance(o, _Rec):
            if o.kind == "_rebuild_parameter":
                o = o.args[0]
            st, off, size, stride = o.args[0], o.args[1], o.args[2], o.args[3]
            out[prefix] = dict(storage=st[2], dtype=st[1], numel=st[4], offset=off,
                               size=list(size), stride=list(stride))
        elif isinstance(o, dict):
            for k, v in o.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))

    walk(obj, "")
    return out


ELEMENT_SIZES = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8,
                 "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
                 "ByteStorage": 1, "BoolStorage": 1}


class _Inert:
    """Stand-in for every global while scanning a pickle: never runs the real callable."""
    _name = "?"

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


def scan_persistent_ids(pickle_bytes: bytes) -> list:
    """Persistent ids of a pickle in order of appearance, without executing any global
    (every global is replaced by an inert class that remembers its dotted name)."""
    pids = []

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            return type("Inert", (_Inert,), {"_name": f"{module}.{name}"})

        def persistent_load(self, pid):
            pids.append(pid)
            if pid[0] == "module":   # legacy whole-module pickles: ('module', class, file, src)
                return pid[1]
            return _Inert()

    U(io.BytesIO(pickle_bytes)).load()
    return pids


def legacy_rekey(raw: bytes, base: int = 140000000000000, step: int = 4096) -> bytes:
    """torch's legacy writer names storages after their C++ address (str(storage._cdata)) and
    writes them sorted by that name, so two runs never give the same bytes. Rename the keys
    to fixed-width, address-like numbers in order of first use in the main pickle, and
    reorder the raw storage records (int64 numel + payload) to match."""
    f = io.BytesIO(raw)
    bounds = [0]
    for _ in range(5):
        for _op in pickletools.genops(f):
            pass
        bounds.append(f.tell())
    keys = pickle.loads(raw[bounds[4]:bounds[5]])
    assert all(isinstance(k, str) for k in keys) and keys == sorted(keys)
    main = raw[bounds[3]:bounds[4]]
    order, esize = [], {}
    for pid in scan_persistent_ids(main):
        if pid[0] == "storage":
            key = pid[2]
            esize[key] = ELEMENT_SIZES[pid[1]._name.split(".")[-1]]
            if key not in order:
                order.append(key)
    assert sorted(order) == keys
    records, pos = {}, bounds[5]
    for k in keys:
        numel = struct.unpack_from("<q", raw, pos)[0]
        end = pos + 8 + numel * esize[k]
        records[k] = raw[pos:end]
        pos = end
    assert pos == len(raw)
    mapping = {k: str(base + step * i) for i, k in enumerate(order)}
    ops = list(pickletools.genops(main))
    new = bytearray()
    for i, (op, arg, opos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(main)
        if op.name == "BINUNICODE" and arg in mapping:
            enc = mapping[arg].encode()
            new += b"X" + struct.pack("<I", len(enc)) + enc
        else:
            new += main[opos:end]
    new_keys = pickle.dumps([mapping[k] for k in order], protocol=2)
    return (raw[:bounds[3]] + bytes(new) + new_keys
            + b"".join(records[k] for k in order))


def legacy_storage_region(raw: bytes) -> int:
    """Offset where the raw storage records of a legacy checkpoint start."""
    f = io.BytesIO(raw)
    for _ in range(5):
        for _op in pickletools.genops(f):
            pass
    return f.tell()
