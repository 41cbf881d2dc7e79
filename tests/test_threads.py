"""The thread pool: sizing, overrides, concurrent callers, fork, and the ISA switch."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import weightinit as wi


def _run(code: str, env_extra: dict) -> str:
    env = dict(os.environ)
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_default_threads_is_the_affinity_mask():
    env = {k: v for k, v in os.environ.items() if k != "WEIGHTINIT_NUM_THREADS"}
    code = "import weightinit, os; print(weightinit.default_threads(), len(os.sched_getaffinity(0)))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    got, cpus = map(int, out.stdout.split())
    assert got == cpus


def test_default_threads_follows_a_narrowed_affinity_mask():
    code = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]});"
        "import weightinit; print(weightinit.default_threads())"
    )
    env = {k: v for k, v in os.environ.items() if k != "WEIGHTINIT_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("value, expected", [("3", "3"), ("1", "1"), ("0", None), ("lots", None)])
def test_env_override(value, expected):
    code = "import weightinit, os; print(weightinit.default_threads(), len(os.sched_getaffinity(0)))"
    got, cpus = _run(code, {"WEIGHTINIT_NUM_THREADS": value}).split()
    # invalid values fall back to the affinity count
    assert got == (expected if expected is not None else cpus)


def test_env_thread_count_does_not_change_values():
    code = (
        "import weightinit as wi, hashlib;"
        "x = wi.normal((1 << 20) + 3, seed=11, stream='w');"
        "print(hashlib.sha256(x.tobytes()).hexdigest())"
    )
    a = _run(code, {"WEIGHTINIT_NUM_THREADS": "1"})
    b = _run(code, {"WEIGHTINIT_NUM_THREADS": "5"})
    assert a == b == _run(code, {})


def test_concurrent_fills_from_many_python_threads():
    n = (1 << 18) + 11
    expected = {s: wi.normal(n, seed=s).tobytes() for s in range(8)}
    results = {}
    errors = []

    def work(s):
        try:
            for _ in range(5):
                x = wi.normal(n, seed=s, threads=2)
                if x.tobytes() != expected[s]:
                    errors.append(s)
            results[s] = True
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(results) == 8


def test_concurrent_generator_calls_get_distinct_streams():
    g = wi.Generator(5)
    out = [None] * 16

    def work(i):
        out[i] = g.next_stream()

    ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(set(out)) == 16
    assert set(out) == {wi.stream_id(f"weightinit.Generator/{k}") for k in range(16)}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python >= 3.12 warns on fork with threads
def test_fill_in_forked_child_after_pool_started():
    n = 1 << 20
    wi.uniform(n, seed=1, threads=2)  # the parent's pool now has workers
    expected = wi.uniform(n, seed=2, threads=2).tobytes()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the pool's workers did not survive the fork
        try:
            ok = wi.uniform(n, seed=2, threads=2).tobytes() == expected
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"
    assert os.WEXITSTATUS(status) == 0


def test_isa_env_forces_portable():
    assert _run("import weightinit; print(weightinit.isa())", {"WEIGHTINIT_ISA": "portable"}) == "portable"


def test_set_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="isa"):
        wi._core.set_isa("sse9")
    assert wi.isa() in ("avx2", "portable")


def test_threads_argument_larger_than_cpus_is_fine():
    x = np.empty((1 << 20) + 5, dtype=np.float32)
    y = np.empty_like(x)
    wi.trunc_normal_(x, seed=3, threads=64)
    wi.trunc_normal_(y, seed=3, threads=1)
    assert x.tobytes() == y.tobytes()
