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
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402  (issue 26)

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softplus", "Softmax",
    "LogSoftmax", "Dropout", "Embedding",
    "MSELoss", "L1Loss", "GaussianNLLLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "functional", "init",
]
__all__ += ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
