"""IDX reader, Fashion-MNIST/MNIST data sets, batch transforms and the DataLoader's batched fetch.

Most tests write their own small IDX files; the tests on the real files run when Debian's
dataset-fashion-mnist is installed (CI installs it) and skip, saying so, otherwise."""
import gzip
import os
import struct

import numpy as np
import pytest

import dlcore
from dlcore.data import DataLoader, FashionMNIST, MNIST, read_idx, transforms
from dlcore.data import fashion_mnist as fm


def write_idx(path, arr, code=0x08, compress=True, truncate=0):
    arr = np.asarray(arr)
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    raw = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(dt).tobytes()
    if truncate:
        raw = raw[:-truncate]
    with open(path, "wb") as f:
        f.write(gzip.compress(raw) if compress else raw)


def make_tree(root, n_train=5010, n_test=30, size=4, seed=0):
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        write_idx(os.path.join(root, fm.FILES[split][0]), x)
        write_idx(os.path.join(root, fm.FILES[split][1]), y)
        data[split] = (x, y)
    return data


@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                        (0x0D, np.float32), (0x0E, np.float64)])
@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_every_type(tmp_path, code, dtype, compress):
    arr = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
    p = tmp_path / "a.idx"
    write_idx(p, arr, code, compress)
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_truncated_file_is_an_error(tmp_path, compress):
    p = tmp_path / "t.idx"
    write_idx(p, np.zeros((4, 5), np.uint8), compress=compress, truncate=3)
    with pytest.raises(ValueError, match="^read_idx: .*truncated or corrupt"):
        read_idx(p)


def test_read_idx_corrupt_gzip_and_bad_magic(tmp_path):
    p = tmp_path / "c.gz"
    good = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]))
    p.write_bytes(good[:-6])  # gzip stream cut off
    with pytest.raises(ValueError, match="^read_idx: .*truncated or corrupt gzip"):
        read_idx(p)
    q = tmp_path / "m.idx"
    q.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="^read_idx: .*bad magic"):
        read_idx(q)
    r = tmp_path / "u.idx"
    r.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="^read_idx: .*unknown IDX type"):
        read_idx(r)


def test_splits_are_fixed_disjoint_and_complete(tmp_path):
    data = make_tree(tmp_path)
    tr = FashionMNIST("train", root=tmp_path, normalize=False, as_tensor=False)
    va = FashionMNIST("val", root=tmp_path, normalize=False, as_tensor=False)
    full = FashionMNIST("train_full", root=tmp_path, normalize=False, as_tensor=False)
    te = FashionMNIST("test", root=tmp_path, normalize=False, as_tensor=False)
    assert (len(tr), len(va), len(full), len(te)) == (10, 5000, 5010, 30)
    x, y = data["train"]
    np.testing.assert_array_equal(full.images[:, 0] * 255, x.astype(np.float32))
    np.testing.assert_array_equal(full.labels, y)
    # train and val partition the official training set, by the documented permutation
    order = np.random.default_rng(fm.SPLIT_SEED).permutation(len(y))
    np.testing.assert_array_equal(va.labels, y[np.sort(order[-fm.N_VAL:])])
    rows = lambda d: {r.tobytes() for r in (d.images * 255).round().astype(np.uint8)}  # noqa: E731
    assert len(rows(full)) == len(full)  # random 4x4 images: all distinct
    assert rows(tr) | rows(va) == rows(full) and not rows(tr) & rows(va)
    assert te.images.shape == (30, 1, 4, 4) and te.images.dtype == np.float32


def test_normalize_uses_training_statistics(tmp_path):
    make_tree(tmp_path, n_train=5001)
    raw = FashionMNIST("test", root=tmp_path, normalize=False, as_tensor=False)
    norm = FashionMNIST("test", root=tmp_path, as_tensor=False)
    np.testing.assert_allclose(norm.images, (raw.images - fm.MEAN) / fm.STD, rtol=1e-6, atol=1e-6)
    mn = MNIST("test", root=tmp_path, as_tensor=False)
    np.testing.assert_allclose(mn.images, (raw.images - 0.1307) / 0.3081, rtol=1e-6, atol=1e-6)


def test_missing_data_set_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="^FashionMNIST: data set not found.*apt-get install dataset-fashion-mnist"):
        FashionMNIST("train", root=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="^FashionMNIST: split"):
        FashionMNIST("validation", root=tmp_path)


def test_dlcore_data_env_variable_is_searched(tmp_path, monkeypatch):
    make_tree(tmp_path / "fashion-mnist", n_train=5001)
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    assert len(FashionMNIST("test")) == 30


