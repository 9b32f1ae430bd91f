"""CCNet's perplexity filter (Wenzek et al. 2020, section 3.3), which LLaMA (Touvron et al. 2023,
section 2) applies to CommonCrawl: "filters low quality content with an n-gram language model".

A per-language SentencePiece model and 5-gram KenLM, both trained on Wikipedia (pipeline/
models_lm.py), score a document; its perplexity puts it in the head, middle or tail bucket by the
30th/60th percentiles of the perplexities of the CommonCrawl pages of its language (filters/ccnet.py).
Low perplexity = Wikipedia-like.

The computation follows cc_net/perplexity.py `DocLM.do`: for each line, normalize it
(text_normalizer.normalize: pipeline.core.text.normalize_line here), encode it into SentencePiece
pieces joined by spaces, add `lm.score(line)` (log10, with <s> and </s>) and the number of pieces
+ 1 (for </s>); the document's perplexity is 10 ** (-sum of scores / sum of lengths), rounded to
one decimal. Two deliberate differences, each for a reason:

- blank lines are skipped. CCNet scores each line of the field it is given; in its `mine`
  pipeline that field is the whole document normalized at once, and normalization deletes "\\n",
  so its KenLM sees one line per document (the last word of a line glued to the first word of the
  next). Scoring line by line keeps words apart; skipping blank lines keeps the paragraph layout
  (two newlines between paragraphs in our Wikipedia text) from adding P(</s> | <s>) terms that the
  training corpus, which holds no empty lines, never saw.
- a document with no non-blank line has perplexity `EMPTY_PERPLEXITY` (+inf), so it falls in the
  tail bucket, where CCNet would divide by zero.

No Beam imports: the CommonCrawl filter's DoFn builds a PerplexityScorer in `setup()`.
"""
from __future__ import annotations

import math

import kenlm
import sentencepiece

from pipeline.core.text import normalize_line

# A document with no scorable line: no evidence that it reads like Wikipedia, so it lands in the
# tail. Arrow's float64 column stores inf as is.
EMPTY_PERPLEXITY = math.inf
BUCKETS = ("head", "middle", "tail")  # what `bucket` returns, lowest perplexity first


class PerplexityScorer:
    """A SentencePiece model and a KenLM model of one language, loaded once per worker."""

    def __init__(self, sp_model_path: str, lm_path: str) -> None:
        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_model_path))
        self.lm = kenlm.Model(str(lm_path))

    def tokenize(self, text: str) -> list[str]:
        """The normalized, SentencePiece-encoded non-blank lines of `text`, pieces joined by spaces:
        what the KenLM model is trained on and scores (cc_net's "tokenized" field)."""
        lines = [line for line in map(normalize_line, text.split("\n")) if line]
        if not lines:
            return []
        # One batched call: no Python loop per line. One thread: parallelism comes from Beam's
        # workers, each with its own scorer; more threads per call measured no faster here.
        return [" ".join(pieces) for pieces in self.sp.encode(lines, out_type=str, num_threads=1)]

    def log_score(self, text: str) -> tuple[float, int]:
        """(sum of log10 probabilities, number of scored tokens) over the lines of `text`; each
        line counts its pieces plus one for </s>, as cc_net's DocLM does."""
        total_log, total_tokens = 0.0, 0
        for line in self.tokenize(text):
            total_log += self.lm.score(line, bos=True, eos=True)
            # len(line.split()), not the piece count: exactly the tokens KenLM split and scored.
            total_tokens += len(line.split()) + 1
        return total_log, total_tokens

    def perplexity(self, text: str) -> float:
        """CCNet's document perplexity, rounded to one decimal; EMPTY_PERPLEXITY (+inf) for a
        document with no non-blank line."""
        total_log, total_tokens = self.log_score(text)
        if total_tokens == 0:
            return EMPTY_PERPLEXITY
        return round(10.0 ** (-total_log / total_tokens), 1)


def bucket(perplexity: float, cutoffs: tuple[float, float]) -> str:
    """CCNet's `PerplexityBucket.get_bucket`: "head" below cutoffs[0], "middle" below cutoffs[1],
    else "tail" (CCNet's cut-offs are the 30th and 60th percentiles of a language's CommonCrawl
    pages). A NaN or +inf perplexity is "tail"."""
    if len(cutoffs) != 2 or not cutoffs[0] <= cutoffs[1]:
        raise ValueError(
            f"perplexity cut-offs {tuple(cutoffs)} must be two increasing numbers (head|middle, "
            "middle|tail): set commoncrawl.ppl_cutoffs, or leave it empty to cut at percentiles of this run's pages"
        )
    head, middle, tail = BUCKETS
    if perplexity < cutoffs[0]:
        return head
    if perplexity < cutoffs[1]:
        return middle
    return tail
