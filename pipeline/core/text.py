"""Text utilities every layer shares: CCNet's line normalizations and the sentence rule.

- `normalize_line`: cc_net text_normalizer.normalize (what CCNet's language models and the
  reference classifier see); `normalize_for_dedup`: cc_net's normalize_for_dedup (the key of its
  line dedup).
- `sentence_offsets` / `count_sentences`: sentences as C4 counted them (NLTK punkt's rules, line by
  line; filters/c4.py says why and how closely), used by C4's filter and by its three-sentence
  span dedup, so a page's sentence count and its spans always agree.
"""
from __future__ import annotations

import re
import unicodedata

# cc_net/text_normalizer.py UNICODE_PUNCT, verbatim (including its quirk that the full-width
# digit one maps to a double quote: unreachable with numbers=True, which turns it into "0" first).
_UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"',
    "１": '"', "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":",
    "？": "?", "！": "!", "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ",
    "～": "~", "’": "'", "…": "...", "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]",
    "％": "%", "►": "-",
}
# cc_net remove_non_printing_char: code points 0-31 and 127-159 (so also tab and newline).
_NON_PRINTING = [*range(0, 32), *range(127, 160)]
# One str.translate does both CCNet steps (replace punctuation, then drop non-printing
# characters): no replacement contains a non-printing character, so the order cannot matter.
_CCNET_TABLE = str.maketrans({**_UNICODE_PUNCT, **{chr(c): None for c in _NON_PRINTING}})
# cc_net DIGIT_RE: `\d` on str matches every Unicode decimal digit (Arabic-Indic, full-width...).
_DIGIT_RE = re.compile(r"\d")

# NLTK punkt's rules (module docstring). A candidate end is a word ending in . ? or !, followed
# either by whitespace and another word, or directly by punctuation that can follow a word
# (`_NON_WORD`: "K.C.; Kostakis" and "hands.* Hence" are candidates, "3.5" and "e.g.," are not),
# and the rightmost such mark of its whitespace-separated chunk ("hiking!! At": one candidate).
_QUOTES = "\u2018\u2019\u201c\u201d\xab\xbb"  # curly quotes and guillemets, as punkt's own quotes
_NON_WORD = r"?!)\";}\]*:@'({\[" + _QUOTES
_PERIOD_CONTEXT_RE = re.compile(rf"\S*[.?!](?=(?P<after>[{_NON_WORD}])|\s+(?P<next>\S+))")
# After a break, a piece that is only closing quotes and brackets joins the sentence before it
# (punkt's boundary realignment): 'He said "stop."' is one sentence, "Hongkong!!" two ("...!", "!").
_CLOSERS_ONLY_RE = re.compile(rf"[\"')\]}}{_QUOTES}]+\s*")
# punkt's word tokens: a word ends before _NON_WORD punctuation or "--"; a quote other than '"'
# may start the next word ("omega-3’s." ends in the word "’s.", no initial), these cannot.
_TOKEN_SPLIT_RE = re.compile(r"[?!)\";}\]*:@({\[]|--")
_WORD_START_QUOTES = "'" + _QUOTES
_NOT_WORD_START = "(\"`{[:;&#*@)}]-,"
_INITIAL_RE = re.compile(r"[^\W\d]\.")  # punkt's initial: one letter and a period ("J.")
_NUMBER_RE = re.compile(r"-?[.,]?\d[\d,.-]*\.?")  # punkt's ##number## type ("5.", "44-12-236.")
_SENTENCE_PUNCTUATION = frozenset(";:,.!?")  # punkt: a sentence never starts with one
# punkt's abbreviations (trained, case-insensitive): a period after one ends no sentence. Its
# English list is learned from data; these are the common ones ("Dr. Who", "e.g. the", "U.S. Army").
_ABBREVIATIONS = frozenset(a.lower() for a in (
    "Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr", "Mt", "vs", "approx", "incl", "Inc", "Ltd",
    "Co", "Corp", "Fig", "Vol", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
    "Oct", "Nov", "Dec", "e.g", "i.e", "U.S", "U.K", "a.m", "p.m", "Ph.D"))
