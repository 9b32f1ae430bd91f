"""train.ops.Linear against F.linear: outputs and both gradients, with oneDNN and without."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import train.ops
from train.ops import Linear


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
