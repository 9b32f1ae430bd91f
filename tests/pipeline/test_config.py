import dataclasses
import json
import typing

import pytest

from pipeline.core.config import PATH_KEYS, absolute_paths, config_to_json, is_uri
from pipeline.sources.registry import CorpusConfig, load_corpus_config


def test_sample_preset_is_default_and_valid():
    cfg = load_corpus_config()
    assert isinstance(cfg, CorpusConfig)
    assert cfg.input == "data/sample" and cfg.shards.num_shards == 2


def test_llama_preset_has_paper_settings():
    cfg = load_corpus_config("llama")
    assert len(cfg.wikipedia.languages) == 20 and "uk" in cfg.wikipedia.languages
    assert cfg.c4.min_sentences == 3 and cfg.c4.min_words_per_line == 5
    assert cfg.shards.write_dropped is False
    # LLaMA Table 1: the full-scale preset reads all seven sources.
    assert set(cfg.sources) == {"commoncrawl", "c4", "github", "wikipedia", "books", "arxiv", "stackexchange"}
    assert cfg.stackexchange.top_sites == 28 and cfg.stackexchange.min_answers == 0
    assert (cfg.github.min_alnum_fraction, cfg.github.min_alpha_per_token, cfg.github.raw_exact_dedup) == (
        0.25, 1.5, True)


def test_overrides_are_typed():
    cfg = load_corpus_config("sample", ["shards.num_shards=5", "c4.lorem_ipsum=false", "wikipedia.languages=en,de"])
    assert cfg.shards.num_shards == 5
    assert cfg.c4.lorem_ipsum is False
    assert cfg.wikipedia.languages == ("en", "de")


def test_shard_format_is_arrow_unless_parquet_is_asked_for():
    assert load_corpus_config("sample").shards.format == "arrow"
    assert load_corpus_config("llama").shards.format == "arrow"
    assert load_corpus_config("sample", ["shards.format=parquet"]).shards.format == "parquet"
    with pytest.raises(ValueError, match="shards.format: 'csv' is not one of arrow, parquet"):
        load_corpus_config("sample", ["shards.format=csv"])


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError, match=r"unknown config key\(s\) shards.num_shard;.*shards.num_shards"):
        load_corpus_config("sample", ["shards.num_shard=3"])
    with pytest.raises(ValueError, match="valid keys: input, output, sources"):
        load_corpus_config("sample", ["nonsense=1"])


def test_wrong_type_says_what_was_expected():
    with pytest.raises(ValueError, match="shards.num_shards: expected an integer"):
        load_corpus_config("sample", ["shards.num_shards=many"])
    with pytest.raises(ValueError, match="expected true or false"):
        load_corpus_config("sample", ["c4.javascript=3"])


def test_unknown_preset_and_source():
    with pytest.raises(ValueError, match="unknown config preset"):
        load_corpus_config("nope")
    with pytest.raises(ValueError, match="unknown source"):
        load_corpus_config("sample", ["sources=c4,papyrus"])


def test_yaml_file_and_frozen(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("c4:\n  min_sentences: 2\n")
    cfg = load_corpus_config(str(path))
    assert cfg.c4.min_sentences == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.c4.min_sentences = 3  # frozen


def test_config_json_round_trips():
    cfg = load_corpus_config("sample", ["c4.badwords_file=/tmp/words.txt"])
    data = json.loads(config_to_json(cfg))
    assert data["c4"]["badwords_file"] == "/tmp/words.txt"
    assert data["wikipedia"]["languages"][0] == "bg"


def test_float_written_without_a_dot_is_a_number():
    assert load_corpus_config("sample", ["commoncrawl.lang_threshold=5e-1"]).commoncrawl.lang_threshold == 0.5
    with pytest.raises(ValueError, match="expected a number"):
        load_corpus_config("sample", ["commoncrawl.lang_threshold=high"])


def test_local_paths_are_made_absolute_and_uris_pass_through(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = absolute_paths(load_corpus_config("sample", ["input=raw", "output=gs://bucket/corpus", "models.dir=../models",
                                                "c4.badwords_file=words.txt", "tokens.dir=hdfs://nn/tokens"]))
    assert cfg.input == str(tmp_path / "raw") and cfg.models.dir == str(tmp_path.parent / "models")
    assert (cfg.c4.badwords_file == str(tmp_path / "words.txt")
            and cfg.tokenizer.dir == str(tmp_path / "out" / "tokenizer"))
    assert cfg.output == "gs://bucket/corpus" and cfg.tokens.dir == "hdfs://nn/tokens"
    assert cfg.models.wikipedia_corpus == ""  # unset stays unset
    assert absolute_paths(load_corpus_config("sample")).c4.badwords_file is None
    assert absolute_paths(cfg) == cfg
    assert is_uri("s3://b/k") and is_uri("file:///x") and not is_uri("data/x") and not is_uri("/a/b://c")


def test_every_path_key_is_made_absolute():
    """A new config key naming a file or folder must join PATH_KEYS, or workers elsewhere miss it."""
    fields: dict[str, object] = {}

    def walk(cls: type, prefix: str = "") -> None:
        for name, tp in typing.get_type_hints(cls).items():
            if dataclasses.is_dataclass(tp):
                walk(tp, prefix + name + ".")
            else:
                fields[prefix + name] = tp

    walk(CorpusConfig)
    path_words = ("dir", "file", "input", "output", "corpus", "path")
    path_like = {key for key, tp in fields.items() if tp in (str, str | None)
                 and key.rsplit(".", 1)[-1].endswith(path_words)}
    assert path_like <= set(PATH_KEYS), f"add {sorted(path_like - set(PATH_KEYS))} to pipeline.core.config.PATH_KEYS"
    assert set(PATH_KEYS) <= set(fields)
