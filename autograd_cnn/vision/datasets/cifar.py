"""CIFAR-10 / CIFAR-100 with torchvision's layout and files: the "python version" batches in
``root/cifar-10-batches-py`` (``root/cifar-100-python``), checked against the MD5 sums
torchvision publishes, unpickled safely (``autograd_cnn.data.cifar.read_cifar_python``), and
downloaded and extracted by ``download=True`` only when a file is missing or damaged."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np

from ...data import fetch
from ...data.cifar import read_cifar_python
from ...data.dataset import _check_index
from ...data.pil import pillow
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


class CIFAR10(VisionDataset):
    """CIFAR10 (root, train=True, transform=None, target_transform=None, download=False).

    A sample is (PIL RGB image 32x32, int); ``data`` is a uint8 array (N, 32, 32, 3) (HWC, as
    torchvision's), ``targets`` a list of ints, ``classes`` the names from batches.meta."""

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    label_key = "labels"

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self._fetch_or_find(train, download, self._check_integrity,
                            f"looked in {self._folder}", kind=" or corrupted")
        data, targets = [], []
        for name, _ in (self.train_list if self.train else self.test_list):
            images, labels, _ = read_cifar_python(self._folder / name, self.label_key)
            data.append(images)
            targets.extend(int(t) for t in labels)
        self.data = np.ascontiguousarray(np.vstack(data).transpose(0, 2, 3, 1))  # -> NHWC
        self.targets = targets
        self._load_meta()
        bad = [t for t in targets if not 0 <= t < len(self.classes)]
        if bad:
            raise ValueError(f"{self._folder}: label {bad[0]} is out of range for the "
                             f"{len(self.classes)} classes of {self.meta['filename']}")

    @property
    def _folder(self) -> Path:
        return Path(self.root) / self.base_folder

    def _load_meta(self) -> None:
        path = self._folder / self.meta["filename"]
        if not _intact(path, self.meta["md5"]):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                               "download=True to download it")
        _, _, entry = read_cifar_python(path)
        names = entry.get(self.meta["key"])
        if not isinstance(names, list) or not names:
            raise ValueError(f"{path}: no class names under {self.meta['key']!r}")
        self.classes = [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _check_integrity(self) -> bool:
        return all(_intact(self._folder / name, md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self) -> None:
        """Fetch the archive (MD5-checked) and extract it, unless every batch is intact."""
        if self._check_integrity():
            return
        archive = fetch.download(self.url, Path(self.root) / self.filename, md5=self.tgz_md5)
        _extract(archive, Path(self.root))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        i = _check_index(index, len(self), type(self).__name__)
        return self._finish(pillow().fromarray(self.data[i]), self.targets[i])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: 100 fine classes (``targets`` are the fine labels, as in torchvision)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
    label_key = "fine_labels"


def _intact(path: Path, md5: str | None) -> bool:
    """torchvision's check_integrity: the file exists and (when given) has this MD5."""
    return path.is_file() and (md5 is None or fetch.md5sum(path) == md5)


def _extract(archive: Path, to: Path) -> None:
    """Extract a .tar.gz, refusing members that would land outside ``to`` (absolute paths,
    '..', links): the 'data' filter of Python's tarfile, spelled out for older Pythons."""
    to = to.resolve()
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            target = (to / member.name).resolve()
            if not (member.isfile() or member.isdir()) or os.path.commonpath(
                    [to, target]) != str(to):
                raise ValueError(f"{archive}: refusing archive member {member.name!r} (outside "
                                 f"{to}, or not a plain file)")
        tar.extractall(to, filter="data") if hasattr(tarfile, "data_filter") else \
            tar.extractall(to)
