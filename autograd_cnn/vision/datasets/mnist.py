"""MNIST and Fashion-MNIST with torchvision's layout: ``root/MNIST/raw/<the four IDX files>``
(``root/FashionMNIST/raw`` for Fashion-MNIST), uncompressed or ``.gz``. The files are read by
``autograd_cnn.data.mnist`` (checked header, bounded decompression) and downloaded by
``autograd_cnn.data.fetch`` (SHA-256 checked, atomic)."""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path

from ...data import fetch
from ...data.dataset import _check_index
from ...data.mnist import read_idx_images, read_idx_labels
from ...data.pil import pillow
from ...tensor import Tensor
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST"]


class MNIST(VisionDataset):
    """MNIST (root, train=True, transform=None, target_transform=None, download=False).

    Files: ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (or ``.gz``).
    ``download=True`` fetches the missing ones from ``mirrors`` (each file checked against
    ``resources``' SHA-256) and leaves present ones alone. A sample is (PIL image of mode 'L',
    int); ``data`` is a uint8 Tensor (N, 28, 28), ``targets`` an int64 Tensor (N,)."""

    mirrors = list(fetch.MNIST_MIRRORS["mnist"])
    resources = list(fetch.MNIST_FILES["mnist"].items())      # (file name, SHA-256)
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self._fetch_or_find(train, download, self._check_exists,
                            f"looked for {', '.join(self._stems())} in {self.raw_folder}")
        images, labels = self._load_data()
        self.data = Tensor(images)
        self.targets = Tensor(labels)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def _stems(self) -> list[str]:
        return [name[:-3] if name.endswith(".gz") else name for name, _ in self.resources]

    def _file(self, stem: str) -> Path | None:
        """The file for ``stem`` in raw_folder: uncompressed (as torchvision leaves it) or .gz."""
        for name in (stem, stem + ".gz"):
            path = Path(self.raw_folder) / name
            if path.is_file():
                return path
        return None

    def _check_exists(self) -> bool:
        return all(self._file(stem) is not None for stem in self._stems())

    def _load_data(self):
        prefix = "train" if self.train else "t10k"
        images_path = self._file(f"{prefix}-images-idx3-ubyte")
        labels_path = self._file(f"{prefix}-labels-idx1-ubyte")
        images = read_idx_images(images_path)[:, 0]            # (N, 1, H, W) -> (N, H, W)
        labels = read_idx_labels(labels_path, num_classes=len(self.classes))
        if len(images) != len(labels):
            raise ValueError(f"{self.raw_folder}: {images_path.name} holds {len(images)} images "
                             f"but {labels_path.name} holds {len(labels)} labels; one of them "
                             "is from another set or damaged")
        return images, labels

    def download(self) -> None:
        """Fetch the files that are missing (none if all are there), each from the first
        mirror that has it with the right checksum."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for name, digest in self.resources:
            stem = name[:-3] if name.endswith(".gz") else name
            if self._file(stem) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = (mirror if mirror.endswith("/") else mirror + "/") + name
                try:
                    fetch.download(url, Path(self.raw_folder) / name, sha256=digest)
                    break
                except (urllib.error.URLError, OSError, fetch.ChecksumError) as err:
                    errors.append(f"\n  {url}: {err}")
            else:
                raise RuntimeError(f"Error downloading {name}:" + "".join(errors))

    # torchvision's old names, still in many published scripts
    train_data = test_data = property(lambda self: self.data)
    train_labels = test_labels = property(lambda self: self.targets)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        i = _check_index(index, len(self), type(self).__name__)
        img = pillow().fromarray(self.data._data[i])              # mode 'L', as torchvision
        return self._finish(img, int(self.targets._data[i]))

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): MNIST's files and rules in ``root/FashionMNIST/raw``."""

    mirrors = list(fetch.MNIST_MIRRORS["fashion"])
    resources = list(fetch.MNIST_FILES["fashion"].items())
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
