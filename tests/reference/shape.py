"""Reference implementations for the shape family (plain NumPy, clarity over speed)."""
import numpy as np


def _pad_dims(pad):
    """(dim offset from the end, left, right) for each padded dim: pad pairs go last dim first."""
    return [(-(j + 1), pad[2 * j], pad[2 * j + 1]) for j in range(len(pad) // 2)]


def pad(x, pad, mode="constant", value=0.0):
    """torch.nn.functional.pad. Negative pads crop; for circular the crop happens before the
    wrap, for reflect/replicate after (that is what torch does)."""
    x = np.asarray(x)
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    for d, l, r in _pad_dims(pad):
        ax = x.ndim + d
        n = x.shape[ax]
        if mode in ("constant", "circular"):
            x = np.take(x, range(max(-l, 0), n - max(-r, 0)), axis=ax)  # crop first
            widths = [(0, 0)] * x.ndim
            widths[ax] = (max(l, 0), max(r, 0))
            if mode == "constant":
                x = np.pad(x, widths, mode="constant", constant_values=np.array(value).astype(x.dtype))
            else:
                x = np.pad(x, widths, mode="wrap")
        else:
            widths = [(0, 0)] * x.ndim
            widths[ax] = (max(l, 0), max(r, 0))
            x = np.pad(x, widths, mode=np_mode)
            m = x.shape[ax]
            x = np.take(x, range(max(-l, 0), m - max(-r, 0)), axis=ax)  # crop after
    return x


def pad_backward(grad_out, input_shape, pad_, mode="constant"):
    """Each output position adds its gradient to the input element it was read from."""
    n = int(np.prod(input_shape))
    src = pad(np.arange(n, dtype=np.float64).reshape(input_shape), pad_, mode, value=-1.0).astype(np.int64)
    g = np.zeros(n, dtype=np.asarray(grad_out).dtype)
    valid = src >= 0
    np.add.at(g, src[valid], np.asarray(grad_out)[valid])
    return g.reshape(input_shape)


def index_select(x, axis, indices):
    return np.take(np.asarray(x), np.asarray(indices), axis=axis)


def index_select_backward(grad, axis, indices, input_shape):
    g = np.zeros(input_shape, dtype=np.asarray(grad).dtype)
    gm = np.moveaxis(g, axis, 0)
    np.add.at(gm, np.asarray(indices) % input_shape[axis], np.moveaxis(np.asarray(grad), axis, 0))
    return g


def embedding(weight, indices):
    return np.asarray(weight)[np.asarray(indices)]


def embedding_backward(grad_out, indices, num_embeddings, padding_idx=None):
    grad_out = np.asarray(grad_out)
    g = np.zeros((num_embeddings, grad_out.shape[-1]), grad_out.dtype)
    np.add.at(g, np.asarray(indices).reshape(-1), grad_out.reshape(-1, grad_out.shape[-1]))
    if padding_idx is not None:
        g[padding_idx] = 0
    return g


def masked_fill(x, mask, value):
    x = np.asarray(x)
    return np.where(np.broadcast_to(mask, x.shape), np.array(value).astype(x.dtype), x)
