#!/usr/bin/env python3
"""Generates the Pillow/torchvision ground truth for GoodTransfer.ML's image preprocessing tests.

    /usr/bin/python3 tests/GoodTransfer.ML.Tests/Fixtures/images/generate_images.py [SKIMAGE_DATA_DIR]

Source photos come from Debian's python3-skimage package (see LICENSE.md). Without an argument
the script runs `apt-get download python3-skimage` and `dpkg -x` into a temporary folder; it never
installs the package.

Writes, next to this script:
    *.jpg, *.png                  the fixture images: real JPEGs as shipped, and Pillow-made variants
    references/<name>.crop.up.gz  the uint8 [224, 224, 3] HWC result of
                                  CenterCrop(224)(Resize(256)(Image.open(f).convert('RGB'))),
                                  each row minus the row above mod 256 (PNG's Up filter), gzipped
    resize/*.u8                   small raw RGB inputs, Pillow BILINEAR resize outputs, and tiny
                                  inputs whose eval-transform crops are in references/
    manifest.json                 per image: size, Pillow mode, SHA-256 of convert('RGB') pixels,
                                  reference file, notes; and the resize cases

References are filtered and gzip-compressed because 28 raw crops (150,528 bytes each) would not
fit the fixture folder's size budget; the tests undo both with System.IO.Compression and a
running sum. The transform cases (tiny and elongated inputs) are listed in the manifest too.
Needs Pillow 9.4 / torchvision 0.14 (Debian 12: python3-pil python3-torchvision): other versions
may decode or resize differently, and then the references are theirs, not the checkpoints'.
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image
from torchvision import transforms
import torchvision

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "references"
RESIZE = HERE / "resize"


def skimage_data_dir(argv: list[str]) -> Path:
    if len(argv) > 1:
        return Path(argv[1])
    work = Path(tempfile.mkdtemp(prefix="skimage-deb-"))
    subprocess.run(["apt-get", "download", "python3-skimage"], cwd=work, check=True)
    deb = next(work.glob("python3-skimage_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(work / "x")], check=True)
    return next((work / "x").glob("usr/lib/python3/dist-packages/skimage/data"))


def eval_crop(image: Image.Image) -> np.ndarray:
    """torchvision's eval transform before ToTensor, exactly as the checkpoints were evaluated."""
    pipeline = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
    out = np.asarray(pipeline(image.convert("RGB")))
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    return out


def up_filter(crop: np.ndarray) -> np.ndarray:
    """PNG's Up filter: each row minus the row above, mod 256 (row 0 as is); halves gzip's output."""
    filtered = crop.copy()
    filtered[1:] = crop[1:] - crop[:-1]
    return filtered


def save_jpeg(image: Image.Image, name: str, **kwargs) -> None:
    image.save(HERE / name, "JPEG", **kwargs)


def save_png(image: Image.Image, name: str, **kwargs) -> None:
    image.save(HERE / name, "PNG", optimize=False, **kwargs)


