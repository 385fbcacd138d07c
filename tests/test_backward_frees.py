"""Backward without retain_graph frees the saved arrays and the activations, keeps the links:
the graph is still drawn afterwards, and a second backward says why it cannot run."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import engine
from autograd_cnn.viz import draw_graph


def _arrays(obj):
    """The numpy arrays in a saved context (a tuple, possibly nested, or a record)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _arrays(item)
    elif hasattr(obj, "_asdict"):
        yield from _arrays(tuple(obj))


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def small_cnn_loss():
    ac.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    x = ac.randn(16, 3, 32, 32)
    loss = nn.CrossEntropyLoss()(model(x), ac.tensor(np.arange(16) % 10))
    return model, x, loss


def test_saved_arrays_and_activations_are_gone_after_backward_and_the_graph_still_draws():
    small_cnn_loss()[2].backward()      # once before: kernels compiled, caches filled
    tracemalloc.start()                 # before the forward pass: it sees every activation
    try:
        model, x, loss = small_cnn_loss()
        leaves = {id(p._data) for p in model.parameters()} | {id(x._data)}
        inner = [n for n in engine.topological_order([loss]) if n._backward is not None]
        arrays = [a for n in inner if n is not loss for a in [n._data, *_arrays(n._saved)]
                  if id(_owner(a)) not in leaves]
        held = sum(a.nbytes for a in {id(_owner(a)): _owner(a) for a in arrays}.values())
        assert len(inner) >= 6 and held > 1_000_000      # conv, relu, pool, ... activations
        refs = [weakref.ref(a) for a in arrays] + [weakref.ref(n) for n in inner
                                                   if n is not loss]
        del arrays, inner
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert all(r() is None for r in refs)                  # every activation and saved array
    grads = sum(p.grad._data.nbytes for p in model.parameters())
    assert before - after + grads > 0.9 * held             # and the memory with them

    src = draw_graph(loss, params=dict(model.named_parameters())).source
    for op in ("conv2d", "relu", "max_pool2d", "linear", "cross_entropy"):
        assert op in src, op
    assert "0.weight" in src and "grad" in src      # the links reach the parameters
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                           "time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_keeps_the_saved_arrays_for_a_second_backward():
    model, x, loss = small_cnn_loss()
    loss.backward(retain_graph=True)
    first = [p.grad._data.copy() for p in model.parameters()]
    loss.backward()
    for p, g in zip(model.parameters(), first):
        np.testing.assert_allclose(p.grad._data, 2 * g, rtol=1e-5, atol=1e-7)


def test_a_value_graph_draws_after_backward_and_refuses_a_second():
    a, b = ac.Value(2.0, label="a"), ac.Value(-3.0, label="b")
    f = (a * b + a).tanh()
    f.backward()
    src = draw_graph(f).source
    assert "tanh" in src and "a" in src and "b" in src
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        f.backward()

