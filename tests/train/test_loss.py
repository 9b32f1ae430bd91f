"""The chunked output layer + cross-entropy against F.cross_entropy on the full logits: loss values
and the gradients w.r.t. the hidden states and the output weight."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import train.ops
from train.loss import linear_cross_entropy

N, C, V = 37, 24, 101  # 37 tokens: no chunk size below divides it


def inputs(dtype=torch.float32, ignore_every: int = 0, seed: int = 0, device: str = "cpu"):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, C, generator=g).to(device, dtype).requires_grad_()
    weight = (torch.randn(V, C, generator=g) * 0.3).to(device, dtype).requires_grad_()
    targets = torch.randint(0, V, (N,), generator=g).to(device)
    if ignore_every:
        targets[::ignore_every] = -100
    return h, weight, targets


def reference(h, weight, targets, scale: float = 1.0):
    """F.cross_entropy on the full float32 logits, as the unfused model computes them."""
    loss = F.cross_entropy(F.linear(h, weight).float(), targets, ignore_index=-100)
    (loss * scale).backward()
    grads = h.grad.clone(), weight.grad.clone()
    h.grad = weight.grad = None
    return loss.detach(), grads


def fused(h, weight, targets, chunk: int | None, scale: float = 1.0):
    loss = linear_cross_entropy(h, weight, targets, chunk=chunk)
    (loss * scale).backward()
    grads = h.grad.clone(), weight.grad.clone()
    h.grad = weight.grad = None
    return loss.detach(), grads


def assert_same(got, expected, rtol=1e-5, atol=1e-6):
    torch.testing.assert_close(got[0], expected[0], rtol=rtol, atol=atol)
    torch.testing.assert_close(got[1][0], expected[1][0], rtol=rtol, atol=atol, msg="grad of h")
    torch.testing.assert_close(got[1][1], expected[1][1], rtol=rtol, atol=atol, msg="grad of the weight")


@pytest.fixture(params=["cpu-eager", "portable"])
def code_path(request, monkeypatch):
    """cpu-eager: oneDNN matmuls and -log p; portable: the branches CUDA takes (torch.mm, log-sum-exp
    from the maxima), run here on the CPU."""
    if request.param == "portable":
        monkeypatch.setattr(train.ops, "_ONEDNN_LINEAR", None)
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    return request.param


@pytest.mark.parametrize("chunk", [1, 5, 8, 36, 37, 1000, None])
@pytest.mark.parametrize("ignore_every", [0, 3])
def test_float32_loss_and_gradients_equal_cross_entropy(chunk, ignore_every, code_path):
    h, weight, targets = inputs(ignore_every=ignore_every)
    assert_same(fused(h, weight, targets, chunk), reference(h, weight, targets))


def test_gradients_follow_grad_output():
    """A scaled loss (the trainer divides by the accumulation steps) scales both gradients."""
    h, weight, targets = inputs(ignore_every=4)
    assert_same(fused(h, weight, targets, 8, scale=0.25), reference(h, weight, targets, scale=0.25))


def test_batched_hidden_states_and_no_second_backward():
    h, weight, targets = inputs(ignore_every=5)
    h3, y3 = h.detach().view(1, N, C).requires_grad_(), targets.view(1, N)
    loss = linear_cross_entropy(h3, weight, y3, chunk=10)
    loss.backward(retain_graph=True)
    expected = reference(h, weight, targets)
    torch.testing.assert_close(h3.grad.view(N, C), expected[1][0], rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="inplace"):  # the saved gradients were scaled in place
        loss.backward()


def test_every_target_ignored_gives_nan_like_cross_entropy():
    h, weight, targets = inputs()
    targets[:] = -100
    assert math.isnan(linear_cross_entropy(h, weight, targets, chunk=8).item())
    assert math.isnan(F.cross_entropy(F.linear(h, weight), targets).item())


def test_without_gradients_only_the_loss():
    h, weight, targets = inputs(ignore_every=3)
    expected = F.cross_entropy(F.linear(h, weight), targets)
    with torch.no_grad():
        loss = linear_cross_entropy(h, weight, targets, chunk=8)
    assert loss.grad_fn is None
    torch.testing.assert_close(loss, expected.detach())
    frozen = linear_cross_entropy(h.detach(), weight.detach(), targets, chunk=8)
    torch.testing.assert_close(frozen, expected.detach())


def test_tied_embedding_and_output_weight():
    """One table as input embedding and output layer: both gradients land on it."""
    _, weight, targets = inputs()
    tokens = torch.randint(0, V, (N,), generator=torch.Generator().manual_seed(3))
    grads = []
    for loss_fn in (lambda h: linear_cross_entropy(h, weight, targets, chunk=6),
                    lambda h: F.cross_entropy(F.linear(h, weight), targets)):
        loss_fn(torch.tanh(weight[tokens])).backward()
        grads.append(weight.grad.clone())
        weight.grad = None
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_bfloat16_inputs_accumulate_in_float32():
    h, weight, targets = inputs(torch.bfloat16, ignore_every=3)
    got = fused(h, weight, targets, 5)
    assert got[1][0].dtype == got[1][1].dtype == torch.bfloat16
    # The reference rounds grad_W to bf16 once from a single matmul; ours sums chunks in float32.
    assert_same(got, reference(h, weight, targets), rtol=2e-2, atol=2e-3)


def test_autocast_runs_the_matmuls_in_bfloat16_and_returns_float32_gradients():
    h, weight, targets = inputs(ignore_every=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = fused(h, weight, targets, 8)
        expected = reference(h, weight, targets)
    assert got[1][0].dtype == got[1][1].dtype == torch.float32
    assert_same(got, expected, rtol=2e-2, atol=2e-3)
    assert not torch.allclose(got[0], reference(h, weight, targets)[0], rtol=0, atol=1e-6)  # bf16 did run


def test_mismatched_targets_are_an_error():
    h, weight, targets = inputs()
    with pytest.raises(ValueError, match="targets"):
        linear_cross_entropy(h, weight, targets[:-1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("compiled", [False, True])
def test_cuda_float32_and_autocast_equal_cross_entropy(compiled):
    fn = torch.compile(linear_cross_entropy) if compiled else linear_cross_entropy
    h, weight, targets = inputs(ignore_every=3, device="cuda")
    expected = reference(h, weight, targets)
    loss = fn(h, weight, targets, chunk=8)
    loss.backward()
    # TF32 may be on for CUDA matmuls; the tolerance allows it.
    assert_same((loss.detach(), (h.grad, weight.grad)), expected, rtol=2e-3, atol=2e-4)
    h.grad = weight.grad = None
    with torch.autocast("cuda", dtype=torch.bfloat16):
        expected = reference(h, weight, targets)
        loss = fn(h, weight, targets, chunk=8)
    loss.backward()
    assert_same((loss.detach(), (h.grad, weight.grad)), expected, rtol=2e-2, atol=2e-3)


def test_a_target_whose_probability_underflows(code_path):
    """A loss of ~200 nats: the softmax's p underflows to 0 and the loss must not become inf."""
    h, weight, targets = inputs()
    with torch.no_grad():
        weight[targets[3]] = -20 * h[3] / h[3].norm() ** 2  # logit -20 for row 3's target ...
        weight[(targets[3] + 1) % V] = 180 * h[3] / h[3].norm() ** 2  # ... and 180 for another class
    got, expected = fused(h, weight, targets, 8), reference(h, weight, targets)
    assert math.isfinite(got[0].item()) and expected[0].item() > 200 / N
    assert_same(got, expected)
