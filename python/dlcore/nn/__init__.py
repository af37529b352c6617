"""dlcore.nn: Module, Parameter, containers, layers, losses, init and functional (torch.nn's API).

    from dlcore import nn
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    loss = nn.functional.cross_entropy(model(x), y)
"""
from . import functional, init, utils  # noqa: F401
from . import parallel  # noqa: F401,E402  (DistributedDataParallel)
from .container import ModuleDict, ModuleList, Sequential
from .layers import (GELU, Dropout, Embedding, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, SiLU,
                     Sigmoid, Softmax, Softplus, Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, KLDivLoss, L1Loss, MSELoss,
                   NLLLoss)
from .module import Module
from .parameter import Buffer, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm  # noqa: E402
from .dropout import Dropout1d, Dropout2d, Unflatten  # noqa: E402
from . import positional  # noqa: F401,E402
from .attention import MultiheadAttention  # noqa: E402
from .positional import (LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding,  # noqa: E402
                         alibi_slopes)
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,  # noqa: E402
                          TransformerEncoderLayer)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402  (issue 26)

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softplus", "Softmax",
    "LogSoftmax", "Dropout", "Embedding",
    "MSELoss", "L1Loss", "GaussianNLLLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "functional", "init",
]

# Convolution and padding modules (issue 16).
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: E402
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d,  # noqa: E402
                      ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, ZeroPad1d, ZeroPad2d)

__all__ += ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d",
            "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
            "CircularPad1d", "CircularPad2d"]
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d,  # noqa: E402
                      MaxPool1d, MaxPool2d, MaxUnpool2d, PixelShuffle, PixelUnshuffle, Upsample,
                      UpsamplingBilinear2d, UpsamplingNearest2d)
__all__ += ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
            "AdaptiveMaxPool2d", "MaxUnpool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
            "PixelShuffle", "PixelUnshuffle"]
__all__ += ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "Dropout1d",
            "Dropout2d", "Unflatten"]
__all__ += ["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
            "TransformerDecoder", "Transformer", "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding",
            "RotaryEmbedding", "alibi_slopes", "positional"]
from .sync_batchnorm import SyncBatchNorm  # noqa: E402
__all__ += ["SyncBatchNorm"]
__all__ += ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
