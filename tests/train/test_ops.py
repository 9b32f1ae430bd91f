"""train.ops: Linear against F.linear (outputs and both gradients, with oneDNN and without); the
attention setting against attention written out by hand."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import train.ops
from train.config import TrainConfig
from train.ops import Linear, attention_choice, attention_kernels


@pytest.mark.parametrize("onednn", [True, False])
def test_linear_equals_f_linear_with_its_gradients(onednn, monkeypatch):
    if not onednn:
        monkeypatch.setattr(train.ops, "_ONEDNN_LINEAR", None)
    torch.manual_seed(0)
    layer = Linear(24, 40)
    assert layer.bias is None and set(layer.state_dict()) == {"weight"}
    x = torch.randn(3, 7, 24, requires_grad=True)
    grad_y = torch.randn(3, 7, 40)
    results = []
    for fn in (layer, lambda t: F.linear(t, layer.weight)):
        y = fn(x)
        y.backward(grad_y)
        results.append((y.detach(), x.grad.clone(), layer.weight.grad.clone()))
        x.grad = layer.weight.grad = None
    for got, expected, what in zip(results[0], results[1], ("output", "grad of x", "grad of W"), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5, msg=what)


def test_autocast_and_bfloat16_take_f_linear():
    layer = Linear(8, 4)
    x = torch.randn(2, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(x).dtype == torch.bfloat16
    assert layer.bfloat16()(x.bfloat16()).dtype == torch.bfloat16


def _sdpa(device: str = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0):
    """A causal attention call's inputs (B, heads, T, head_dim) and output gradient."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    q, k, v, dy = (torch.randn(2, 4, 48, 64, generator=g).to(device, dtype) for _ in range(4))
    return [t.requires_grad_() for t in (q, k, v)], dy


def _attention_run(name: str, device: str = "cpu", dtype: torch.dtype = torch.float32):
    """(output, grads of q k v, the aten attention kernels that ran) under attention_kernels(name)."""
    from torch.profiler import profile

    (q, k, v), dy = _sdpa(device, dtype)
    with attention_kernels(name, torch.device(device)), profile() as prof:
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.backward(dy)
    ran = {e.name for e in prof.events() if e.name.startswith("aten::_scaled_dot_product")}
    return y.detach().float(), [t.grad.float() for t in (q, k, v)], ran


def _by_hand(device: str = "cpu", dtype: torch.dtype = torch.float32):
    """softmax(q k^T / sqrt(d) + causal mask) v in float32 and its gradients, written out."""
    (q, k, v), dy = _sdpa(device, dtype)
    q32, k32, v32 = (t.float() for t in (q, k, v))
    scores = q32 @ k32.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.ones(q.shape[-2], q.shape[-2], dtype=torch.bool, device=device).triu(1)
    y = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v32
    y.backward(dy.float())
    return y.detach(), [t.grad.float() for t in (q, k, v)]


@pytest.mark.parametrize(("name", "kernel"), [("flash", "aten::_scaled_dot_product_flash_attention_for_cpu"),
                                              ("math", "aten::_scaled_dot_product_attention_math")])
def test_attention_choice_runs_that_kernel_and_equals_attention_by_hand(name, kernel):
    y, grads, ran = _attention_run(name)
    assert kernel in ran and len({k for k in ran if not k.endswith("_backward")}) == 1
    expected_y, expected_grads = _by_hand()
    torch.testing.assert_close(y, expected_y, rtol=1e-4, atol=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_attention_auto_keeps_torch_order_on_cpu_and_cuda_only_kernels_are_an_error():
    assert attention_choice("auto", torch.device("cpu")) is None
    with attention_kernels("math", torch.device("cpu")):
        pass
    assert "aten::_scaled_dot_product_flash_attention_for_cpu" in _attention_run("auto")[2]  # restored after
    for name in ("cudnn", "efficient"):
        with pytest.raises(ValueError, match="CUDA only"):
            attention_choice(name, torch.device("cpu"))
    with pytest.raises(ValueError, match="attention"):
        TrainConfig(attention="triton")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["auto", "cudnn", "flash", "efficient"])
def test_cuda_attention_kernels_equal_attention_by_hand_in_bfloat16(name):
    """Every CUDA kernel the setting can pick, in bf16, against float32 attention written out; auto
    runs cuDNN's on Hopper and newer."""
    y, grads, ran = _attention_run(name, "cuda", torch.bfloat16)
    if attention_choice(name, torch.device("cuda")) == "cudnn":
        assert "aten::_scaled_dot_product_cudnn_attention" in ran, ran
    expected_y, expected_grads = _by_hand("cuda", torch.bfloat16)
    torch.testing.assert_close(y, expected_y, rtol=2e-2, atol=2e-2)
    for got, expected in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=5e-2, atol=5e-2)