def build_images(data: Path) -> dict[str, str]:
    """Writes every fixture image; returns its notes by file name."""
    notes: dict[str, str] = {}
    chelsea = Image.open(data / "chelsea.png").convert("RGB")  # 451x300
    coffee = Image.open(data / "coffee.png").convert("RGB")  # 600x400
    astronaut = Image.open(data / "astronaut.png").convert("RGB")  # 512x512

    for original in ("rocket.jpg",):
        (HERE / original).write_bytes((data / original).read_bytes())
    notes["rocket.jpg"] = ("real camera JPEG as shipped (640x427, 4:2:0, Adobe RGB ICC profile that "
                           "neither Pillow nor the decoder may apply)")

    def variant(source: Image.Image, size: tuple[int, int]) -> Image.Image:
        return source.resize(size, Image.LANCZOS)

    save_jpeg(variant(chelsea, (333, 500)), "chelsea_333x500.jpg", quality=90)
    notes["chelsea_333x500.jpg"] = "portrait: Resize(256) gives 256x384"
    save_jpeg(variant(coffee, (500, 333)), "coffee_500x333.jpg", quality=90)
    notes["coffee_500x333.jpg"] = "landscape: long side int(256*500/333) = 384 (truncated from 384.38)"
    save_jpeg(variant(astronaut, (257, 999)), "astronaut_257x999.jpg", quality=90)
    notes["astronaut_257x999.jpg"] = ("slight downscale, very tall: 256x995, top = round(385.5) = 386 "
                                      "(half to even)")
    save_jpeg(variant(coffee, (256, 300)), "coffee_256x300.jpg", quality=90)
    notes["coffee_256x300.jpg"] = "shorter side already 256: Resize returns the image unchanged"
    save_jpeg(variant(chelsea, (289, 256)), "chelsea_289x256.jpg", quality=90)
    notes["chelsea_289x256.jpg"] = ("no resize; left = round(32.5) = 32 under half to even "
                                    "(half away from zero would give 33)")
    save_jpeg(variant(chelsea, (224, 224)), "chelsea_224x224.jpg", quality=90)
    notes["chelsea_224x224.jpg"] = "upscale to 256x256"
    save_jpeg(variant(astronaut, (31, 45)), "astronaut_31x45.jpg", quality=90)
    notes["astronaut_31x45.jpg"] = "tiny, odd sizes: upscale to 256x371 from partial JPEG blocks"
    save_jpeg(variant(coffee, (400, 300)), "coffee_422.jpg", quality=95, subsampling=1)
    notes["coffee_422.jpg"] = "4:2:2 chroma subsampling (horizontal-only fancy upsampling)"
    save_jpeg(variant(chelsea, (300, 300)), "chelsea_444.jpg", quality=95, subsampling=0)
    notes["chelsea_444.jpg"] = "4:4:4, no chroma subsampling"
    save_jpeg(variant(chelsea, (451, 300)), "chelsea_progressive.jpg", quality=85, progressive=True)
    notes["chelsea_progressive.jpg"] = "progressive JPEG"
    save_jpeg(variant(astronaut, (300, 400)).convert("L"), "astronaut_gray.jpg", quality=90)
    notes["astronaut_gray.jpg"] = "grayscale JPEG (mode L): channels replicated"
    save_jpeg(variant(coffee, (360, 240)).convert("CMYK"), "coffee_cmyk.jpg", quality=90)
    notes["coffee_cmyk.jpg"] = "CMYK JPEG with an Adobe marker (inverted CMYK, as Photoshop writes)"

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    save_jpeg(variant(coffee, (320, 240)), "coffee_exif_rotate6.jpg", quality=90, exif=exif.tobytes())
    notes["coffee_exif_rotate6.jpg"] = "EXIF Orientation 6: torchvision applies none, so neither may we"

    save_png(variant(coffee, (300, 200)).quantize(256), "coffee_palette.png")
    notes["coffee_palette.png"] = "8-bit palette PNG (mode P)"

    small = variant(chelsea, (120, 80)).quantize(16)
    small.info["transparency"] = 3
    save_png(small, "chelsea_palette_trns.png", transparency=3)
    notes["chelsea_palette_trns.png"] = ("4-bit palette PNG whose entry 3 is transparent: "
                                         "convert('RGB') keeps the palette colour")

    save_png(variant(chelsea, (280, 260)).convert("L"), "chelsea_gray.png")
    notes["chelsea_gray.png"] = "8-bit grayscale PNG (mode L)"

    rgba = np.dstack([np.asarray(variant(astronaut, (220, 200))), np.zeros((200, 220), np.uint8)])
    _, xx = np.mgrid[0:200, 0:220]
    alpha = (xx * 255 // 219).astype(np.uint8)  # every alpha value 0..255 across the width
    alpha[:40, :] = 0  # fully transparent band whose colours are non-zero
    alpha[40:60, :] = 1
    rgba[..., 3] = alpha
    assert rgba[:40, :, :3].any()
    save_png(Image.fromarray(rgba, "RGBA"), "astronaut_rgba.png")
    notes["astronaut_rgba.png"] = ("RGBA with every alpha value, a fully transparent band with non-zero "
                                   "colour: convert('RGB') drops alpha without premultiplying")

    gray = np.asarray(variant(coffee, (250, 260)).convert("L"))
    la_alpha = np.broadcast_to((255 - np.arange(250) * 255 // 249).astype(np.uint8), gray.shape)
    la = np.dstack([gray, la_alpha])
    save_png(Image.fromarray(la, "LA"), "coffee_la.png")
    notes["coffee_la.png"] = "grayscale with alpha (mode LA): alpha dropped, gray replicated"

    bilevel = variant(chelsea, (230, 240)).convert("L").point(lambda v: 255 if v > 110 else 0).convert("1")
    save_png(bilevel, "chelsea_1bit.png")
    notes["chelsea_1bit.png"] = "1-bit PNG (mode 1): 0 and 255"

    luma = np.asarray(variant(astronaut, (240, 250)).convert("L")).astype(np.uint32)
    gray16 = (luma * luma).astype(np.uint16)  # 0..65025: only pixels darker than 16 stay below 256
    Image.fromarray(gray16, "I;16").save(HERE / "astronaut_gray16.png")
    notes["astronaut_gray16.png"] = ("16-bit grayscale PNG (Pillow's adaptive row filters): Pillow 9.4 opens it "
                                     "as mode I and convert('RGB') clamps each value at 255 (i2rgb), so most "
                                     "pixels turn white; Skia would keep the high byte")

    luma = np.asarray(variant(chelsea, (45, 37)).convert("L")).astype(np.uint16)
    write_png16_gray_adam7(HERE / "chelsea_gray16_interlaced.png", luma * 2)
    notes["chelsea_gray16_interlaced.png"] = ("16-bit grayscale PNG, Adam7-interlaced, rows cycling through all five "
                                              "filter types; samples 0..510, so many keep a shade below 255")

    rgb8 = np.asarray(variant(coffee, (150, 110))).astype(np.uint16)
    rng = np.random.default_rng(16)
    rgb16 = rgb8 * 257 + rng.integers(-128, 128, size=rgb8.shape)
    rgb16 = np.clip(rgb16, 0, 65535).astype(">u2")
    write_png16_rgb(HERE / "coffee_rgb16.png", rgb16)
    notes["coffee_rgb16.png"] = ("16-bit RGB PNG: Pillow keeps the high byte of each sample (RGB;16B), "
                                 "so 8-bit values are v16 >> 8, not round(v16 / 257)")
    return notes


def write_png16_rgb(path: Path, samples: np.ndarray) -> None:
    """Pillow cannot write 16-bit RGB PNGs, so write one by hand (filter 0, zlib level 9)."""
    height, width, _ = samples.shape
    raw = b"".join(b"\x00" + samples[y].tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9))
                     + png_chunk(b"IEND", b""))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    to_left, to_up, to_up_left = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if to_left <= to_up and to_left <= to_up_left:
        return left
    return up if to_up <= to_up_left else up_left


def filter_row(kind: int, row: bytes, previous: bytes, bpp: int) -> bytes:
    out = bytearray(len(row))
    for i, value in enumerate(row):
        left = row[i - bpp] if i >= bpp else 0
        up = previous[i] if previous else 0
        up_left = previous[i - bpp] if previous and i >= bpp else 0
        predictor = [0, left, up, (left + up) >> 1, paeth(left, up, up_left)][kind]
        out[i] = (value - predictor) & 0xFF
    return bytes(out)


def write_png16_gray_adam7(path: Path, samples: np.ndarray) -> None:
    """An interlaced 16-bit grayscale PNG whose rows use every filter type (Pillow writes neither)."""
    height, width = samples.shape
    raw = bytearray()
    row_index = 0
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        sub = samples[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        previous = b""
        for row in sub:
            data = row.astype(">u2").tobytes()
            kind = row_index % 5
            raw += bytes([kind]) + filter_row(kind, data, previous, 2)
            previous = data
            row_index += 1
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 1)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
                     + png_chunk(b"IEND", b""))


