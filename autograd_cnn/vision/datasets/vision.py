"""VisionDataset: what torchvision's datasets share (root, transform, target_transform, repr)."""

from __future__ import annotations

import os

from ...data.dataset import Dataset

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    """Base class: ``root`` (``~`` expanded), ``transform`` applied to the image and
    ``target_transform`` to the target of each sample."""

    def __init__(self, root, transform=None, target_transform=None):
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{type(self).__name__}: {name} must be callable, got {fn!r}")
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        self.transform = transform
        self.target_transform = target_transform

    def _fetch_or_find(self, train: bool, download: bool, present, looked: str,
                       kind: str = "") -> None:
        """What the downloadable datasets share: keep ``train``, download when asked, then
        refuse with torchvision's message (and what was looked for) if the files are absent."""
        self.train = bool(train)
        if download:
            self.download()
        if not present():
            raise RuntimeError(f"Dataset not found{kind}. You can use download=True to "
                               f"download it ({looked})")

    def _finish(self, img, target):
        """(transform(img), target_transform(target)), each when given."""
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}"]
        lines += [ln for ln in self.extra_repr().splitlines() if ln]
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return f"Dataset {type(self).__name__}\n" + "\n".join("    " + ln for ln in lines)
