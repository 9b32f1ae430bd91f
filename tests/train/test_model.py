"""The LLaMA model: sizes of the paper's presets, each component against a plain reference, and
logits equal to transformers' LlamaForCausalLM with the same weights."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from train.model import (
    PRESETS,
    ModelConfig,
    RMSNorm,
    Transformer,
    apply_rope,
    count_params,
    hf_config_dict,
    hf_state_dict,
    precompute_rope,
    preset,
)

SMALL = ModelConfig(dim=64, n_layers=2, n_heads=4, vocab_size=97, multiple_of=32, max_seq_len=32)


def make(cfg: ModelConfig = SMALL, seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(cfg)


def tokens(cfg: ModelConfig, B: int = 2, T: int = 16, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, cfg.vocab_size, (B, T), generator=torch.Generator().manual_seed(seed))


# --- sizes (Table 2) ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,hidden", [("7b", 11008), ("13b", 13824), ("33b", 17920), ("65b", 22016)])
def test_swiglu_hidden_sizes_of_the_paper(name, hidden):
    assert PRESETS[name].hidden_dim == hidden


@pytest.mark.parametrize("name,billions", [("7b", 6.7), ("13b", 13.0), ("33b", 32.5), ("65b", 65.2)])
def test_param_counts_match_table_2(name, billions):
    n = count_params(PRESETS[name])
    assert abs(n / 1e9 - billions) / billions < 0.01, n


def test_table_2_shapes():
    shapes = {name: (c.dim, c.n_heads, c.n_layers) for name, c in PRESETS.items()}
    assert shapes["7b"] == (4096, 32, 32) and shapes["13b"] == (5120, 40, 40)
    assert shapes["33b"] == (6656, 52, 60) and shapes["65b"] == (8192, 64, 80)
    assert all(PRESETS[n].max_seq_len == 2048 and PRESETS[n].vocab_size == 32000 for n in ("7b", "13b", "33b", "65b"))


def test_small_presets_sizes():
    assert 30e6 <= count_params(PRESETS["35m"]) <= 36e6
    assert 1e6 <= count_params(preset("tiny", vocab_size=8000)) <= 10e6
    assert 0.9e9 <= count_params(PRESETS["1b"]) <= 1.3e9


@pytest.mark.parametrize(
    "cfg",
    [SMALL, ModelConfig(dim=48, n_layers=3, n_heads=6, n_kv_heads=2, vocab_size=50, multiple_of=16),
     preset("tiny", vocab_size=300)],
)
def test_count_params_equals_allocated(cfg):
    model = Transformer(cfg)
    assert count_params(cfg) == model.num_params()
    assert count_params(cfg, exclude_embedding=True) == model.num_params(exclude_embedding=True)


def test_preset_overrides_and_unknown_name():
    cfg = preset("tiny", vocab_size=1234, max_seq_len=64)
    assert (cfg.vocab_size, cfg.max_seq_len, cfg.dim) == (1234, 64, PRESETS["tiny"].dim)
    with pytest.raises(ValueError, match="7b"):
        preset("7B-typo")


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(dim=65, n_layers=1, n_heads=4, vocab_size=10)
    with pytest.raises(ValueError, match="n_kv_heads"):
        ModelConfig(dim=64, n_layers=1, n_heads=4, n_kv_heads=3, vocab_size=10)


def test_flops_per_token_is_palm_formula():
    model = make()
    n = model.num_params() - SMALL.vocab_size * SMALL.dim
    assert model.flops_per_token(32) == 6 * n + 12 * SMALL.n_layers * SMALL.dim * 32


# --- components against plain references -------------------------------------------------------


def test_rmsnorm_matches_reference():
    torch.manual_seed(0)
    norm = RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(16))
    x = torch.randn(3, 5, 16)
    ref = x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-6) * norm.weight
    torch.testing.assert_close(norm(x), ref)
    # A bf16 model stays bf16 (the float32 is internal to the normalization).
    assert norm.bfloat16()(x.bfloat16()).dtype == torch.bfloat16


def test_rope_matches_complex_rotation():
    """The paper's complex formulation, with pair i = (x[i], x[i + hd/2]) (rotate_half layout)."""
    hd, T, theta = 8, 7, 10000.0
    x = torch.randn(2, 3, T, hd)
    cos, sin = precompute_rope(hd, 16, theta)
    out = apply_rope(x, cos[:T], sin[:T])
    freqs = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    angles = torch.arange(T, dtype=torch.float64)[:, None] * freqs  # (T, hd/2)
    z = torch.complex(x[..., : hd // 2].double(), x[..., hd // 2 :].double()) * torch.polar(torch.ones_like(angles),
                                                                                            angles)
    ref = torch.cat((z.real, z.imag), dim=-1).float()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_rope_scores_depend_on_relative_position_only():
    hd = 16
    cos, sin = precompute_rope(hd, 64)
    q, k = torch.randn(hd), torch.randn(hd)

    def score(m, n):
        return (apply_rope(q, cos[m], sin[m]) @ apply_rope(k, cos[n], sin[n])).item()

    assert math.isclose(score(5, 2), score(40, 37), rel_tol=1e-4, abs_tol=1e-4)


def test_shapes_and_initial_loss_near_uniform():
    cfg = preset("tiny", vocab_size=512, max_seq_len=64)
    model = make(cfg)
    x = tokens(cfg, B=4, T=64)
    no_logits, loss = model(x, torch.roll(x, -1, dims=1))
    assert no_logits is None and abs(loss.item() - math.log(512)) < 0.3  # the fused loss never makes them
    logits, no_loss = model(x)
    assert logits.shape == (4, 64, 512) and logits.dtype == torch.float32 and no_loss is None


def test_ignore_index():
    model = make()
    x = tokens(SMALL)
    y = x.clone()
    y[:, ::2] = -100
    loss = model(x, y)[1]
    keep = y != -100
    torch.testing.assert_close(loss, F.cross_entropy(model(x)[0][keep], y[keep]))


def _same_loss_and_grads(attr: str, values: tuple) -> None:
    """One batch through a fresh model with `attr` set to each of `values`: equal loss, equal
    gradient for every parameter."""
    x, y = tokens(SMALL), tokens(SMALL, seed=2)
    results = []
    for value in values:
        model = make()
        setattr(model, attr, value)
        _, loss = model(x, y)
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters()}))
    torch.testing.assert_close(results[0][0], results[1][0])
    for name, grad in results[1][1].items():
        torch.testing.assert_close(results[0][1][name], grad, msg=name)


