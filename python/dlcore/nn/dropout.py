"""Channel dropout modules (Dropout1d, Dropout2d) and Unflatten (torch.nn semantics)."""
from __future__ import annotations

from . import functional_norm as F
from .module import Module


class _DropoutNd(Module):
    _fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) or (C, L) input with probability p while training (mask
    from dlcore's seeded generator, kept channels scaled by 1/(1-p)); the identity in eval mode."""

    def forward(self, input):
        """``F.dropout1d(input, p, training)``."""
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) input with probability p while training (mask from
    dlcore's seeded generator, kept channels scaled by 1/(1-p)); the identity in eval mode."""

    def forward(self, input):
        """``F.dropout2d(input, p, training)``."""
        return F.dropout2d(input, self.p, self.training)


class Unflatten(Module):
    """Expands dim `dim` of the input into `unflattened_size` (the inverse of Flatten; one entry
    may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(int(s) for s in unflattened_size)

    def forward(self, input):
        """``input.reshape(shape[:dim] + unflattened_size + shape[dim + 1:])``."""
        nd = input.ndim
        if not -nd <= self.dim < nd:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for a {nd}-d input")
        d = self.dim % nd
        sizes = self.unflattened_size
        known = 1
        for s in sizes:
            known *= s if s != -1 else 1
        if sizes.count(-1) > 1 or (-1 not in sizes and known != input.shape[d]) or \
                (-1 in sizes and (known == 0 or input.shape[d] % known)):
            raise ValueError(f"Unflatten: unflattened_size {sizes} does not match the size {input.shape[d]} of dim "
                             f"{self.dim}")
        return input.reshape(tuple(input.shape[:d]) + sizes + tuple(input.shape[d + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
