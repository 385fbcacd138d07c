"""``digits()``: the handwritten digits that ship inside scikit-learn, 1,797 grey 8x8 images of
0-9 (the UCI "optical recognition of handwritten digits" test set), read offline from the CSV in
sklearn's package folder without importing sklearn (importing it costs a second and pulls in
scipy). The module is not called digits.py so that ``autograd_cnn.data.digits`` is the function.

    train = digits()                          # 1x32x32 for LeNet-5, the fixed training split
    val, test = digits(split="val"), digits(split="test")

Preparation, chosen for LeNet-5 (which wants 32x32, where MNIST puts its 28x28 digits with a
2-pixel border): pixel values 0..16 are scaled to [0, 1]; each 8x8 image is resized bilinearly
(half-pixel centres, ``image_ops.resize``) to ``image_size - 2 * padding`` and zero-padded by
``padding`` on each side. Defaults: padding = image_size // 16, so 32 -> 28 + 2 + 2, 28 -> 26 + 1 + 1,
and image_size=8 gives the original pixels.

Split: fixed and stratified, 70 / 15 / 15 % of each class for train / val / test, ordered within
each class by a hash with seed 0 (``dataset.stratified_split``), so it is the same everywhere.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np

from . import image_ops
from .dataset import ArrayDataset, stratified_split

__all__ = ["digits", "digits_path", "load_digits_arrays", "digits_split_indices",
           "DIGITS_SPLIT", "DIGITS_SPLIT_SEED"]

DIGITS_SPLIT = {"train": 0.70, "val": 0.15, "test": 0.15}
DIGITS_SPLIT_SEED = 0


def digits_path() -> Path:
    """Where scikit-learn keeps ``digits.csv.gz``; found without importing sklearn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "digits(): the digits data ships inside scikit-learn, which is not installed; "
            "install it with `pip install scikit-learn` (a dependency of autograd_cnn)")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"digits(): scikit-learn is installed but {path} is missing; "
                                "reinstall it with `pip install --force-reinstall scikit-learn`")
    return path


@functools.lru_cache(maxsize=1)
def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All digits as (images (1797, 8, 8) uint8 with values 0..16, labels (1797,) int64), in the
    file's order. Read once per process (~10 ms) and cached; the arrays are read-only."""
    path = digits_path()
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise ValueError(f"digits(): cannot parse {path}: {err}") from None
    if table.shape[1] != 65 or len(table) == 0:
        raise ValueError(f"digits(): expected rows of 64 pixels and a label in {path}, "
                         f"got a table of shape {table.shape}")
    images, labels = table[:, :64], table[:, 64]
    if images.min() < 0 or images.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"digits(): values out of range in {path} (pixels must be 0..16, "
                         "labels 0..9)")
    images = images.reshape(-1, 8, 8).astype(np.uint8)
    labels = labels.copy()
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.lru_cache(maxsize=1)
def digits_split_indices() -> dict[str, np.ndarray]:
    """The fixed split: {'train', 'val', 'test'} -> sorted indices into ``load_digits_arrays()``."""
    _, labels = load_digits_arrays()
    parts = stratified_split(labels, list(DIGITS_SPLIT.values()), seed=DIGITS_SPLIT_SEED)
    return dict(zip(DIGITS_SPLIT, parts))


def digits(image_size: int = 32, split: str = "train", padding: int | None = None,
           transform=None) -> ArrayDataset:
    """The scikit-learn digits as an ArrayDataset of (1, image_size, image_size) float32 images in
    [0, 1] with labels 0..9. ``split``: 'train' (1,259 images), 'val' (270), 'test' (268) or 'all'
    (1,797 in file order). See the module docstring for the resizing and the split."""
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise ValueError(f"digits(): image_size must be a positive int, got {image_size!r}")
    if padding is None:
        padding = image_size // 16
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"digits(): padding must be a non-negative int, got {padding!r}")
    inner = image_size - 2 * padding
    if inner < 1:
        raise ValueError(f"digits(): padding {padding} leaves no room in a {image_size}x{image_size} "
                         "image; lower the padding")
    if split not in (*DIGITS_SPLIT, "all"):
        raise ValueError(f"digits(): split must be 'train', 'val', 'test' or 'all', got {split!r}")
    images, labels = load_digits_arrays()
    idx = np.arange(len(labels)) if split == "all" else digits_split_indices()[split]
    x = images[idx, None].astype(np.float32) / np.float32(16.0)        # (n, 1, 8, 8) in [0, 1]
    x = image_ops.resize(x, inner)                                      # (n, 1, inner, inner)
    if padding:
        x = image_ops.pad(x, padding)                                   # (n, 1, size, size)
    return ArrayDataset(np.ascontiguousarray(x), labels[idx], classes=[str(d) for d in range(10)],
                        transform=transform)
