"""dlcore.optim: optimizers and learning-rate schedulers (torch.optim's API).

    opt = optim.AdamW(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for x, y in data:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        sched.step()

Each ``step()`` updates all parameters of a group with one fused C++ kernel (``dlcore.ops``'s
sgd_step / adam_step / rmsprop_step), with torch's formulas: the same gradients give PyTorch's
parameter trajectories.  Gradient clipping lives in ``dlcore.nn.utils``, as in torch.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
