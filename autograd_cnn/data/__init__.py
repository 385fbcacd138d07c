"""Datasets, the DataLoader, transforms, and loaders for the standard file formats.

    from autograd_cnn.data import DataLoader, digits, transforms as T
    train = digits(split="train")                      # bundled (scikit-learn's 8x8 digits), 1x32x32
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=0,
                        transform=T.RandomAffine(degrees=10, translate=(0.1, 0.1)))

Files a user brings: ``MNIST`` / ``FashionMNIST`` (IDX, .gz or raw), ``CIFAR10`` / ``CIFAR100``
(the binary version), ``ImageFolder`` (one subfolder per class, read with Pillow).
``download_mnist`` fetches MNIST with SHA-256 verification.
"""

from . import image_ops, transforms
from .cifar import CIFAR10, CIFAR100, read_cifar_binary, read_cifar_python
from .dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split, stratified_split
from .bundled import digits
from .fetch import ChecksumError, download, download_mnist, md5sum, sha256sum
from .image_folder import ImageFolder
from .loader import DataLoader, default_collate
from .worker import WorkerInfo, get_worker_info
from .mnist import MNIST, FashionMNIST, read_idx, read_idx_images, read_idx_labels
from .npy import read_npy

__all__ = [
    "Dataset", "TensorDataset", "ArrayDataset", "Subset", "random_split", "stratified_split",
    "DataLoader", "default_collate", "get_worker_info", "WorkerInfo", "digits", "transforms", "image_ops",
    "MNIST", "FashionMNIST", "read_idx", "read_idx_images", "read_idx_labels",
    "CIFAR10", "CIFAR100", "read_cifar_binary", "read_cifar_python", "ImageFolder", "read_npy",
    "download", "download_mnist", "sha256sum", "md5sum", "ChecksumError",
]