RESIZE_CASES = [
    # (name, input width, input height, output width, output height)
    ("upscale", 7, 5, 19, 13),
    ("downscale", 61, 47, 9, 7),
    ("downscale_uneven", 50, 9, 13, 8),
    ("identity", 6, 4, 6, 4),
    ("horizontal_only", 17, 5, 6, 5),
    ("vertical_only", 5, 17, 5, 6),
    ("one_pixel", 1, 1, 5, 3),
    ("one_column", 1, 9, 4, 20),
    ("one_row", 11, 1, 3, 2),
    ("to_one_pixel", 9, 7, 1, 1),
]


def build_resize_cases() -> list[dict]:
    rng = np.random.default_rng(224)
    cases = []
    for name, w, h, ow, oh in RESIZE_CASES:
        source = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        # Extreme values next to each other show clipping and rounding errors.
        source[0, 0] = (0, 255, 0)
        result = np.asarray(Image.fromarray(source, "RGB").resize((ow, oh), Image.BILINEAR))
        (RESIZE / f"{name}.in.u8").write_bytes(source.tobytes())
        (RESIZE / f"{name}.out.u8").write_bytes(result.tobytes())
        cases.append({"name": name, "width": w, "height": h, "out_width": ow, "out_height": oh,
                      "input": f"resize/{name}.in.u8", "output": f"resize/{name}.out.u8"})
    return cases


