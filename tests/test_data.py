"""dlcore.data: Dataset, TensorDataset, DataLoader (batching, shuffling, collate) and digits()."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, digits


def _ds(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y), x, y


def test_tensor_dataset_rows_and_zero_copy():
    ds, x, y = _ds()
    assert len(ds) == 10
    xi, yi = ds[4]
    assert np.array_equal(xi.numpy(), x[4]) and yi.item() == 4
    x[4, 0] = -1.0  # the dataset shares the array's memory
    assert ds[4][0].numpy()[0] == -1.0
    xb, yb = ds[np.array([7, 2])]
    assert np.array_equal(xb.numpy(), x[[7, 2]]) and np.array_equal(yb.numpy(), [7, 2])


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match="TensorDataset: size mismatch"):
        TensorDataset(np.zeros((3, 2), np.float32), np.zeros(4, np.int64))
    with pytest.raises(TypeError, match="TensorDataset"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset()


@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (1, 4, False),
                                             (5, 5, True), (4, 5, True)])
def test_batches_cover_the_data_once(n, bs, drop_last):
    ds, x, y = _ds(n)
    loader = DataLoader(ds, batch_size=bs, shuffle=True, drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (n // bs if drop_last else -(-n // bs))
    sizes = [b[1].shape[0] for b in batches]
    assert all(s == bs for s in sizes[:-1]) and (not batches or sizes[-1] <= bs)
    if drop_last:
        assert all(s == bs for s in sizes)
    seen = np.concatenate([b[1].numpy() for b in batches]) if batches else np.array([], np.int64)
    assert len(set(seen.tolist())) == len(seen)  # without replacement
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(n))
    for xb, yb in batches:  # rows stay paired
        assert np.array_equal(xb.numpy(), x[yb.numpy()])


def test_no_shuffle_keeps_order():
    ds, _, y = _ds(7)
    seen = np.concatenate([b[1].numpy() for b in DataLoader(ds, batch_size=2)])
    assert np.array_equal(seen, y)


def test_shuffle_is_seeded_and_new_each_epoch():
    ds, _, _ = _ds(50)
    loader = DataLoader(ds, batch_size=50, shuffle=True)

    def epochs():
        dlcore.manual_seed(123)
        return [next(iter(loader))[1].numpy().copy() for _ in range(3)]

    a, b = epochs(), epochs()
    for e1, e2 in zip(a, b):
        assert np.array_equal(e1, e2)
    assert not np.array_equal(a[0], a[1])  # a new permutation each epoch


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "y": i * i}


def test_generic_dataset_and_collate():
    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    assert batches[0]["x"].shape == (2, 2) and batches[0]["x"].dtype == dlcore.float32
    assert batches[1]["y"].tolist() == [4, 9]
    assert batches[2]["x"].shape == (1, 2)
    # Tensors are stacked, tuples collated field by field.
    t = default_collate([(dlcore.tensor([1.0, 2.0]), 1), (dlcore.tensor([3.0, 4.0]), 0)])
    assert t[0].shape == (2, 2) and t[1].tolist() == [1, 0]
    custom = list(DataLoader(Squares(), batch_size=5, collate_fn=lambda s: len(s)))
    assert custom == [5]


def test_subset():
    ds, _, _ = _ds(10)
    sub = Subset(ds, [9, 0, 4])
    assert len(sub) == 3 and sub[0][1].item() == 9
    assert [b[1].item() for b in DataLoader(sub)] == [9, 0, 4]


def test_base_dataset_and_loader_errors():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(ValueError, match="DataLoader: batch_size"):
        DataLoader(_ds()[0], batch_size=0)
    with pytest.raises(TypeError, match="DataLoader: dataset"):
        DataLoader(5)
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object()])


def test_digits_split_is_fixed_and_disjoint():
    d = digits()
    (xtr, ytr), (xva, yva), (xte, yte) = d["train"], d["val"], d["test"]
    assert (len(ytr), len(yva), len(yte)) == (1257, 270, 270)
    assert xtr.dtype == np.float32 and ytr.dtype == np.int64 and xtr.shape[1] == 64
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0
    assert set(ytr.tolist()) == set(range(10))
    rows = {r.tobytes() for r in xtr}
    # Some digits images are exact duplicates in the source data; nearly all test rows are new.
    assert sum(r.tobytes() in rows for r in xte) < 5
    again = digits()
    assert np.array_equal(again["test"][0], xte) and np.array_equal(again["test"][1], yte)
    assert digits(flatten=False)["train"][0].shape == (1257, 1, 8, 8)
