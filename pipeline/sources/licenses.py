"""Which license a repository carries, read from the TEXT of its root license files.

LLaMA (Touvron et al. 2023, section 2): "We kept only projects that are distributed under the
Apache, BSD and MIT licenses." The public GitHub tables RedPajama used carry a license column that
GitHub computed from the license file's text; for archives and checkouts we do the same here with a
small classifier by distinctive phrases. File names and archive names are never trusted: a
`LICENSE` may hold the GPL, and a `COPYING` may hold the MIT text.

Every license's signature phrase is searched in the normalized text (lower case, punctuation and
line wrapping folded to single spaces), and the license whose phrase comes FIRST wins. That is
what makes the full GPL-3.0 text read as GPL-3.0 although it mentions the Affero and Lesser GPL
near its end, and an MIT file with a third-party notice appended read as MIT.

Ids are SPDX's, in lower case (`mit`, `apache-2.0`, `bsd-3-clause`, `gpl-2.0-or-later`; a bare GPL text gives
`gpl-2.0`), plus `llama-2-community` style ids for Meta's custom licenses, `custom` for a text nothing matches and
`none` where a repository has no license file (or only empty ones).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

CUSTOM = "custom"
NONE = "none"
MAX_LICENSE_CHARS = 64 * 1024  # every signature sits near the top; the GPL-3.0 text is ~35 KB

# LICENSE, LICENCE, COPYING, case-insensitive, with an optional text-ish extension or a
# "-MIT"/"-APACHE" style suffix (the Rust convention for dual licensing).
_LICENSE_FILE_RE = re.compile(r"(?:licen[cs]e|copying)(?:[-_][a-z0-9.]+)?(?:\.(?:txt|md|markdown|rst))?", re.I)
# Everything but letters, digits, and a period between two digits ("version 2.0") is a space.
_NORMALIZE_RE = re.compile(r"(?:[^a-z0-9.]|(?<![0-9])\.|\.(?![0-9]))+")

_GNU_RE = re.compile(r"gnu (affero |lesser |library )?general public licen[cs]e")
_VERSION_RE = re.compile(r"\bversion (\d+(?:\.\d+)?)\b")
_GNU_FAMILY = {"": "gpl", "affero ": "agpl", "lesser ": "lgpl", "library ": "lgpl"}


def is_license_file(name: str) -> bool:
    """Whether a root-level file name is one the license is read from (LICENSE.txt, COPYING...)."""
    return _LICENSE_FILE_RE.fullmatch(name) is not None


def normalize(text: str) -> str:
    return _NORMALIZE_RE.sub(" ", text[:MAX_LICENSE_CHARS].lower()).strip()


def _version(text: str, start: int, default: str = "") -> str:
    m = _VERSION_RE.search(text, start, start + 300)
    if not m:
        return default
    return m.group(1) if "." in m.group(1) else m.group(1) + ".0"


def _gnu(t: str) -> tuple[int, str] | None:
    m = _GNU_RE.search(t)
    if not m:
        return None
    family = _GNU_FAMILY[m.group(1) or ""]
    version = _version(t, m.end())
    if not version:
        return m.start(), family
    # The "or later" clause sits in the notice right after the name ("either version 2 of the
    # License, or (at your option) any later version"); the full texts repeat it only far below.
    # The bare license text says neither, and then the id carries no suffix.
    later = "-or-later" if "any later version" in t[m.start(): m.end() + 400] else ""
    return m.start(), f"{family}-{version}{later}"


def _bsd(t: str) -> tuple[int, str] | None:
    start = t.find("redistribution and use in source and binary forms")
    if start < 0:
        return None
    clauses = t[start: start + 3000]
    if "advertising materials" in clauses:
        return start, "bsd-4-clause"
    if "neither the name" in clauses or "endorse or promote products" in clauses:
        return start, "bsd-3-clause"
    return start, "bsd-2-clause"


def _creative_commons(t: str) -> tuple[int, str] | None:
    if "creative commons" not in t:
        return None
    m = re.search(r"\bcc0 1\.0\b", t)
    if m:
        return m.start(), "cc0-1.0"
    m = re.search(r"\battribution( noncommercial)?( sharealike| noderivatives| noderivs)? (\d\.\d)\b", t)
    if not m:
        return t.find("creative commons"), "cc"
    parts = ["cc-by", "-nc" if m.group(1) else "", {None: "", " sharealike": "-sa"}.get(m.group(2), "-nd")]
    return m.start(), "".join(parts) + "-" + m.group(3)


def _phrase(phrase: str, spdx: str) -> Callable[[str], tuple[int, str] | None]:
    def find(t: str) -> tuple[int, str] | None:
        at = t.find(phrase)
        return (at, spdx) if at >= 0 else None
    return find


def _versioned(pattern: str, prefix: str) -> Callable[[str], tuple[int, str] | None]:
    regex = re.compile(pattern)

    def find(t: str) -> tuple[int, str] | None:
        m = regex.search(t)
        return (m.start(), f"{prefix}-{m.group(1)}") if m else None
    return find


_RULES: tuple[Callable[[str], tuple[int, str] | None], ...] = (
    _gnu,
    _bsd,
    _creative_commons,
    # Apache 2.0, full text ("Apache License Version 2.0, January 2004") or the short notice
    # ("Licensed under the Apache License, Version 2.0"); the 1.x "Apache Software License".
    _versioned(r"apache (?:software )?license (?:version )?(\d\.\d)", "apache"),
    # The terms without their title line (webrecorder/warcio's LICENSE starts at "Version 2.0").
    _phrase("terms and conditions for use reproduction and distribution", "apache-2.0"),
    _phrase("permission is hereby granted free of charge to any person obtaining a copy", "mit"),
    _phrase("permission to use copy modify and or distribute this software for any purpose", "isc"),
    _phrase("permission to use copy modify and distribute this software for any purpose with or without fee", "isc"),
    _versioned(r"mozilla public license version (\d\.\d)", "mpl"),
    _versioned(r"eclipse public license (?:v ?|version )?(\d\.\d)", "epl"),
    _versioned(r"\bllama (\d(?:\.\d)?) community license", "llama"),
    _phrase("boost software license version 1.0", "bsl-1.0"),
    _phrase("the artistic license 2.0", "artistic-2.0"),
    _phrase("this is free and unencumbered software released into the public domain", "unlicense"),
    _phrase("do what the fuck you want to public license", "wtfpl"),
    _phrase("altered source versions must be plainly marked as such", "zlib"),
)


def detect_license(text: str) -> str:
    """The SPDX-like id of one license file's text; `custom` if unknown, `none` if blank."""
    t = normalize(text)
    if not t:
        return NONE
    found = [hit for rule in _RULES if (hit := rule(t)) is not None]
    if not found:
        return CUSTOM
    _, spdx = min(found)
    # Meta's licenses are custom ones; the id says which, so the drop detail names it.
    return f"{spdx}-community" if spdx.startswith("llama-") else spdx


def repository_license(texts: Iterable[str]) -> tuple[str, ...]:
    """The licenses of a repository from its root license files' texts (in file-name order).

    Unrecognized files ("see LICENSE.md", an author list named COPYING) do not outvote a
    recognized license beside them; with no recognized license at all the answer is `custom`, or
    `none` when there was no license text. Several recognized licenses are all returned.
    """
    ids = [detect_license(t) for t in texts]
    known = [i for i in ids if i not in (CUSTOM, NONE)]
    if known:
        return tuple(dict.fromkeys(known))
    return (CUSTOM,) if CUSTOM in ids else (NONE,)


def is_allowed(licenses: tuple[str, ...], allowed: Iterable[str]) -> bool:
    """Kept only when every license found is allowed: a repository that ships the GPL beside the
    MIT text cannot be taken as MIT-only."""
    allowed_set = {a.lower() for a in allowed}
    return all(lic in allowed_set for lic in licenses)
