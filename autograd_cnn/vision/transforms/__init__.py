"""torchvision.transforms: the library's transforms (``autograd_cnn.data.transforms``), which take
PIL images, numpy arrays and Tensors as torchvision's do. ``functional`` has the function forms."""

from ...data.transforms import (  # noqa: F401  (re-exported names)
    CenterCrop, ColorJitter, Compose, ConvertImageDtype, GaussianBlur, Grayscale,
    InterpolationMode, Lambda, Normalize, Pad, PILToTensor, RandomAffine, RandomApply,
    RandomChoice, RandomCrop, RandomErasing, RandomGrayscale, RandomHorizontalFlip, RandomOrder,
    RandomResizedCrop, RandomRotation, RandomVerticalFlip, Resize, ToPILImage, ToTensor,
)
from . import functional  # noqa: E402

__all__ = ["Compose", "ToTensor", "ToPILImage", "Normalize", "Resize", "CenterCrop", "Pad",
           "Lambda", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomResizedCrop", "ColorJitter", "RandomRotation", "RandomAffine", "Grayscale",
           "RandomGrayscale", "GaussianBlur", "InterpolationMode", "RandomApply", "RandomChoice",
           "RandomOrder", "RandomErasing", "PILToTensor", "ConvertImageDtype", "functional"]
