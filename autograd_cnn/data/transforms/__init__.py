"""Composable, seeded image transforms with torchvision's names, on numpy arrays (C, H, W),
Tensors and PIL images.

    train_tf = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
                        Normalize(mean, std)])
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=train_tf)

Every transform is called as ``t(x, rng=None)``. A random transform draws from ``rng`` when one is
given, else from its own generator (``generator=``: an int seed or a numpy Generator), else from
the package-wide one (``autograd_cnn.manual_seed``). A DataLoader with a seed passes an ``rng``
derived from (seed, epoch), so the augmentation of epoch k is the same in a run resumed at epoch k.

Inputs as in torchvision: a PIL image gives a PIL image (the spatial transforms make the same
Pillow calls torchvision makes, so the pixels agree), an ``ac.Tensor`` gives a Tensor, a numpy
array a numpy array. ``ToTensor`` turns a PIL image or an HxWxC array into a (C, H, W) float32
Tensor in [0, 1] exactly as torchvision's does; Normalize wants that array or Tensor, not PIL.

Deterministic transforms (Normalize, SubtractMean, Pad, CenterCrop, Resize) also accept a batch
(N, C, H, W) and are marked ``batchable``: a DataLoader applies them to a whole batch at once.
Random ones draw per image and see one (C, H, W) image at a time; their batch forms
(``t.batched()``, batch.py) augment a whole batch in one call with parameters drawn per image,
and go to ``DataLoader(batch_transform=...)``: RandomAffine, the flips, RandomCrop, ColorJitter
(brightness, contrast) and GaussianNoise have one.

What the lecture notes list as data augmentation, and where it is here: mirroring
(RandomHorizontalFlip), random cropping (RandomCrop), rotation / shearing / scale / translation
(RandomAffine: one warp), colour shifting and brightness / contrast (ColorJitter,
RandomChannelShift), noise (GaussianNoise), blur (GaussianBlur); mean subtraction and
normalisation (SubtractMean, Normalize; fit them on the training set and reuse them for
validation/test).

Files: base.py (the protocol, Compose, Lambda), convert.py (ToTensor, ToPILImage, ToArray),
geometry.py (pad, crop, resize, flip, affine), intensity.py (normalise, grey, colour, noise,
blur), batch.py (batch forms of the random ones), stats.py (channel_stats, mean_image for
Normalize / SubtractMean).
"""

from .batch import (BatchColorJitter, BatchCompose, BatchGaussianNoise, BatchRandomAffine,
                    BatchRandomCrop, BatchRandomHorizontalFlip, BatchRandomVerticalFlip,
                    BatchTransform)
from .base import (Compose, Lambda, RandomApply, RandomChoice, RandomOrder, RandomTransform,
                   Transform, apply_transform)
from .convert import ConvertImageDtype, PILToTensor, ToArray, ToPILImage, ToTensor, to_tensor_array
from .geometry import (CenterCrop, InterpolationMode, Pad, RandomAffine, RandomCrop,
                       RandomHorizontalFlip, RandomResizedCrop, RandomRotation, RandomVerticalFlip,
                       Resize, resized_shape)
from .intensity import (ColorJitter, GaussianBlur, GaussianNoise, Grayscale, Normalize,
                        RandomChannelShift, RandomErasing, RandomGrayscale, SubtractMean)
from .stats import channel_stats, mean_image

__all__ = [
    "Transform", "RandomTransform", "Compose", "Lambda", "ToTensor", "ToPILImage", "ToArray",
    "Normalize", "SubtractMean", "Pad", "CenterCrop", "Resize", "InterpolationMode",
    "Grayscale", "RandomGrayscale", "RandomResizedCrop",
    "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomAffine", "RandomRotation",
    "ColorJitter", "RandomChannelShift", "GaussianNoise", "GaussianBlur", "apply_transform",
    "channel_stats", "mean_image", "to_tensor_array", "resized_shape", "RandomApply",
    "RandomChoice", "RandomOrder", "PILToTensor", "ConvertImageDtype", "RandomErasing",
    "BatchTransform", "BatchCompose", "BatchRandomAffine", "BatchRandomHorizontalFlip",
    "BatchRandomVerticalFlip", "BatchRandomCrop", "BatchColorJitter", "BatchGaussianNoise",
]
