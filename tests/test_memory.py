"""Freed activation buffers are reused instead of being mapped afresh for every batch."""

import platform
import subprocess
import sys
from pathlib import Path

import pytest

PAGE_FAULTS_PER_DECODE = """
import resource, sys, threading
import numpy as np
import torch
if sys.argv[1] == "reuse":
    from explorer.memory import reuse_freed_memory
    assert reuse_freed_memory()
from tests.factories import make_vae
torch.set_num_threads(1)
vae = make_vae()
latents = np.zeros((16, 8), np.float32)
faults = []
def decode_in_a_worker_thread():  # as the app's inference worker does
    for _ in range(5):
        vae.decode(latents)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        vae.decode(latents)
    faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
worker = threading.Thread(target=decode_in_a_worker_thread)
worker.start()
worker.join()
print(faults[0])
"""


def page_faults_per_decode(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PAGE_FAULTS_PER_DECODE, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the setting is glibc's",
)
def test_decoding_a_batch_stops_faulting_in_fresh_pages():
    default, reused = page_faults_per_decode("default"), page_faults_per_decode("reuse")
    assert default > 100, "glibc maps each batch's activations afresh by default"
    assert reused < default / 10
