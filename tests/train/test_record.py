"""The machine facts every run record carries."""

from __future__ import annotations

import json

import torch

from gcl.kernels.gemm import use_cpu_gemm
from gcl.train.record import environment


def test_environment_names_the_cpu_product_backend_in_use() -> None:
    # A CPU run's last float32 bits depend on the library its products ran in, so the record
    # must say which: the override is seen, not just the environment variable.
    with use_cpu_gemm('numpy'):
        assert environment()['cpu_gemm'] == 'numpy'
    with use_cpu_gemm('torch'):
        assert environment()['cpu_gemm'] == 'torch'


def test_environment_is_json_and_keeps_the_threads() -> None:
    env = environment()
    assert env['threads'] == torch.get_num_threads()
    assert env['cpu'] is None or (isinstance(env['cpu'], str) and env['cpu'])
    assert json.loads(json.dumps(env)) == env
