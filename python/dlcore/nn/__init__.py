"""dlcore.nn: Module, Parameter, containers, layers, losses, init and functional (torch.nn's API).

    from dlcore import nn
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    loss = nn.functional.cross_entropy(model(x), y)
"""
from . import functional, init, utils  # noqa: F401
from .container import ModuleDict, ModuleList, Sequential
from .layers import (GELU, Dropout, Embedding, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, SiLU,
                     Sigmoid, Softmax, Softplus, Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, KLDivLoss, L1Loss, MSELoss,
                   NLLLoss)
from .module import Module
from .parameter import Buffer, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm  # noqa: E402
from .dropout import Dropout1d, Dropout2d, Unflatten  # noqa: E402

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softplus", "Softmax",
    "LogSoftmax", "Dropout", "Embedding",
    "MSELoss", "L1Loss", "GaussianNLLLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "functional", "init",
]
__all__ += ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "Dropout1d",
            "Dropout2d", "Unflatten"]
