"""torchvision.datasets: MNIST, FashionMNIST, CIFAR10, CIFAR100, ImageFolder, DatasetFolder.

As torchvision's: ``root`` holds one folder per dataset (``root/MNIST/raw``,
``root/cifar-10-batches-py``), ``download=True`` fetches only what is missing and checks the
published checksums, a missing file without ``download=True`` raises RuntimeError("Dataset not
found. You can use download=True to download it"), and with ``transform=None`` a sample is
(PIL image, int class index); ``transform=transforms.ToTensor()`` gives a (C, H, W) Tensor.
``data`` and ``targets`` hold the whole set (MNIST: uint8 Tensor (N, 28, 28) and int64 Tensor;
CIFAR: uint8 array (N, 32, 32, 3) and a list of ints).
"""

from .cifar import CIFAR10, CIFAR100
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .mnist import MNIST, FashionMNIST
from .vision import VisionDataset

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageFolder",
           "DatasetFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader"]
