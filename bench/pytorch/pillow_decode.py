"""Milliseconds per image for Pillow to decode the benchmark's JPEG photos (Image.open + load), on one core.

The reference for `--preprocess`'s "decode": Pillow links the system libjpeg-turbo, built with its SIMD code.
    /usr/bin/python3 bench/pytorch/pillow_decode.py [ROUNDS]
"""
import glob
import io
import statistics
import sys
import time

import PIL
import PIL.features
from PIL import Image

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
files = sorted(glob.glob("tests/GoodTransfer.ML.Tests/Fixtures/images/*.jpg"))
encoded = [open(f, "rb").read() for f in files]
times = []
for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(20):
        for data in encoded:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    times.append((time.perf_counter() - start) / (20 * len(encoded)) * 1000)
turbo = "libjpeg-turbo" if PIL.features.check_feature("libjpeg_turbo") else "not libjpeg-turbo"
print(f"Pillow {PIL.__version__} (libjpeg API {PIL.features.version('jpg')}, {turbo}): decode {statistics.median(times):.2f} ms per image, "
      f"median of {rounds} rounds over {len(files)} photos")
