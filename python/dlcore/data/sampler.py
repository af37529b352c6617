"""Samplers: the order in which a DataLoader visits a data set (``torch.utils.data``'s names)."""
from __future__ import annotations

import math
import numbers

import numpy as np


class Sampler:
    """Base class: an iterable of indices with a length."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler must define __iter__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler must define __len__")


def _permutation(n, seed):
    """A permutation of range(n) from dlcore's counter-based generator seeded by ``seed``, drawn
    without disturbing the global generator's state."""
    from .._random import get_rng_state, manual_seed, randperm, set_rng_state

    state = get_rng_state()
    try:
        manual_seed(seed)
        return randperm(n).numpy()
    finally:
        set_rng_state(state)


class DistributedSampler(Sampler):
    """Each of ``num_replicas`` ranks gets a disjoint shard of the data set: the (shuffled) indices
    are padded by repeating the first ones until they divide evenly (or, with ``drop_last``, the
    tail is dropped), and rank r takes every num_replicas-th index starting at r. The shuffle is
    seeded by ``seed + epoch``: call ``set_epoch(epoch)`` before each epoch so every rank draws the
    same new permutation. num_replicas and rank default to the process group's."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from .. import distributed as dist

        if num_replicas is None or rank is None:
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "dlcore.distributed.init_process_group() first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas}")
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Make the next iteration use the permutation of ``seed + epoch``."""
        self.epoch = int(epoch)

    def __iter__(self):
        n = len(self.dataset)
        idx = _permutation(n, self.seed + self.epoch) if self.shuffle else np.arange(n, dtype=np.int64)
        if self.total_size > n:
            idx = np.concatenate([idx, np.resize(idx, self.total_size - n)]) if n else idx
        idx = idx[:self.total_size]
        return iter(idx[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples
