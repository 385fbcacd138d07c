"""The model zoo: the architectures of the lecture notes, built from ``nn``, one file per family,
each reading top to bottom like its paper's table.

    lenet       lenet5 (textbook; modern=True), lenet5_1998 (as published: 60,000 parameters)
    alexnet     alexnet (torchvision's keys), alexnet_paper (two towers, LRN)
    zfnet       zfnet
    vgg         vgg(config) for 'A', 'A-LRN', 'B', 'C', 'D', 'E'; vgg11/13/16/19(_bn)
    googlenet   googlenet (Inception v1 as the paper), Inception
    resnet      resnet18/34/50/101/152 (torchvision's keys), BasicBlock, Bottleneck;
                CIFAR resnet20/32/44/56/110 (option A shortcuts)
    blocks      DepthwiseSeparableConv2d, NiNBlock, conv1x1
    unet        unet (segmentation)
    deep_cnn    deep_cnn (a deep narrow plain or residual CNN, for the vanishing-gradient study)

Models whose torchvision namesake exists (alexnet, vgg*, resnet18-152) have its state_dict keys
and shapes, so converted weights load without renaming. ``ac.summary(model, input_size)`` prints
their per-layer tables.
"""

from .alexnet import AlexNet, alexnet, alexnet_paper
from .deep_cnn import ConvActBlock, DeepCNN, deep_cnn
from .blocks import DepthwiseSeparableConv2d, NiNBlock, conv1x1
from .googlenet import GoogLeNet, GoogLeNetOutputs, Inception, InceptionAux, googlenet
from .lenet import LeNet5, LeNet5_1998, lenet5, lenet5_1998
from .resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32,
                     resnet34, resnet44, resnet50, resnet56, resnet101, resnet110, resnet152)
from .unet import UNet, unet
from .vgg import (VGG, vgg, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,
                  vgg19_bn)
from .zfnet import ZFNet, zfnet

__all__ = [
    "LeNet5", "LeNet5_1998", "lenet5", "lenet5_1998",
    "AlexNet", "alexnet", "alexnet_paper", "ZFNet", "zfnet",
    "VGG", "vgg", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
    "vgg19_bn",
    "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "googlenet",
    "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101",
    "resnet152",
    "CifarResNet", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
    "DepthwiseSeparableConv2d", "NiNBlock", "conv1x1",
    "UNet", "unet",
    "DeepCNN", "ConvActBlock", "deep_cnn",
]
