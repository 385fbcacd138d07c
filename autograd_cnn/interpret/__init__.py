"""Looking inside networks (drawn by ``autograd_cnn.viz``):

    gradient_flow    GradientFlow: per-layer gradient norms and activation statistics per step
    attribution      saliency, occlusion, class_activation_map, grad_cam: which pixels matter
    deconvnet        deconvnet: a unit projected back to pixels (Zeiler & Fergus)
    activation_max   activation_maximization: the input a unit likes best
    features         feature_maps, top_k_patches, receptive_field, penultimate_features, pca, tsne

All take images (C, H, W) or batches (N, C, H, W) as arrays or Tensors and return numpy
arrays; they run the model in eval mode and leave its mode and parameter gradients as found.
"""

from .activation_max import activation_maximization, gaussian_blur
from .attribution import class_activation_map, grad_cam, occlusion, saliency
from .deconvnet import deconvnet
from .features import (feature_maps, pca, penultimate_features, receptive_field,
                       top_k_patches, tsne)
from .gradient_flow import GradientFlow

__all__ = ["GradientFlow", "saliency", "occlusion", "class_activation_map", "grad_cam",
           "deconvnet", "activation_maximization", "gaussian_blur", "feature_maps",
           "top_k_patches", "receptive_field", "penultimate_features", "pca", "tsne"]
