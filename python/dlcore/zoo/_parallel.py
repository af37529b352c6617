"""``--distributed`` for the zoo recipes: the same recipe, data-parallel under ``mpirun -n P``.

The global batch is split over the ranks (each takes batch / P from a DistributedSampler shard;
the batch must divide evenly), the model is wrapped in DistributedDataParallel, and only rank 0
prints, shows progress, evaluates and writes files. Every rank starts from the same seed (so the
same initial weights, which DDP also broadcasts); after that each rank's generator is re-seeded
with seed + rank so that dropout masks and augmentations differ between ranks.
"""
from __future__ import annotations


class DataParallel:
    """The recipe-side helper (see the module docstring); a no-op when not ``enabled``."""

    def __init__(self, enabled):
        self.enabled = bool(enabled)
        self.rank, self.world = 0, 1
        if self.enabled:
            from .. import distributed as dist
            if not dist.is_initialized():
                dist.init_process_group()
            self.rank, self.world = dist.get_rank(), dist.get_world_size()

    @property
    def main(self):
        """Whether this rank prints and writes (rank 0)."""
        return self.rank == 0

    def wrap(self, model):
        """DistributedDataParallel(model) when distributed, else the model itself."""
        if not self.enabled:
            return model
        from ..nn.parallel import DistributedDataParallel
        return DistributedDataParallel(model)

    def reseed(self, seed):
        """Give each rank its own random stream after the (shared) initialisation."""
        if self.enabled and self.world > 1:
            from .._random import manual_seed
            manual_seed(seed + 7919 * self.rank)

    def loader(self, dataset, batch_size, drop_last, seed=0):
        """A DataLoader over this rank's shard with batch_size / world per rank."""
        from ..data import DataLoader, DistributedSampler

        if not self.enabled:
            return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=drop_last)
        if batch_size % self.world:
            raise ValueError(f"--distributed: the batch size {batch_size} must divide evenly over {self.world} ranks")
        self.sampler = DistributedSampler(dataset, num_replicas=self.world, rank=self.rank, shuffle=True,
                                          seed=seed, drop_last=True)
        return DataLoader(dataset, batch_size=batch_size // self.world, sampler=self.sampler, drop_last=drop_last)

    def set_epoch(self, epoch):
        """Reshuffle the shards for this epoch (same permutation on every rank)."""
        if self.enabled:
            self.sampler.set_epoch(epoch)

    def agree(self, flag):
        """Rank 0's ``flag`` on every rank (a time budget read on rank 0's clock must stop every
        rank at the same step, or the others would wait in DDP's collectives)."""
        if not self.enabled or self.world == 1:
            return bool(flag)
        import numpy as np

        from .. import distributed as dist
        buf = np.array([1 if flag else 0], dtype=np.int64)
        dist.broadcast(buf, src=0)
        return bool(buf[0])
