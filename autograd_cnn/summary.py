"""``summary(model, input_size)``: one forward pass with hooks, and a table per layer.

    import autograd_cnn as ac
    from autograd_cnn.models import vgg16
    s = ac.summary(vgg16(), (1, 3, 224, 224))      # prints the table, returns it as data
    s.total_params, s.total_macs, s.activation_bytes, s.layers[1].receptive_field

One row per layer (a module without submodules, or one that owns parameters itself), in the
order the forward pass calls them, and one row for each tensor made by plain functions inside a
module's forward (a residual addition, a concatenation: type "functional"), so the memory
column covers every array the forward pass allocates. Columns:

params      the layer's own parameters (each counted once even if the layer runs twice);
            frozen ones (requires_grad=False) are marked and totalled apart.
MACs        multiply-accumulate operations for the whole batch: Conv2d
            N Ho Wo C_out (C_in / groups) kh kw, ConvTranspose2d N H W C_in (C_out / groups)
            kh kw, Linear (output elements) x in_features, and whatever a module's own
            ``count_macs(inputs, output)`` returns. Bias additions, BatchNorm, activations,
            pooling, LRN, residual additions and concatenations count 0: they are a few
            operations per element, memory-bound, and the papers' tables leave them out too.
            FLOPs = 2 x MACs (a multiply and an add); this table always says MACs.
memory      bytes of the new array(s) the layer returns: 0 when the output is a view of its
            input (Flatten, Identity, Dropout in eval mode). ReLU counts: this library's ReLU
            makes a new array (``inplace=True`` is accepted but not in place).
RF / jump   receptive field (rows x cols of input pixels one output unit sees) and jump
            (input pixels between neighbouring output units), by the usual recurrence
                jump_out = jump_in * stride,  RF_out = RF_in + (k_eff - 1) * jump_in,
                k_eff = dilation (k - 1) + 1
            for convolutions and pools (any module with kernel_size/stride/padding attributes),
            RF_in + (ceil(k / s) - 1) jump_in and jump / s for transposed convolutions, the
            whole map for adaptive pools, unchanged for elementwise layers. A tensor made by
            plain functions (an addition, a concatenation) takes the largest field among the
            same-sized tensors of the enclosing module, which is what an addition or
            concatenation of them sees. None where the output is not an image (after Flatten).

The model runs in eval mode (``training=True`` runs it in training mode and restores every
buffer, so BatchNorm's running statistics are unchanged) under ``no_grad``, on an input drawn
from a fixed generator; its mode is restored afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .args import as_pair
from . import nn
from .engine import no_grad
from .tensor import Tensor, get_default_dtype

__all__ = ["summary", "ModelSummary", "LayerInfo"]


@dataclass
class LayerInfo:
    """One row of the table. ``receptive_field`` and ``jump`` are (rows, cols); a jump below
    one pixel (after upsampling) is a float."""

    name: str
    type: str
    output_shape: tuple
    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    memory_bytes: int = 0
    receptive_field: tuple | None = None
    jump: tuple | None = None

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def stride(self) -> tuple | None:
        """The jump: the output grid's step in input pixels (the product of the strides)."""
        return self.jump


@dataclass
class ModelSummary:
    """What ``summary`` returns: ``layers`` (LayerInfo rows) and the totals. ``str()`` (and
    ``print``) gives the table; the repr is one line, so that a notebook cell ending in
    ``ac.summary(...)`` does not show the table a second time after summary printed it."""

    model_name: str
    input_shapes: list
    layers: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    activation_bytes: int = 0
    param_bytes: int = 0
    uncalled_params: int = 0

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def flops(self) -> int:
        """2 x total_macs: each multiply-add is two floating-point operations."""
        return 2 * self.total_macs

    def __str__(self) -> str:
        return _table(self)

    def __repr__(self) -> str:
        return (f"ModelSummary({self.model_name}, {len(self.layers)} layers, "
                f"{self.total_params:,} params, {self.total_macs:,} MACs, "
                f"{self.activation_bytes:,} activation bytes)")


# ---- receptive-field bookkeeping --------------------------------------------------------------

def _spatial(t) -> bool:
    return isinstance(t, Tensor) and t.ndim == 4


def _next_field(module, x, out, rf):
    """(RF, jump) of ``out`` from the (RF, jump) of the module's input ``x``, or None."""
    if rf is None or not _spatial(out) or not _spatial(x):
        return None
    (rh, rw), (jh, jw) = rf
    hin, win = x.shape[-2:]
    hout, wout = out.shape[-2:]
    if isinstance(module, nn.ConvTranspose2d):
        (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
        return ((rh + (math.ceil((dh * (kh - 1) + 1) / sh) - 1) * jh,
                 rw + (math.ceil((dw * (kw - 1) + 1) / sw) - 1) * jw),
                (jh / sh, jw / sw))
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        sh, sw = hin // hout, win // wout
        kh, kw = hin - (hout - 1) * sh, win - (wout - 1) * sw
        return (rh + (kh - 1) * jh, rw + (kw - 1) * jw), (jh * sh, jw * sw)
    if isinstance(module, nn.Upsample):
        extra = 1 if module.mode == "bilinear" else 0
        return (rh + extra * jh, rw + extra * jw), (jh * Fraction(hin, hout),
                                                    jw * Fraction(win, wout))
    if all(hasattr(module, a) for a in ("kernel_size", "stride")):
        (kh, kw), (sh, sw) = as_pair(module.kernel_size), as_pair(module.stride)
        dh, dw = as_pair(getattr(module, "dilation", 1))
        return ((rh + dh * (kh - 1) * jh, rw + dw * (kw - 1) * jw), (jh * sh, jw * sw))
    if (hin, win) == (hout, wout):                       # elementwise or per-channel
        return rf
    # an unknown layer that resizes: treat it as a 1x1 window moved by the size ratio
    return rf[0], (jh * Fraction(hin, hout), jw * Fraction(win, wout))


def _plain(j):
    j = Fraction(j)
    return int(j) if j.denominator == 1 else float(j)


# ---- MACs ----------------------------------------------------------------------------------------

def _macs(module, inputs, out) -> int:
    counter = getattr(module, "count_macs", None)
    if callable(counter):
        return int(counter(inputs, out))
    if not isinstance(out, Tensor):
        return 0
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        return inputs[0].numel() * (module.out_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def _tensors(obj) -> list:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _shape(obj):
    ts = _tensors(obj)
    if isinstance(obj, Tensor):
        return tuple(obj.shape)
    return tuple(tuple(t.shape) for t in ts)


# ---- the recorder --------------------------------------------------------------------------------

class _Frame:
    __slots__ = ("name", "start", "inputs")

    def __init__(self, name, start, inputs):
        self.name, self.start, self.inputs = name, start, inputs


class _Recorder:
    """Forward pre-hooks and hooks on every module: a stack of the module calls in progress,
    the field of every tensor seen, and the rows."""

    def __init__(self, model):
        self.names = {id(m): n for n, m in model.named_modules()}
        self.rows: list[LayerInfo] = []
        self.known: dict[int, tuple] = {}      # id -> (tensor, field); holds the tensors alive
        self.order: list[int] = []             # ids in the order they were produced
        self.frames: list[_Frame] = []
        self.counted_modules: set[int] = set()
        self.counted_params: set[int] = set()
        self.current = ""                      # the layer running (for error messages)

    def has_row(self, module) -> bool:
        return (not module._modules or any(p is not None for p in module._parameters.values())
                or callable(getattr(module, "count_macs", None)))

    def record(self, t, rf) -> None:
        if id(t) not in self.known:
            self.order.append(id(t))
        self.known[id(t)] = (t, rf)

    def _new_bytes(self, outs, inputs) -> int:
        """Bytes of the outputs that are new arrays: not a tensor seen before (a container
        returning its last layer's output) and not a view of an input."""
        total = 0
        for o in outs:
            if id(o) in self.known or any(o is i or np.may_share_memory(o._data, i._data)
                                          for i in inputs):
                continue
            total += o._data.nbytes
        return total

    def _search(self, t):
        """The largest field among tensors of t's size made in the enclosing module calls,
        innermost first (for tensors made by plain functions)."""
        if not _spatial(t):
            return None
        size = t.shape[-2:]
        for frame in reversed(self.frames):
            best = None
            ids = self.order[frame.start:] + [id(i) for i in frame.inputs]
            for i in ids:
                if i not in self.known:
                    continue
                cand, rf = self.known[i]
                if rf is not None and _spatial(cand) and cand.shape[-2:] == size:
                    if best is None or rf[0][0] * rf[0][1] > best[0][0] * best[0][1]:
                        best = rf
            if best is not None:
                return best
        return None

    def functional(self, t, owner_name: str):
        """Register a tensor no layer produced: a 'functional' row in the enclosing module."""
        rf = self._search(t)
        inputs = [self.known[i][0] for i in self.order]
        memory = self._new_bytes([t], inputs) if isinstance(t, Tensor) else 0
        self.rows.append(LayerInfo(owner_name or "(model)", "functional", tuple(t.shape),
                                   memory_bytes=memory,
                                   receptive_field=rf[0] if rf else None,
                                   jump=tuple(_plain(j) for j in rf[1]) if rf else None))
        self.record(t, rf)
        return rf

    def field_of(self, t, owner_name: str):
        if id(t) in self.known:
            return self.known[id(t)][1]
        return self.functional(t, owner_name)

    # hooks
    def pre_hook(self, module, args):
        name = self.names.get(id(module), type(module).__name__)
        if self.has_row(module):
            owner = self.frames[-1].name if self.frames else ""
            for t in _tensors(args):
                self.field_of(t, owner)
        self.current = f"{name or '(model)'} ({type(module).__name__})"
        self.frames.append(_Frame(name, len(self.order), _tensors(args)))

    def hook(self, module, args, out):
        frame = self.frames[-1]          # popped at the end: a functional output searches it
        inputs = _tensors(args)
        outs = _tensors(out)
        if self.has_row(module):
            x = inputs[0] if inputs else None
            rf_in = self.known[id(x)][1] if x is not None and id(x) in self.known else None
            rf = _next_field(module, x, outs[0], rf_in) if outs else None
            params = trainable = 0
            if id(module) not in self.counted_modules:
                self.counted_modules.add(id(module))
                for p in module._parameters.values():
                    if p is not None and id(p) not in self.counted_params:
                        self.counted_params.add(id(p))
                        params += p.numel()
                        trainable += p.numel() if p.requires_grad else 0
            self.rows.append(LayerInfo(
                frame.name, type(module).__name__, _shape(out), params, trainable,
                _macs(module, inputs, out), self._new_bytes(outs, inputs),
                rf[0] if rf else None, tuple(_plain(j) for j in rf[1]) if rf else None))
            for o in outs:
                self.record(o, rf)
        else:
            for o in outs:
                if id(o) not in self.known:
                    self.functional(o, frame.name)
        self.frames.pop()


# ---- the entry point -----------------------------------------------------------------------------

def _input_shapes(input_size) -> list:
    if isinstance(input_size, (tuple, list)) and input_size and all(
            isinstance(s, (tuple, list)) for s in input_size):
        shapes = [tuple(s) for s in input_size]
    elif isinstance(input_size, (tuple, list)) and input_size:
        shapes = [tuple(input_size)]
    else:
        raise TypeError(f"summary: input_size must be a shape such as (1, 3, 224, 224) (batch "
                        f"first) or a list of shapes, got {input_size!r}")
    for s in shapes:
        if not s or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                            and d > 0 for d in s):
            raise ValueError(f"summary: every input dimension must be a positive int, got "
                             f"shape {s}; give the full shape with the batch first, e.g. "
                             f"(1, 3, 224, 224)")
    return shapes


def _input_dtypes(dtypes, n: int) -> list:
    if dtypes is None:
        return [np.dtype(get_default_dtype())] * n
    if not isinstance(dtypes, (list, tuple)):
        dtypes = [dtypes] * n
    if len(dtypes) != n:
        raise ValueError(f"summary: got {len(dtypes)} dtypes for {n} input(s)")
    out = []
    for d in dtypes:
        try:
            out.append(np.dtype(d))
        except TypeError:
            raise TypeError(f"summary: {d!r} is not a dtype") from None
    return out


def _make_input(shape, dtype, rng) -> Tensor:
    if dtype.kind == "f":
        return Tensor(rng.standard_normal(shape).astype(dtype))
    if dtype.kind in "iu":
        return Tensor(rng.integers(0, 2, shape).astype(dtype))
    raise TypeError(f"summary: cannot make an input of dtype {dtype}; use a float or int dtype")


def summary(model, input_size, dtypes=None, *, training: bool = False,
            verbose: bool = True) -> ModelSummary:
    """Run ``model`` once on random input(s) of ``input_size`` (batch first, e.g.
    (1, 3, 224, 224) for per-image numbers, or a list of shapes for several inputs) and
    ``dtypes`` (default: the default dtype); print the per-layer table (``verbose=False``: don't)
    and return it as a ``ModelSummary``. See the module docstring for what each column counts.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    shapes = _input_shapes(input_size)
    kinds = _input_dtypes(dtypes, len(shapes))
    rng = np.random.default_rng(0)
    inputs = [_make_input(s, d, rng) for s, d in zip(shapes, kinds)]

    rec = _Recorder(model)
    for i, x in enumerate(inputs):
        rec.rows.append(LayerInfo("input" if len(inputs) == 1 else f"input{i}", "Input", tuple(x.shape), memory_bytes=x._data.nbytes,
                                  receptive_field=(1, 1) if _spatial(x) else None,
                                  jump=(1, 1) if _spatial(x) else None))
        rec.record(x, ((1, 1), (1, 1)) if _spatial(x) else None)
    handles = []
    for _, m in model.named_modules():
        handles.append(m.register_forward_pre_hook(rec.pre_hook))
        handles.append(m.register_forward_hook(rec.hook))
    was_training = model.training
    saved = {k: v._data.copy() for k, v in model.named_buffers()} if training else {}
    try:
        model.train(bool(training))
        with no_grad():
            model(*inputs)
    except Exception as err:
        if hasattr(err, "add_note"):
            hint = ""
            if len(shapes) == 1 and len(shapes[0]) == 3:
                hint = (f"; input_size includes the batch dimension: did you mean "
                        f"{(1,) + shapes[0]}?")
            err.add_note(f"summary: the forward pass failed in {rec.current} "
                         f"(input shape(s) {shapes}){hint}")
        raise
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        for k, b in model.named_buffers():
            if k in saved:
                b._data[...] = saved[k]

    params = list(model.parameters())
    result = ModelSummary(type(model).__name__, shapes, rec.rows)
    result.total_params = sum(p.numel() for p in params)
    result.trainable_params = sum(p.numel() for p in params if p.requires_grad)
    result.param_bytes = sum(p._data.nbytes for p in params)
    result.total_macs = sum(r.macs for r in rec.rows)
    result.activation_bytes = sum(r.memory_bytes for r in rec.rows)
    result.uncalled_params = result.total_params - sum(r.params for r in rec.rows)
    if verbose:
        print(result)
    return result


# ---- printing ------------------------------------------------------------------------------------

def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB"


def _si(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _table(s: ModelSummary) -> str:
    head = ("Layer (type)", "Output shape", "Params", "MACs", "Memory", "RF", "Jump")
    rows = []
    for r in s.layers:
        params = f"{r.params:,}" + (f" ({r.frozen_params:,} frozen)" if r.frozen_params else "")
        rf = f"{r.receptive_field[0]}x{r.receptive_field[1]}" if r.receptive_field else "-"
        jump = "-" if r.jump is None else (str(r.jump[0]) if r.jump[0] == r.jump[1]
                                           else f"{r.jump[0]}x{r.jump[1]}")
        shape = str(r.output_shape).replace(" ", "")
        rows.append((f"{r.name} ({r.type})", shape, params, f"{r.macs:,}" if r.macs else "0",
                     _mb(r.memory_bytes), rf, jump))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "=" * len(line(head))
    out = [f"{s.model_name} summary, input {', '.join(str(x) for x in s.input_shapes)}",
           rule, line(head), rule] + [line(r) for r in rows] + [rule]
    out.append(f"Total params:      {s.total_params:,} ({_mb(s.param_bytes)})")
    out.append(f"Trainable params:  {s.trainable_params:,}")
    out.append(f"Frozen params:     {s.frozen_params:,}")
    if s.uncalled_params:
        out.append(f"  ({s.uncalled_params:,} of them in modules this forward did not call)")
    out.append(f"Total MACs:        {s.total_macs:,} ({_si(s.total_macs)} multiply-adds; "
               f"FLOPs = 2 x MACs = {_si(s.flops)})")
    out.append(f"Forward activations: {_mb(s.activation_bytes)} (every array the forward "
               f"pass allocates, input included; MB = 10^6 bytes)")
    return "\n".join(out)
