"""ImageFolder: a folder with one subfolder of images per class (torchvision's layout).

    root/cat/001.png, root/cat/002.jpg, root/dog/abc.png, ...
    ds = ImageFolder("root", size=32)           # classes ['cat', 'dog'] (sorted), labels 0, 1

Images are read with Pillow (imported when an ImageFolder is made, not with the package). Every
file's header is opened when the dataset is made, so an empty class folder, a file that is not an
image, or images of different sizes are reported at once, by name; pixels are decoded when a
sample is read (``to_array_dataset()`` decodes all of them once, for fast in-memory training).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..args import int_pair
from . import image_ops
from .dataset import ArrayDataset, Dataset, _check_index
from .pil import open_image, pillow
from .transforms import Compose, Transform, apply_transform

__all__ = ["ImageFolder", "IMG_EXTENSIONS"]

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
# grey modes Pillow cannot convert to 8 bits without clipping: 16-bit integers (scaled by 1/65535)
# and float (taken as it is, assumed to be in [0, 1])
_WIDE_GREY = {"I": 65535.0, "I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "F": 1.0}


def _pillow():
    """``PIL.Image``, or a ModuleNotFoundError saying how to install Pillow."""
    return pillow()


def _has_resize(transform) -> bool:
    """Whether ``transform`` (or a Compose inside it) resizes images to one size."""
    if isinstance(transform, Compose):
        return any(_has_resize(t) for t in transform.transforms)
    return getattr(transform, "resizes", False)


def _split_fixed_prefix(transform):
    """(fixed, rest): the leading deterministic Transforms of ``transform`` as one transform,
    and the remaining steps (from the first random Transform or plain callable on); either is
    None when empty. Plain callables count as random: nothing says they give the same output
    every time."""
    if transform is None:
        return None, None
    steps = list(transform.transforms) if isinstance(transform, Compose) else [transform]
    k = 0
    while k < len(steps) and isinstance(steps[k], Transform) and not steps[k].random:
        k += 1

    def join(part):
        return None if not part else part[0] if len(part) == 1 else Compose(part)
    return join(steps[:k]), join(steps[k:])


class ImageFolder(Dataset):
    """Images in ``root/<class name>/<file>``; classes are the subfolder names, sorted, labelled
    0, 1, ... Samples are (C, H, W) float32 in [0, 1] (8-bit images scaled by 1/255, 16-bit grey
    ones by 1/65535) and the class index.

    size:       resize every image to this (int or (h, w)) as it is read (bilinear, antialiased)
    mode:       'L' (1 channel) or 'RGB' (3); None: 'L' if every image is grey, else 'RGB'
                (palette and alpha images become RGB, the alpha channel is dropped)
    transform:  applied after reading (and resizing)
    extensions: which files count as images (others, and hidden files, are ignored)

    Images of different sizes are refused unless ``size`` is given or ``transform`` contains a
    Resize, since they cannot be batched together.
    """

    def __init__(self, root, transform=None, size=None, mode: str | None = None,
                 extensions=IMG_EXTENSIONS):
        _pillow()                                  # a clear error now if Pillow is missing
        root = Path(root).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {root} is not a folder")
        if mode not in (None, "L", "RGB"):
            raise ValueError(f"ImageFolder: mode must be None, 'L' or 'RGB', got {mode!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"ImageFolder: transform must be callable, got {transform!r}")
        self.size = None if size is None else int_pair(size, "size", "ImageFolder")
        exts = tuple(e.lower() for e in extensions)
        class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not class_dirs:
            raise ValueError(f"ImageFolder: {root} has no class subfolders; expected "
                             f"{root}/<class name>/<image file>")
        samples, sizes, modes = [], {}, set()
        for label, d in enumerate(class_dirs):
            files = sorted(f for f in d.rglob("*") if f.is_file() and not f.name.startswith(".")
                           and f.suffix.lower() in exts)
            if not files:
                raise ValueError(f"ImageFolder: class folder {d} has no images (looked for files "
                                 f"ending in {', '.join(exts)})")
            for f in files:
                with open_image(f, "ImageFolder") as im:    # the header only; pixel limit
                    sizes.setdefault((im.height, im.width), f)
                    modes.add(im.mode)
                samples.append((f, label))
        if len(sizes) > 1 and self.size is None and not _has_resize(transform):
            (s1, f1), (s2, f2) = list(sizes.items())[:2]
            raise ValueError(f"ImageFolder: images have different sizes, e.g. {f1} is {s1[0]}x{s1[1]} "
                             f"and {f2} is {s2[0]}x{s2[1]} (HxW); pass size=(h, w) or a Resize "
                             "transform to bring them to one size")
        self.root = root
        self.classes = [d.name for d in class_dirs]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = samples
        self.targets = np.array([lab for _, lab in samples], dtype=np.int64)
        self.mode = mode or ("L" if modes <= _GREY_MODES else "RGB")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def load_image(self, index: int) -> np.ndarray:
        """Image ``index`` decoded as (C, H, W) float32 in [0, 1], resized to ``size`` if given."""
        path = self.samples[index][0]
        with open_image(path, "ImageFolder") as im:
            try:
                if im.mode in _WIDE_GREY:        # 16-bit or float grey: keep the precision
                    arr = np.asarray(im, dtype=np.float32) / np.float32(_WIDE_GREY[im.mode])
                    if self.mode == "RGB":
                        arr = np.repeat(arr[:, :, None], 3, axis=2)
                else:
                    arr = np.asarray(im.convert(self.mode), dtype=np.float32) / np.float32(255.0)
            except Exception as err:
                raise ValueError(f"ImageFolder: cannot decode image {path}: {err}") from None
        x = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)       # (H, W, C) -> (C, H, W)
        if self.size is not None:
            x = image_ops.resize(x, self.size)
        return np.ascontiguousarray(x)

    def __getitem__(self, index):
        i = _check_index(index, len(self), "ImageFolder")
        x = self.load_image(i)
        if self.transform is not None:
            x = apply_transform(self.transform, x)
        return x, int(self.targets[i])

    def to_array_dataset(self, transform=None) -> ArrayDataset:
        """Decode every image once into an in-memory ArrayDataset (fast batching) whose samples
        equal this folder's.

        The folder's own ``transform`` is kept: its leading deterministic steps (Resize, Pad,
        Normalize, ...) are applied once here, which is what lets images of different sizes be
        stacked; the steps from the first random one (or plain callable) on, then ``transform``,
        become the ArrayDataset's per-read transform. After the deterministic steps every image
        must have one shape (``size=``, a leading Resize, or images of equal size)."""
        now, later = _split_fixed_prefix(self.transform)
        images = []
        for i in range(len(self)):
            x = self.load_image(i)
            images.append(x if now is None else apply_transform(now, x))
        shapes = {x.shape for x in images}
        if len(shapes) > 1:
            raise ValueError(f"ImageFolder.to_array_dataset: images have different shapes "
                             f"{sorted(shapes)[:3]}; make the ImageFolder with size=(h, w) (or "
                             "put a Resize before any random step of its transform)")
        per_read = [t for t in (later, transform) if t is not None]
        per_read = (None if not per_read else per_read[0] if len(per_read) == 1
                    else Compose(per_read))
        return ArrayDataset(np.stack(images), self.targets, classes=self.classes,
                            transform=per_read)

    def __repr__(self) -> str:
        return (f"ImageFolder(root={str(self.root)!r}, n={len(self)}, classes={len(self.classes)}, "
                f"mode={self.mode!r}, size={self.size})")
