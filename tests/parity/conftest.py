"""The parity suite compares autograd_cnn with PyTorch 2.13 (`make parity` installs it into
.venv; without torch this conftest fails loudly rather than skipping). The op registry
tests/op_cases.py lives one folder up."""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(1)
