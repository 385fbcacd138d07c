"""Distance layers (PyTorch's nn.CosineSimilarity and nn.PairwiseDistance): the functional ops
as modules."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class CosineSimilarity(Module):
    """cos(x1, x2) along ``dim`` (F.cosine_similarity).  Shape: (*, D, *) x2 -> (*, *)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = int(dim), float(eps)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim (F.pairwise_distance).  Shape: (N, D) -> (N,)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = float(p), float(eps), bool(keepdim)

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def extra_repr(self) -> str:
        return f"p={self.norm}, eps={self.eps}, keepdim={self.keepdim}"
