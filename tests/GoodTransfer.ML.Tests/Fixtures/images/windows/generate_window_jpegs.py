#!/usr/bin/env python3
"""Writes the JPEGs on which the tests compare decoding a window (only the rows and columns that
Resize and CenterCrop read) with decoding the whole image.

    /usr/bin/python3 tests/GoodTransfer.ML.Tests/Fixtures/images/windows/generate_window_jpegs.py

Needs Pillow and libjpeg-turbo's cjpeg (Debian 12: python3-pil libjpeg-turbo-progs). Each image is
a resized copy of a fixture photo in the folder above (so the licence notes of ../LICENSE.md hold),
encoded by cjpeg at quality 30 (Pillow at 20 for CMYK) to stay a few KB: every chroma subsampling
libjpeg-turbo writes, grayscale, CMYK with an Adobe marker, progressive, restart intervals, arithmetic coding,
odd sizes, very tall and very wide images, and images at or under the crop. No reference output is
stored: the tests compare the two decodes, which must agree byte for byte.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
PHOTOS = HERE.parent

# name: (source photo, size, cjpeg options); "cmyk" is written by Pillow, cjpeg cannot.
VARIANTS: dict[str, tuple[str, tuple[int, int], list[str]]] = {
    "s420_333x250.jpg": ("coffee_500x333.jpg", (333, 250), ["-sample", "2x2"]),
    "s422_301x401.jpg": ("chelsea_333x500.jpg", (301, 401), ["-sample", "2x1"]),
    "s444_290x291.jpg": ("chelsea_444.jpg", (290, 291), ["-sample", "1x1"]),
    "s440_350x263.jpg": ("coffee_500x333.jpg", (350, 263), ["-sample", "1x2"]),
    "s411_405x270.jpg": ("rocket.jpg", (405, 270), ["-sample", "4x1"]),
    "gray_271x361.jpg": ("astronaut_gray.jpg", (271, 361), ["-grayscale"]),
    "cmyk_300x229.jpg": ("coffee_500x333.jpg", (300, 229), ["cmyk"]),
    "progressive_420_377x283.jpg": ("chelsea_progressive.jpg", (377, 283), ["-sample", "2x2", "-progressive"]),
    "progressive_422_263x350.jpg": ("chelsea_333x500.jpg", (263, 350), ["-sample", "2x1", "-progressive"]),
    "restart_rows_420_345x259.jpg": ("rocket.jpg", (345, 259), ["-sample", "2x2", "-restart", "1"]),
    "restart_blocks_444_300x320.jpg": ("chelsea_444.jpg", (300, 320), ["-sample", "1x1", "-restart", "5B"]),
    "progressive_restart_440_310x250.jpg": ("coffee_500x333.jpg", (310, 250), ["-sample", "1x2", "-progressive", "-restart", "2"]),
    "arithmetic_420_300x260.jpg": ("coffee_500x333.jpg", (300, 260), ["-sample", "2x2", "-arithmetic"]),
    "optimized_420_299x303.jpg": ("chelsea_444.jpg", (299, 303), ["-sample", "2x2", "-optimize"]),
    "tall_420_229x700.jpg": ("astronaut_257x999.jpg", (229, 700), ["-sample", "2x2"]),
    "wide_422_903x233.jpg": ("rocket.jpg", (903, 233), ["-sample", "2x1"]),
    "just_over_420_233x227.jpg": ("chelsea_224x224.jpg", (233, 227), ["-sample", "2x2"]),
    "crop_size_420_224x300.jpg": ("chelsea_333x500.jpg", (224, 300), ["-sample", "2x2"]),
    "tiny_420_97x61.jpg": ("coffee_500x333.jpg", (97, 61), ["-sample", "2x2"]),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        for name, (photo, size, options) in VARIANTS.items():
            image = Image.open(PHOTOS / photo).convert("RGB").resize(size, Image.LANCZOS)
            if options == ["cmyk"]:
                image.convert("CMYK").save(HERE / name, "JPEG", quality=20)
                continue
            ppm = Path(work) / (name + ".ppm")
            if "-grayscale" in options:
                image = image.convert("L")
                ppm = ppm.with_suffix(".pgm")
            image.save(ppm)
            subprocess.run(["cjpeg", "-quality", "30", *options, "-outfile", str(HERE / name), str(ppm)], check=True)


if __name__ == "__main__":
    main()