def test_fused_loss_equals_cross_entropy_of_the_logits_with_its_gradients():
    _same_loss_and_grads("fused_loss", (True, False))


def test_causal_future_tokens_do_not_change_the_past():
    model = make().eval()
    x = tokens(SMALL, T=16)
    changed = x.clone()
    changed[:, 10:] = (changed[:, 10:] + 1) % SMALL.vocab_size
    a, b = model(x)[0], model(changed)[0]
    torch.testing.assert_close(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_too_long_sequence_is_an_error():
    with pytest.raises(ValueError, match="max_seq_len"):
        make()(torch.zeros(1, SMALL.max_seq_len + 1, dtype=torch.long))


def test_gqa_shapes():
    cfg = ModelConfig(dim=64, n_layers=2, n_heads=8, n_kv_heads=2, vocab_size=97, multiple_of=32, max_seq_len=32)
    model = make(cfg)
    attention = model.layers[0].attention
    assert attention.wq.weight.shape == (64, 64)
    assert attention.wk.weight.shape == attention.wv.weight.shape == (16, 64)  # 2 kv heads of 8
    assert model(tokens(cfg))[0].shape == (2, 16, 97) and model(tokens(cfg), tokens(cfg, seed=2))[1].ndim == 0


def test_init_scales_residual_projections():
    cfg = ModelConfig(dim=256, n_layers=8, n_heads=4, vocab_size=1000)
    model = make(cfg)
    assert abs(model.layers[0].attention.wq.weight.std().item() - 0.02) < 0.002
    expected = 0.02 / math.sqrt(2 * cfg.n_layers)
    assert abs(model.layers[0].attention.wo.weight.std().item() - expected) < 0.1 * expected
    assert abs(model.layers[0].feed_forward.w2.weight.std().item() - expected) < 0.1 * expected
    assert torch.all(model.norm.weight == 1)


def test_meta_device_construction_then_init_weights():
    with torch.device("meta"):
        model = Transformer(SMALL)
    model.to_empty(device="cpu")
    model.init_weights()
    reference = make()
    torch.testing.assert_close(model.rope_cos, reference.rope_cos)
    assert "rope_cos" not in model.state_dict()  # non-persistent
    assert torch.isfinite(model(tokens(SMALL))[0]).all()


def test_activation_checkpointing_same_loss_and_grads():
    _same_loss_and_grads("activation_checkpointing", (False, True))


def test_overfits_one_batch():
    cfg = ModelConfig(dim=64, n_layers=2, n_heads=4, vocab_size=64, multiple_of=32, max_seq_len=32)
    model = make(cfg)
    x = tokens(cfg, B=4, T=32)
    y = torch.roll(x, -1, dims=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    initial = model(x, y)[1].item()
    for _ in range(80):  # drops below 10% by about step 30 at this size
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1 * initial, (initial, loss.item())


# --- transformers compatibility -----------------------------------------------------------------


@pytest.mark.parametrize("n_kv_heads", [None, 2])
def test_logits_match_hf_llama(n_kv_heads):
    transformers = pytest.importorskip("transformers")
    cfg = ModelConfig(dim=64, n_layers=2, n_heads=4, n_kv_heads=n_kv_heads, vocab_size=97, multiple_of=32,
                      max_seq_len=32, rope_theta=500.0)
    model = make(cfg).eval()
    hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(**hf_config_dict(cfg),
                                                                attn_implementation="eager")).eval()
    missing, unexpected = hf.load_state_dict(hf_state_dict(model), strict=False)
    assert not unexpected and all("rotary_emb" in k for k in missing), (missing, unexpected)
    x = tokens(cfg, T=32)
    with torch.no_grad():
        ours, hf_logits = model(x)[0], hf(x).logits
    torch.testing.assert_close(ours, hf_logits.float(), rtol=0, atol=1e-4)


def test_hf_names_strip_compile_prefix():
    model = make()
    names = set(hf_state_dict({"_orig_mod." + k: v for k, v in model.state_dict().items()}))
    assert names == set(hf_state_dict(model))
    assert "model.layers.1.self_attn.q_proj.weight" in names and "lm_head.weight" in names
