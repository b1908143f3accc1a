"""The fixed random input of the loss checks: the same tensors in every environment (same torch,
same seed). ``h1, h2 [500, 64]``: two "views" that mostly agree; ``tau`` 0.3."""

import torch

torch.manual_seed(0)
h1 = torch.randn(500, 64) * 3
h2 = h1 + torch.randn(500, 64)
tau = 0.3
