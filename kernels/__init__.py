"""Numba kernels: plain functions over C-contiguous arrays (imported as autograd_cnn.kernels)."""
