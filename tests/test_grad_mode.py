"""Grad mode, inference mode and anomaly mode: PyTorch's semantics, per thread.

The expected values were read off torch 2.x: ``inference_mode`` turns grad mode off and
``enable_grad`` inside it reports grad mode on but records nothing; ``inference_mode(False)``
turns grad mode on; ``set_grad_enabled(flag)`` acts when called; a new thread starts with
grad mode on whatever the thread that started it set.
"""

import threading

import pytest

import autograd_cnn as ac


def _records() -> bool:
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    return (x * 2).requires_grad


def test_inference_mode_switches_grad_off_and_enable_grad_does_not_record_inside():
    assert not ac.is_inference_mode_enabled() and ac.is_grad_enabled()
    with ac.inference_mode():
        assert ac.is_inference_mode_enabled() and not ac.is_grad_enabled()
        assert not _records()
        with ac.enable_grad():
            # PyTorch: is_grad_enabled() True, inference mode still on, outputs do not record
            assert ac.is_grad_enabled() and ac.is_inference_mode_enabled()
            assert not _records()
        with ac.inference_mode(False):
            assert not ac.is_inference_mode_enabled() and ac.is_grad_enabled()
            assert _records()
        assert ac.is_inference_mode_enabled() and not ac.is_grad_enabled()
    assert not ac.is_inference_mode_enabled() and ac.is_grad_enabled() and _records()


def test_inference_mode_false_inside_no_grad_turns_grad_on_as_pytorch():
    with ac.no_grad():
        with ac.inference_mode(False):
            assert ac.is_grad_enabled() and not ac.is_inference_mode_enabled()
        assert not ac.is_grad_enabled()


@pytest.mark.parametrize("make", [lambda f: ac.inference_mode()(f), lambda f: ac.inference_mode(f)],
                         ids=["called", "bare"])
def test_inference_mode_as_decorator(make):
    @make
    def f(x):
        return ac.is_inference_mode_enabled(), ac.is_grad_enabled(), (x * 3).requires_grad

    assert f(ac.tensor([1.0], requires_grad=True)) == (True, False, False)
    assert not ac.is_inference_mode_enabled() and ac.is_grad_enabled()


def test_inference_mode_restores_when_the_body_raises():
    with pytest.raises(KeyError):
        with ac.inference_mode():
            raise KeyError("boom")
    assert not ac.is_inference_mode_enabled() and ac.is_grad_enabled()


def test_tensors_made_in_inference_mode_are_ordinary_afterwards():
    # Difference from PyTorch (README): PyTorch marks them inference tensors and refuses to
    # save them for backward; here they behave like tensors made under no_grad.
    with ac.inference_mode():
        w = ac.tensor([2.0, 3.0])
    w.requires_grad_(True)
    (w * w).sum().backward()
    assert w.grad.tolist() == [4.0, 6.0]


@pytest.mark.parametrize("cm", [ac.no_grad, ac.enable_grad], ids=["no_grad", "enable_grad"])
def test_no_grad_and_enable_grad_as_bare_decorators(cm):
    @cm
    def f():
        return ac.is_grad_enabled()

    with ac.set_grad_enabled(cm is ac.no_grad):      # start from the opposite mode
        assert f() is (cm is ac.enable_grad)


def test_no_grad_refuses_an_argument_that_is_not_a_function():
    with pytest.raises(TypeError, match="no_grad.*takes no arguments.*got 3"):
        ac.no_grad(3)


def test_set_grad_enabled_acts_when_called_and_as_decorator():
    ac.set_grad_enabled(False)
    try:
        assert not ac.is_grad_enabled() and not _records()
    finally:
        ac.set_grad_enabled(True)
    assert ac.is_grad_enabled()

    @ac.set_grad_enabled(False)
    def f():
        return ac.is_grad_enabled()

    assert ac.is_grad_enabled()          # making the decorator leaves the mode as it was
    assert f() is False and ac.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be a bool, got 'no'"):
        ac.set_grad_enabled("no")


def test_a_new_thread_starts_with_grad_mode_on_and_no_inference_or_anomaly_mode():
    seen = []

    def probe():
        seen.append((ac.is_grad_enabled(), ac.is_inference_mode_enabled(),
                     ac.is_anomaly_enabled(), _records()))

    with ac.no_grad(), ac.inference_mode(), ac.detect_anomaly():
        t = threading.Thread(target=probe)
        t.start()
        t.join()
    assert seen == [(True, False, False, True)]


def test_no_grad_evaluation_thread_does_not_switch_recording_off_in_a_training_thread():
    # The evaluation thread sits inside no_grad() / inference_mode() / detect_anomaly() while
    # the training thread builds a graph; the barrier makes the interleaving certain.
    inside, done = threading.Barrier(2), threading.Barrier(2)
    results = {}

    def evaluate():
        shared = ac.no_grad()                  # one instance entered here and in training
        with shared, ac.detect_anomaly():
            inside.wait()                      # training runs now
            done.wait()
            results["eval"] = (ac.is_grad_enabled(), ac.is_anomaly_enabled(), _records())
        results["eval after"] = ac.is_grad_enabled()
        results["shared"] = shared

    def train():
        inside.wait()
        results["train"] = (ac.is_grad_enabled(), ac.is_anomaly_enabled(), _records())
        x = ac.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        results["grad"] = x.grad.tolist()
        with ac.inference_mode():
            results["train inference"] = ac.is_inference_mode_enabled()
        done.wait()

    threads = [threading.Thread(target=evaluate), threading.Thread(target=train)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results["train"] == (True, False, True)
    assert results["grad"] == [2.0, 4.0]
    assert results["eval"] == (False, True, False)
    assert results["eval after"] is True and results["train inference"] is True
    # the shared instance, entered by one thread, restores that thread's mode only
    with results["shared"]:
        assert not ac.is_grad_enabled()
    assert ac.is_grad_enabled()


def test_one_instance_entered_by_two_threads_restores_each_threads_mode():
    ctx = ac.no_grad()
    entered, leave = threading.Barrier(2), threading.Barrier(2)
    after = {}

    def worker(name, start_mode):
        ac.set_grad_enabled(start_mode)
        with ctx:
            entered.wait()
            leave.wait()
        after[name] = ac.is_grad_enabled()

    threads = [threading.Thread(target=worker, args=("on", True)),
               threading.Thread(target=worker, args=("off", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert after == {"on": True, "off": False}


def test_concurrent_backward_passes_leave_the_garbage_collector_on():
    import gc

    assert gc.isenabled()
    go = threading.Barrier(4)

    def work():
        go.wait()
        for _ in range(50):
            x = ac.tensor([1.0, 2.0], requires_grad=True)
            y = x
            for _ in range(20):
                y = y * 1.01
            y.sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert gc.isenabled()


def test_create_graph_records_under_no_grad_but_not_in_inference_mode():
    # PyTorch: grad(..., create_graph=True) gives a gradient that requires grad inside
    # no_grad(), and one that does not inside inference_mode()
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    with ac.no_grad():
        g, = ac.grad(y, x, create_graph=True, retain_graph=True)
        assert not ac.is_grad_enabled()
    assert g.requires_grad and g.tolist() == [3.0, 12.0]
    with ac.inference_mode():
        g, = ac.grad(y, x, create_graph=True)
        assert ac.is_inference_mode_enabled() and not ac.is_grad_enabled()
    assert not g.requires_grad and g.tolist() == [3.0, 12.0]
