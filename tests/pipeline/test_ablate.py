"""`corral ablate` end to end on the bundled sample (sample vs sample-nofilter, 2 seeds, a few steps),
and the pieces the report's claims rest on: the held-out documents never reach a training set, the
same seed starts both variants from the same weights, and bits per byte recomputed from a saved
checkpoint by transformers' LlamaForCausalLM match the report."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.core.holdout import HeldOut, heldout_key, text_key
from tests.conftest import SAMPLE

VARIANTS = ("sample", "sample-nofilter")
SEEDS = (1, 2)


def _c4_doc_not_held_out_by_id(fraction: float, seed: int):
    """A C4 document of the sample (as the reader gives it) that the id rule leaves in training."""
    from pipeline.core.document import Document
    from pipeline.sources.c4 import parse_c4_file
    from pipeline.sources.registry import load_corpus_config

    path = next((SAMPLE / "c4").glob("*.json.gz"))
    docs = [d for d in parse_c4_file(str(path), path.name, load_corpus_config("sample").c4) if isinstance(d, Document)]
    return next(d for d in docs if d.text.strip() and heldout_key("c4", d.id, seed) >= fraction * 2**64)


def _write_corpus(folder: Path, docs: list[tuple[str, str, str]]) -> None:
    """A minimal corpus run (manifest.json + one shard) of (source, id, text) documents."""
    from pipeline.core.document import ARROW_SCHEMA, Document, documents_to_table

    (folder / "wikipedia").mkdir(parents=True)
    table = documents_to_table([Document(id=i, source=s, text=t) for s, i, t in docs])
    with pa.OSFile(str(folder / "wikipedia" / "part-00000-of-00001.arrow"), "wb") as sink, \
            pa.ipc.new_file(sink, ARROW_SCHEMA) as writer:
        writer.write_table(table)
    entry = {"path": "wikipedia/part-00000-of-00001.arrow", "rows": len(docs), "source": "wikipedia"}
    (folder / "manifest.json").write_text(json.dumps({"shards": [entry]}))


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    from pipeline.cli import main

    root = tmp_path_factory.mktemp("ablate")
    copy = _c4_doc_not_held_out_by_id(0.2, 1)
    _write_corpus(root / "user", [("wikipedia", "user/1", "  ".join(copy.text.split(" "))),  # the same up to spaces
                                  ("wikipedia", "user/2", "The heron waits in the reeds by the old mill.")])
    out = root / "out"
    args = ["ablate", *VARIANTS, "--input", str(SAMPLE), "--output", str(out), "--seeds", str(len(SEEDS)),
            "--tokens", "4K", "--jobs", "2", "--eval-corpus", str(root / "user")]
    assert main(args) == 0
    return out, json.loads((out / "report.json").read_text()), copy, args


def _kept(corpus: Path) -> tuple[set[tuple[str, str]], set[int]]:
    """(source, id) and text keys of every kept document of a corpus run."""
    ids, texts = set(), set()
    for entry in json.loads((corpus / "manifest.json").read_text())["shards"]:
        table = pa.ipc.open_file(str(corpus / entry["path"])).read_all()
        ids |= set(zip(table["source"].to_pylist(), table["id"].to_pylist(), strict=True))
        texts |= {text_key(t) for t in table["text"].to_pylist()}
    return ids, texts


def _eval_docs(folder: Path) -> list[dict]:
    tables = [pa.ipc.open_file(str(path)).read_all() for path in sorted(folder.glob("*.arrow"))]
    return [row for table in tables for row in table.to_pylist()]


def test_evaluation_documents_never_appear_in_either_training_set(ablation):
    out, report, copy, _ = ablation
    held = _eval_docs(out / "heldout")
    user = _eval_docs(out / "eval-user")
    assert len(held) >= 10 and {d["source"] for d in held} >= {"c4", "commoncrawl", "wikipedia"}
    for name in VARIANTS:
        ids, texts = _kept(out / "variants" / name / "corpus")
        assert not ids & {(d["source"], d["id"]) for d in held}
        assert not texts & {text_key(d["text"]) for d in held + user}
        # the user's copy of a C4 page under another id is held out by its text, before any filter
        dropped = pa.concat_tables(pa.ipc.open_file(str(p)).read_all()
                                   for p in (out / "variants" / name / "corpus" / "dropped" / "c4").glob("*.arrow"))
        rows = [r for r in dropped.to_pylist() if r["id"] == copy.id]
        assert [(r["drop_reason"], r["drop_stage"], r["drop_detail"]) for r in rows] == [
            ("held_out", "read", "same text as an evaluation document")]
        by_id = [r for r in dropped.to_pylist() if r["drop_detail"] == "evaluation document"]
        assert sorted(r["id"] for r in by_id) == sorted(d["id"] for d in held if d["source"] == "c4")
        stats = json.loads((out / "variants" / name / "corpus" / "stats.json").read_text())
        held_out = {s: e["dropped"].get("held_out", 0) for s, e in stats["sources"].items()}
        assert all(held_out[s] >= report["heldout"][s]["documents"] + (s == "c4") for s in held_out)
        row = next(r for r in report["variants"][VARIANTS.index(name)]["corpus"] if r["source"] == "c4")
        assert row["held_out"] == held_out["c4"]


def test_the_held_out_documents_are_the_readers_output_whatever_the_filters(ablation):
    """Every evaluation document is as the reader gave it: the C4 ones keep the lines C4's rules cut."""
    from pipeline.core.document import Document
    from pipeline.sources.c4 import parse_c4_file
    from pipeline.sources.registry import load_corpus_config

    out, _, _, _ = ablation
    path = next((SAMPLE / "c4").glob("*.json.gz"))
    raw = {d.id: d.text for d in parse_c4_file(str(path), path.name, load_corpus_config("sample").c4)
           if isinstance(d, Document)}
    held = [d for d in _eval_docs(out / "heldout") if d["source"] == "c4"]
    assert held and all(raw[d["id"]] == d["text"] for d in held)


