import autograd_cnn as ac


def test_lecture_graph():
    x, y, z = ac.Value(-2.0), ac.Value(5.0), ac.Value(-4.0)
    f = (x + y) * z
    f.backward()
    assert (f.data, x.grad, y.grad, z.grad) == (-12.0, -4.0, -4.0, 3.0)
