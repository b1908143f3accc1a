r"""``nn.RReLU`` with a vectorised slope sampler on CPU (gCooL's ``activation: rrelu-random``).

In training, a randomised leaky ReLU multiplies every non-positive input by its own slope
:math:`a \sim U(\text{lower}, \text{upper})` (1/8 and 1/3 by default) and keeps the positive
ones; in evaluation the slope is the mean, :math:`(\text{lower} + \text{upper}) / 2`. That is
what ``nn.RReLU`` computes, and what gCooL's official encoder uses.

Why a module of our own: torch's CPU kernel (``rrelu_with_noise``) draws the slopes one element
at a time from its Mersenne Twister under a lock, on one core whatever the thread count. On
gCooL's Coauthor-CS encoder (a ``[18333, 7105]`` first layer, two views per step) that was
2.1-2.5 s per call, about a fifth of a two-thread training step, plus a copy of the whole noise
tensor that torch's functional wrapper makes. Here the slopes come from numpy's PCG64 in one
vectorised fill, then two in-place passes and one product: ``benchmarks/bench_rrelu.py``
(``benchmarks/RRELU.md``) times both in the same run.

What stays the same: the distribution of every slope, their independence, the evaluation
slope, the gradient (``grad * noise``, the saved slopes) and the memory (one ``[N, C]`` noise
tensor kept for backward, as torch keeps). What changes: the random stream. The slopes are
drawn from a PCG64 seeded by one 63-bit draw from torch's default generator per call, so a run
is as reproducible as before under :func:`gcl.utils.seed.seed_everything` and resumes
bit for bit from a checkpoint (torch's RNG state is saved), but its numbers differ from those of
``nn.RReLU``. ``activation: rrelu-random-torch`` keeps ``nn.RReLU`` itself, which is how records
made before this module (gCooL on Coauthor-CS, seeds 0-3) are reproduced. CUDA tensors, other
dtypes and evaluation mode go through ``nn.RReLU``'s own code (its CUDA sampler is parallel).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['RandomizedLeakyReLU', 'rrelu_train_cpu']

_SAMPLED = {torch.float32: np.float32, torch.float64: np.float64}


class _RReLUTrain(torch.autograd.Function):
    """``x * noise`` with ``noise = 1`` where ``x > 0`` and ``U(lower, upper)`` elsewhere."""

    @staticmethod
    def forward(ctx, x: Tensor, lower: float, upper: float) -> Tensor:  # noqa: ANN001
        seed = int(torch.randint(0, 2 ** 63 - 1, (1,), dtype=torch.int64))  # torch's generator
        noise = torch.empty(x.shape, dtype=x.dtype)                        # contiguous [*]
        rng = np.random.Generator(np.random.PCG64(seed))
        rng.random(out=noise.numpy().reshape(-1), dtype=_SAMPLED[x.dtype])   # U[0, 1)
        noise.mul_(upper - lower).add_(lower)
        noise.masked_fill_(x > 0, 1.0)           # torch's rule: slopes where x <= 0
        ctx.save_for_backward(noise)
        return x * noise

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: ANN001, ANN205
        (noise,) = ctx.saved_tensors
        return grad * noise, None, None


def rrelu_train_cpu(x: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0) -> Tensor:
    """The training-mode randomised leaky ReLU of a float32 / float64 CPU tensor ``x [*]``
    (same shape out), slopes drawn as described in this module's docstring."""
    if x.device.type != 'cpu' or x.dtype not in _SAMPLED:
        raise ValueError(f'rrelu_train_cpu takes float32 / float64 CPU tensors, got {x.dtype} '
                         f'on {x.device}')
    return _RReLUTrain.apply(x, float(lower), float(upper))


class RandomizedLeakyReLU(nn.RReLU):
    """``nn.RReLU`` (same arguments, same evaluation mode) whose training mode on float32 /
    float64 CPU tensors samples the slopes with :func:`rrelu_train_cpu`.

    Shapes:
        - **input:** ``[*]``; **output:** ``[*]``, same shape
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and not self.inplace and x.device.type == 'cpu' and x.dtype in _SAMPLED:
            return rrelu_train_cpu(x, self.lower, self.upper)
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace)