TRANSFORM_CASES = [
    # (name, width, height): tiny and elongated inputs through the whole eval transform
    ("tiny_1x1", 1, 1),
    ("tiny_1x7", 1, 7),
    ("tiny_5x1", 5, 1),
    ("tiny_2x3", 2, 3),
    ("elongated_300x2", 300, 2),
]


def build_transform_cases() -> list[dict]:
    rng = np.random.default_rng(256)
    cases = []
    for name, w, h in TRANSFORM_CASES:
        source = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        crop = eval_crop(Image.fromarray(source, "RGB"))
        (RESIZE / f"{name}.in.u8").write_bytes(source.tobytes())
        reference = f"references/{name}.crop.up.gz"
        (HERE / reference).write_bytes(gzip.compress(up_filter(crop).tobytes(), compresslevel=9, mtime=0))
        cases.append({"name": name, "width": w, "height": h, "input": f"resize/{name}.in.u8",
                      "crop": reference, "crop_sha256": hashlib.sha256(crop.tobytes()).hexdigest()})
    return cases


def main() -> None:
    assert PIL.__version__.startswith("9.4"), PIL.__version__
    assert torchvision.__version__.startswith("0.14"), torchvision.__version__
    data = skimage_data_dir(sys.argv)
    for old in glob.glob(str(HERE / "*.jpg")) + glob.glob(str(HERE / "*.png")):
        Path(old).unlink()
    for folder in (REFERENCES, RESIZE):
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()

    notes = build_images(data)
    images = []
    for name in sorted(notes):
        with Image.open(HERE / name) as image:
            mode = image.mode
            width, height = image.size
            decoded = np.asarray(image.convert("RGB"))
            crop = eval_crop(image)
        reference = f"references/{Path(name).stem}.crop.up.gz"
        (HERE / reference).write_bytes(gzip.compress(up_filter(crop).tobytes(), compresslevel=9, mtime=0))
        images.append({
            "file": name,
            "width": width,
            "height": height,
            "mode": mode,
            "decoded_sha256": hashlib.sha256(decoded.tobytes()).hexdigest(),
            "crop": reference,
            "crop_sha256": hashlib.sha256(crop.tobytes()).hexdigest(),
            "notes": notes[name],
        })

    manifest = {
        "generator": "generate_images.py",
        "pillow": PIL.__version__,
        "torchvision": torchvision.__version__,
        "transform": "CenterCrop(224)(Resize(256)(Image.open(f).convert('RGB'))), uint8 HWC",
        "images": images,
        "resize_cases": build_resize_cases(),
        "transform_cases": build_transform_cases(),
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"{len(images)} images, {total / 1e6:.2f} MB in {HERE}")


if __name__ == "__main__":
    main()