def test_same_seed_gives_the_same_initial_weights_for_both_variants(ablation):
    """The runs' own config.json (what each trainer process ran with) rebuilt by the trainer's
    build_model: equal across variants for one seed, different across seeds."""
    import torch

    from pipeline.core.config import config_to_dict
    from train.config import load_train_config
    from train.train import build_model, vocab_size

    out, _, _, _ = ablation
    weights = {}
    for name in VARIANTS:
        for seed in SEEDS:
            path = out / "runs" / name / f"seed-{seed}" / "config.json"
            saved = json.loads(path.read_text())
            cfg = load_train_config(str(path))  # JSON is YAML
            assert config_to_dict(cfg) == saved and cfg.seed == seed
            weights[name, seed] = build_model(cfg, vocab_size(cfg.tokenizer_path), torch.device("cpu")).state_dict()
            differing = {k for k in saved if saved[k] != json.loads(
                (out / "runs" / VARIANTS[0] / f"seed-{seed}" / "config.json").read_text())[k]}
            assert differing <= {"tokens_dir", "out_dir"}
    for seed in SEEDS:
        a, b = weights[VARIANTS[0], seed], weights[VARIANTS[1], seed]
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(weights[VARIANTS[0], 1]["output.weight"], weights[VARIANTS[0], 2]["output.weight"])


def _hf_bits(model, sp, texts: list[str], seq_len: int) -> tuple[float, int]:
    """Summed NLL (nats) of every text's tokens after an EOS, one window of seq_len targets at a time."""
    import torch

    total, num_bytes = 0.0, 0
    for text in texts:
        ids = [2, *sp.encode(text)]
        for start in range(0, len(ids) - 1, seq_len):
            inputs = torch.tensor([ids[start:start + seq_len]])
            targets = ids[start + 1:start + seq_len + 1]
            with torch.no_grad():
                logprobs = torch.log_softmax(model(inputs).logits[0, :len(targets)].double(), dim=-1)
            total -= sum(logprobs[i, t].item() for i, t in enumerate(targets))
        num_bytes += len(text.encode("utf-8"))
    return total, num_bytes


def test_bits_per_byte_recomputed_from_the_saved_model_match_the_report(ablation, tmp_path):
    """transformers' LlamaForCausalLM on the exported checkpoint, SentencePiece on the texts."""
    import sentencepiece as spm
    import torch
    from transformers import LlamaForCausalLM

    from train.export import export_hf

    out, report, _, _ = ablation
    run = next(r for r in report["runs"] if r["variant"] == VARIANTS[-1] and r["seed"] == SEEDS[-1])
    hf_dir = export_hf(str(out / run["dir"]), str(tmp_path / "hf"))
    model = LlamaForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.float32).eval()
    sp = spm.SentencePieceProcessor(model_file=str(Path(hf_dir) / "tokenizer.model"))
    for set_name, folder in (("heldout", "heldout"), ("user", "eval-user")):
        docs = _eval_docs(out / folder)
        pooled = [0.0, 0]
        for source in sorted({d["source"] for d in docs}):
            nll, num_bytes = _hf_bits(model, sp, [d["text"] for d in docs if d["source"] == source],
                                      report["settings"]["train"]["seq_len"])
            pooled = [pooled[0] + nll, pooled[1] + num_bytes]
            assert run["eval"][set_name][source]["bpb"] == pytest.approx(nll / math.log(2) / num_bytes, rel=1e-4)
        assert run["eval"][set_name]["all"]["bpb"] == pytest.approx(pooled[0] / math.log(2) / pooled[1], rel=1e-4)


