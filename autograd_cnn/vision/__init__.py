"""torchvision's names on top of this library: ``import autograd_cnn.vision as torchvision``.

    from autograd_cnn.vision import datasets, models, transforms, utils
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST("data", train=True, download=True, transform=tf)   # data/MNIST/raw
    model = models.resnet18(weights=None, num_classes=10)
    utils.save_image(batch, "grid.png", nrow=8, normalize=True)

datasets    MNIST, FashionMNIST, CIFAR10, CIFAR100 (torchvision's folders, files and download
            rules; samples are PIL images, as torchvision's), ImageFolder / DatasetFolder
transforms  autograd_cnn.data.transforms (ToTensor, Normalize, Resize, RandomResizedCrop, ...)
models      the zoo of autograd_cnn.models with torchvision's ``weights=`` constructors
utils       make_grid, save_image

``autograd_cnn.data`` and ``autograd_cnn.models`` stay the library's own, array-first API; this
package adapts them to the torchvision conventions that ported scripts rely on.
"""

__version__ = "0.1.0"

from . import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
