"""Writes the sample data set: the first 30 images of each class of Fashion-MNIST's test split, as PNG.

Source: Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist), which
ships Zalando's files unchanged. Run with Debian's Python: /usr/bin/python3 make_fashion_mnist_sample.py
"""
import gzip
import os
import sys

import numpy as np
from PIL import Image

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]
PER_CLASS = 30


def read_idx(name, offset):
    with gzip.open(os.path.join(SOURCE, name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main(out):
    images = read_idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = read_idx("t10k-labels-idx1-ubyte.gz", 8)
    counts = [0] * len(CLASSES)
    for index, (image, label) in enumerate(zip(images, labels)):
        if counts[label] == PER_CLASS:
            continue
        folder = os.path.join(out, CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image, mode="L").save(os.path.join(folder, f"test-{index:05d}.png"), optimize=True)
        counts[label] += 1
        if min(counts) == PER_CLASS:
            break


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion-mnist"))