# The line boundaries of str.splitlines().
_LINE_RE = re.compile("[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


class _NonspacingMarks(dict):
    """A str.translate table that deletes nonspacing marks (category Mn): each code point's
    category is looked up once, then cached (one C-level lookup per character afterwards)."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)) == "Mn" else code
        self[code] = value
        return value


_NO_MARKS = _NonspacingMarks()


def _strip_accents(line: str) -> str:
    """cc_net strip_accents: NFD, then drop nonspacing marks (category Mn).

    The result stays in NFD, as in cc_net (whose early return never fires: it compares a length
    with a string). ASCII is its own NFD and has no marks, hence the shortcut.
    """
    if line.isascii():
        return line
    return unicodedata.normalize("NFD", line).translate(_NO_MARKS)


def normalize_line(line: str) -> str:
    """CCNet's line normalization: cc_net text_normalizer.normalize(line, accent=True, case=True,
    numbers=True, punct=1) (Wenzek et al. 2020; LLaMA section 2 dedups CommonCrawl lines by CCNet).

    In cc_net's order: strip; lower case; accents removed (NFD, nonspacing marks dropped); every
    Unicode decimal digit to "0"; the 34 characters of cc_net's UNICODE_PUNCT replaced by their
    ASCII forms ("—" becomes " - "); code points 0-31 and 127-159 removed (tabs too, so "a\\tb"
    becomes "ab"). Nothing is re-stripped afterwards, as in cc_net. Output equals cc_net's.

    This is what cc_net feeds its language models (perplexity, and here the reference classifier);
    its line dedup keys lines by `normalize_for_dedup` instead, as `line_hash` does.
    """
    line = line.strip()
    if not line:
        return line
    line = line.lower()
    if line.isascii():  # the same steps, in C: no accents, digits 1:1, only control characters deleted
        line = line.translate(_ASCII_DIGITS)
        return line if line.isprintable() else line.translate(_CCNET_TABLE)
    line = _strip_accents(line)
    line = _DIGIT_RE.sub("0", line)
    return line.translate(_CCNET_TABLE)


_ASCII_DIGITS = str.maketrans("123456789", "000000000")


# cc_net PUNCT_OR_NON_PRINTING_CHARS_RE: its 34 unicode punctuation characters and code points
# 0-31 and 127-159, deleted (normalize_for_dedup), as one translate table.
_DEDUP_TABLE = str.maketrans({c: None for c in [*_UNICODE_PUNCT, *map(chr, _NON_PRINTING)]})


def normalize_for_dedup(line: str) -> str:
    """cc_net text_normalizer.normalize_for_dedup, the key of its line dedup (cc_net/dedup.py):
    strip; lower case; every Unicode decimal digit to "0"; the 34 characters of UNICODE_PUNCT
    and code points 0-31 and 127-159 deleted. Accents stay ("café" and "cafe" are two lines) and
    ASCII punctuation stays. Output equals cc_net's."""
    line = line.strip()
    if not line:
        return line
    return _DIGIT_RE.sub("0", line.lower()).translate(_DEDUP_TABLE)


def _word_before(chunk: str) -> str:
    """The punkt word token that ends `chunk` (which ends in a period)."""
    word = _TOKEN_SPLIT_RE.split(chunk)[-1]
    quote = max(map(word.rfind, _WORD_START_QUOTES))
    if quote > 0:
        word = word[quote:]
    return word.lstrip(_NOT_WORD_START) or word


def _ends_sentence(m: re.Match[str]) -> bool:
    """Whether punkt takes the candidate `m` as a sentence end (its first and second passes)."""
    text = m.group()
    if text[-1] != ".":
        return True  # ? and ! always end a sentence
    word = _word_before(text)
    if word.endswith(".."):
        return True  # an ellipsis: always an end here (module docstring)
    if word[:-1].lower() in _ABBREVIATIONS or word[:-1].lower().split("-")[-1] in _ABBREVIATIONS:
        return False
    following = m.group("next") or m.group("after")
    if following in _SENTENCE_PUNCTUATION or following[0].islower():
        # punkt's orthographic heuristic: no sentence starts so; an initial or a number
        # ("page 5. the") is then no end (another word still is: "group. try it").
        return not (_INITIAL_RE.fullmatch(word) or _NUMBER_RE.fullmatch(word))
    # An initial before a capitalised word is a name ("J. R. Tolkien"), by punkt's special
    # heuristic for initials; before a digit or a bracket ("A. (2018)") it ends a sentence.
    return not (_INITIAL_RE.fullmatch(word) and following[0].isupper())


def _line_pieces(line: str) -> list[tuple[int, int]]:
    """punkt's sentences of one non-blank, stripped line, as (start, end) offsets in it."""
    starts, ends = [0], []
    for m in _PERIOD_CONTEXT_RE.finditer(line):
        if _ends_sentence(m):
            ends.append(m.end())
            starts.append(m.start("next") if m.group("next") else m.end())
    ends.append(len(line))
    pieces: list[tuple[int, int]] = []
    for lo, hi in zip(starts, ends, strict=True):
        closers = _CLOSERS_ONLY_RE.match(line, lo, hi) if pieces else None
        if closers:  # closing quotes and brackets after a break belong to the sentence before it
            pieces[-1] = (pieces[-1][0], lo + len(closers.group().rstrip()))
            if closers.end() == hi:
                continue
            lo = closers.end()
        pieces.append((lo, hi))
    return pieces


def sentence_offsets(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, stripped of surrounding whitespace: every line
    (str.splitlines() boundaries) split by punkt's rules; [] for blank text."""
    offsets = []
    for match in _LINE_RE.finditer(text):
        body = match.group()
        stripped = body.strip()
        if not stripped:
            continue
        base = match.start() + len(body) - len(body.lstrip())
        for lo, hi in _line_pieces(stripped):
            piece = stripped[lo:hi]
            lo += len(piece) - len(piece.lstrip())
            hi = lo + len(piece.strip())
            offsets.append((base + lo, base + hi))
    return offsets


def count_sentences(text: str) -> int:
    """Sentences in `text` as C4 counted them: punkt's count of each line, summed (C4 split
    sentences line by line, so a line end always ends one); 0 for blank text."""
    return len(sentence_offsets(text))
