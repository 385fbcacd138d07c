"""torchvision's DatasetFolder and ImageFolder: ``root/<class>/**/<file>``, classes sorted,
samples (path, class index) in sorted walk order, each image loaded on access (by default as an
RGB PIL image). ``autograd_cnn.data.ImageFolder`` is the array-first variant (one decoded size,
grey or RGB, batched in memory); this one is torchvision's, for ported scripts."""

from __future__ import annotations

import os

from ...data.dataset import _check_index
from ...data.pil import open_image
from .vision import VisionDataset

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "pil_loader", "default_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path):
    """The image at ``path`` as an RGB PIL image, fully read (the file is closed). Images past
    Pillow's pixel limit and unreadable files raise ValueError naming the file."""
    with open_image(path, "pil_loader") as img:
        try:
            return img.convert("RGB")
        except Exception as err:                   # truncated data shows only when decoding
            raise ValueError(f"pil_loader: cannot decode image {path}: {err}") from None


default_loader = pil_loader


class DatasetFolder(VisionDataset):
    """DatasetFolder(root, loader, extensions=None, transform=None, target_transform=None,
    is_valid_file=None, allow_empty=False): exactly one of ``extensions`` (file name endings,
    case-insensitive) and ``is_valid_file`` (path -> bool) picks the files."""

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty: bool = False):
        super().__init__(root, transform, target_transform)
        if not callable(loader):
            raise TypeError(f"{type(self).__name__}: loader must be callable, got {loader!r}")
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx, extensions, is_valid_file,
                                    allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [s[1] for s in samples]

    @staticmethod
    def find_classes(directory) -> tuple[list[str], dict[str, int]]:
        """The sorted subfolder names of ``directory`` and their indices."""
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"Couldn't find any class folder in {directory}: it is not "
                                    "a folder")
        classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
        if not classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
        return classes, {c: i for i, c in enumerate(classes)}

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """(path, class index) of every valid file under each class folder, in sorted order."""
        if (extensions is None) == (is_valid_file is None):
            raise ValueError("Both extensions and is_valid_file cannot be None or not None at "
                             "the same time")
        if extensions is not None:
            endings = (extensions,) if isinstance(extensions, str) else tuple(extensions)
            endings = tuple(e.lower() for e in endings)

            def is_valid_file(path):
                return path.lower().endswith(endings)
        samples, empty = [], []
        for name in sorted(class_to_idx):
            folder = os.path.join(directory, name)
            found = 0
            for base, _, files in sorted(os.walk(folder, followlinks=True)):
                for fname in sorted(files):
                    path = os.path.join(base, fname)
                    if is_valid_file(path):
                        samples.append((path, class_to_idx[name]))
                        found += 1
            if not found:
                empty.append(name)
        if empty and not allow_empty:
            msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
            if extensions is not None:
                msg += ("Supported extensions are: "
                        f"{extensions if isinstance(extensions, str) else ', '.join(extensions)}")
            raise FileNotFoundError(msg)
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):
        i = _check_index(index, len(self), type(self).__name__)
        path, target = self.samples[i]
        return self._finish(self.loader(path), target)


class ImageFolder(DatasetFolder):
    """ImageFolder(root, transform=None, target_transform=None, loader=default_loader,
    is_valid_file=None, allow_empty=False): images with IMG_EXTENSIONS, loaded as RGB PIL
    images. ``imgs`` is ``samples`` (torchvision's old name)."""

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty: bool = False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