def test_report_files_and_rerun_reuses_every_step_with_identical_results(ablation, capsys):
    from pipeline.cli import main

    out, report, _, args = ablation
    assert {p.name for p in out.iterdir()} >= {"report.md", "report.html", "report.json", "corpus.png", "loss.png",
                                               "bpb_heldout.png", "bpb_user.png"}
    assert len(report["runs"]) == len(VARIANTS) * len(SEEDS) and len(report["verdicts"]) == 2
    md = (out / "report.md").read_text()
    assert report["verdicts"][0] in md and "c4.min_sentences" in md
    before = (out / "report.json").read_bytes()
    capsys.readouterr()
    assert main(args) == 0
    log = capsys.readouterr().out
    assert "trained in" not in log and "corpus built" not in log
    assert log.count("reused") == 1 + 2 + 1 + 2 + len(VARIANTS) * len(SEEDS)  # every step of every variant
    assert (out / "report.json").read_bytes() == before


def test_sample_nofilter_differs_from_sample_only_in_the_quality_filters():
    from pipeline.core.config import config_to_dict
    from pipeline.jobs.stats import flatten_config
    from pipeline.sources.registry import load_corpus_config

    a, b = (flatten_config(config_to_dict(load_corpus_config(name))) for name in VARIANTS)
    changed = {k for k in a if a[k] != b[k]}
    assert {k.split(".")[0] for k in changed} == {"c4", "commoncrawl"}
    c4_rules = ("terminal_punctuation", "min_words_per_line", "max_word_length", "min_sentences", "lorem_ipsum",
                "curly_bracket", "javascript", "policy", "citations")
    assert changed == {f"c4.{k}" for k in c4_rules} | {"commoncrawl.keep_buckets", "commoncrawl.wiki_ref_threshold"}
    assert b["commoncrawl.languages"] == a["commoncrawl.languages"]  # language ID stays on


def test_held_out_step_drops_by_id_and_by_text_up_to_whitespace():
    from pipeline.core.document import Document, Dropped

    step = HeldOut({"c4": ["a"]}, [text_key("one two  three")])
    assert isinstance(step(Document("a", "c4", "anything")), Dropped)
    assert step(Document("a", "wikipedia", "anything")).id == "a"  # ids are per source
    dropped = step(Document("b", "wikipedia", "one\ntwo three "))
    assert isinstance(dropped, Dropped) and dropped.detail == "same text as an evaluation document"
    assert isinstance(step(Document("c", "c4", "one two three four")), Document)


def test_choose_takes_the_smallest_distinct_keys_in_input_order():
    from pipeline.jobs.heldout import _choose

    files = [(5, [(30, 0, 0), (10, 0, 1)]), (4, [(10, 1, 0), (20, 1, 1)])]  # key 10: one id read twice
    source, counts, chosen = _choose(("c4", files), max_docs=2)
    assert (source, counts) == ("c4", {"read": 9, "candidates": 4})
    assert chosen == [(10, 0, 1), (20, 1, 1)]


def test_difference_exceeds_twice_the_spread_and_says_so():
    from pipeline.ablate.report import _stats, difference, statement

    a, b = _stats([1.00, 1.02, 1.01]), _stats([0.90, 0.93, 0.91])
    d = {"a": "x", "b": "y", "set": "heldout", "source": "all", **difference(a, b)}
    assert d["exceeds"] and d["seeds_agree"] and d["delta"] == pytest.approx(-0.0967, abs=1e-4)
    assert statement(d).startswith("y reaches 0.0967 bits per byte less than x") and "a real difference" in statement(d)
    close = {**d, **difference(a, _stats([1.01, 1.00, 1.03]))}
    assert close["exceeds"] is False and "cannot tell the variants apart" in statement(close)
    one = {**d, **difference(_stats([1.0]), _stats([0.9]))}
    assert one["exceeds"] is None and "one seed" in statement(one)


def test_more_than_two_variants_are_each_compared_with_the_first():
    from pipeline.ablate.report import differences, summarize

    def run(variant, seed, bpb):
        return {"variant": variant, "seed": seed, "eval": {"heldout": {"all": {"bpb": bpb, "loss": bpb}}}}

    runs = [run(v, s, base + 0.01 * s) for v, base in (("a", 1.0), ("b", 0.9), ("c", 1.2)) for s in (1, 2, 3)]
    diffs = differences(summarize(runs, ["a", "b", "c"]), ["a", "b", "c"])
    assert [(d["a"], d["b"], round(d["delta"], 6)) for d in diffs] == [("a", "b", -0.1), ("a", "c", 0.2)]


@pytest.mark.parametrize(("configs", "message"), [
    (["sample"], "at least two configs"),
    (["sample", "configs/sample.yaml"], "each must differ"),
])
def test_user_errors_are_one_line(configs, message, tmp_path, capsys):
    from pipeline.cli import main

    assert main(["ablate", *configs, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
