"""Optimizers (filled by the optim work)."""