def test_corrupt_labels_are_an_error(tmp_path):
    make_tree(tmp_path, n_train=5001)
    write_idx(tmp_path / fm.FILES["test"][1], np.full(30, 11, np.uint8))
    with pytest.raises(ValueError, match="^FashionMNIST: test labels outside"):
        FashionMNIST("test", root=tmp_path)
    write_idx(tmp_path / fm.FILES["test"][1], np.zeros(29, np.uint8))
    with pytest.raises(ValueError, match="^FashionMNIST: test files disagree"):
        FashionMNIST("test", root=tmp_path)


def test_dataloader_fetches_whole_batches_reproducibly(tmp_path):
    make_tree(tmp_path, n_train=5001)
    calls = []

    class Counting(FashionMNIST):
        def __getitems__(self, indices):
            calls.append(len(indices))
            return super().__getitems__(indices)

    ds = Counting("test", root=tmp_path)
    dlcore.manual_seed(3)
    a = [(x.numpy().copy(), y.numpy().copy()) for x, y in DataLoader(ds, batch_size=8, shuffle=True)]
    assert calls == [8, 8, 8, 6]
    dlcore.manual_seed(3)
    b = [(x.numpy(), y.numpy()) for x, y in DataLoader(ds, batch_size=8, shuffle=True)]
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    seen = np.concatenate([y for _, y in a])
    np.testing.assert_array_equal(np.sort(seen), np.sort(ds.labels))
    x0, y0 = ds[5]
    assert tuple(x0.shape) == (1, 4, 4) and int(y0.item()) == ds.labels[5]


def _batch(n=16, c=2, h=5, w=7, seed=1):
    return np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)


def test_random_crop_windows_come_from_the_padded_image_and_are_seeded():
    x = _batch()
    t = transforms.RandomCrop((5, 7), padding=2)
    dlcore.manual_seed(0)
    out = t(x)
    dlcore.manual_seed(0)
    np.testing.assert_array_equal(out, t(x))
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for i in range(len(x)):
        hits = [(oy, ox) for oy in range(5) for ox in range(5)
                if np.array_equal(padded[i, :, oy:oy + 5, ox:ox + 7], out[i])]
        assert hits, f"image {i} is not a window of its padded input"
        offsets.add(hits[0])
    assert len(offsets) > 3  # positions differ between images
    np.testing.assert_array_equal(transforms.RandomCrop((5, 7))(x), x)
    with pytest.raises(ValueError, match="^RandomCrop: crop"):
        transforms.RandomCrop(9)(x)


def test_random_horizontal_flip():
    x = _batch()
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    out = transforms.RandomHorizontalFlip()(x)
    flipped = [np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)]
    kept = [np.array_equal(o, xi) for o, xi in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    with pytest.raises(ValueError, match="^RandomHorizontalFlip"):
        transforms.RandomHorizontalFlip(1.5)


def test_normalize_and_compose():
    x = _batch(c=2)
    t = transforms.Compose([transforms.Normalize([1.0, 2.0], [2.0, 4.0])])
    np.testing.assert_allclose(t(x), (x - np.array([1, 2]).reshape(1, 2, 1, 1)) / np.array([2, 4]).reshape(1, 2, 1, 1),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="^Normalize: mean has 3 values for 2 channels"):
        transforms.Normalize([0, 0, 0], [1, 1, 1])(x)
    with pytest.raises(TypeError, match="^Compose"):
        transforms.Compose([3])


def test_transform_is_applied_per_batch(tmp_path):
    make_tree(tmp_path, n_train=5001)
    ds = FashionMNIST("test", root=tmp_path, normalize=False, transform=transforms.RandomHorizontalFlip(1.0))
    x, _ = ds[np.arange(4)]
    np.testing.assert_array_equal(x.numpy(), ds.images[:4][..., ::-1])


REAL = os.path.isdir(fm.DEBIAN_DIR)


@pytest.mark.skipif(not REAL, reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist():
    te = FashionMNIST("test", normalize=False, as_tensor=False)
    assert te.images.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(te.labels), [1000] * 10)
    va = FashionMNIST("val", as_tensor=False)
    assert len(va) == 5000 and len(np.unique(va.labels)) == 10
    full = FashionMNIST("train_full", normalize=False, as_tensor=False)
    assert abs(float(full.images.mean()) - fm.MEAN) < 1e-3 and abs(float(full.images.std()) - fm.STD) < 1e-3
