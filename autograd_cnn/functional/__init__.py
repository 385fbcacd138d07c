"""The differentiable ops, one file per family; also reachable as ``autograd_cnn.nn.functional``.

    elementwise  + - * / ** and math functions, comparisons
    arith        // % fmod, div(rounding_mode=), floor/ceil/round/trunc, bitwise & | ^
    special      log2, exp2, log1p, expm1, erf
    scan         cumsum, cumprod, sort, argsort, topk
    index        index_select, scatter(_add), masked_fill, one_hot, roll, repeat_interleave,
                 tril, triu, embedding
    einsum       einsum
    activation   relu and friends, sigmoid, tanh, softmax, log_softmax
    reduce       sum, mean, max, min, var, std, logsumexp, argmax, ...
    shape        reshape, transpose, indexing, cat, stack, split, pad, gather, pixel_shuffle, ...
    linalg       matmul, linear
    pool         max/avg/adaptive pooling, max_unpool2d, interpolate
    conv         conv2d, conv2d_relu (fused), conv_transpose2d
    oned         conv1d, max_pool1d, avg_pool1d (the 2-D ops on a height of 1)
    resize       interpolate's separable modes (nearest-exact, bicubic, 1-D)
    loss         cross_entropy, nll_loss, mse_loss, ... and the lecture notes' multiclass SVM
    norm         batch_norm, layer_norm, group_norm, local_response_norm
    dropout      dropout, dropout2d
    inplace      add_, x += y, x[i] = v, ...: the out-of-place ops written back (and recorded)

``Tensor``'s methods and operators call these ops (``autograd_cnn/tensor_methods.py``).
"""

from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .oned import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .arith import *  # noqa: F401,F403  (after elementwise: div with rounding_mode)
from .special import *  # noqa: F401,F403
from .scan import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .einsum import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .inplace import *  # noqa: F401,F403
from . import replay  # noqa: F401,E402  (registers the ops' replays for ac.compile)
