"""License detection by text (pipeline/sources/licenses.py): short canonical texts of each license,
which phrase wins, file names, several files per repository, and the shared samples' real files."""
from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from pipeline.sources.licenses import CUSTOM, NONE, detect_license, is_allowed, is_license_file, repository_license

REPO_ROOT = Path(__file__).resolve().parents[3]
GITHUB_SAMPLES = REPO_ROOT.parent / "shared" / "corpus-samples" / "github"
ALLOWED = ("apache-2.0", "bsd-2-clause", "bsd-3-clause", "mit")

MIT = ("Permission is hereby granted, free of charge, to any person obtaining a copy of this "
       "software and associated documentation files (the \"Software\"), to deal in the Software...")
BSD_HEAD = ("Redistribution and use in source and binary forms, with or without modification, are "
            "permitted provided that the following conditions are met:\n1. Redistributions of source "
            "code must retain the above copyright notice.\n2. Redistributions in binary form must "
            "reproduce the above copyright notice.\n")
BSD3_CLAUSE = ("3. Neither the name of the copyright holder nor the names of its contributors may be "
               "used to endorse or promote products derived from this software.\n")


@pytest.mark.parametrize("text, expected", [
    ("MIT License\n\nCopyright (c) 2024 A. Author\n\n" + MIT, "mit"),
    ("Apache License\n                 Version 2.0, January 2004\n   http://www.apache.org/licenses/", "apache-2.0"),
    ('Licensed under the Apache License, Version 2.0 (the "License");', "apache-2.0"),
    ("   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n   1. Definitions.", "apache-2.0"),
    ("The Apache Software License, Version 1.1", "apache-1.1"),
    ("Copyright (c) 2024\n\n" + BSD_HEAD + BSD3_CLAUSE, "bsd-3-clause"),
    ("Copyright (c) 2024\n\n" + BSD_HEAD, "bsd-2-clause"),
    (BSD_HEAD + "3. All advertising materials mentioning features or use of this software...", "bsd-4-clause"),
    ("GNU GENERAL PUBLIC LICENSE\n   Version 2, June 1991", "gpl-2.0"),
    ("GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007", "gpl-3.0"),
    ("This program is free software; you can redistribute it and/or modify it under the terms of "
     "the GNU General Public License as published by the Free Software Foundation; either version 2 "
     "of the License, or (at your option) any later version.", "gpl-2.0-or-later"),
    ("GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999", "lgpl-2.1"),
    ("GNU LIBRARY GENERAL PUBLIC LICENSE\n Version 2, June 1991", "lgpl-2.0"),
    ("GNU AFFERO GENERAL PUBLIC LICENSE\n Version 3, 19 November 2007", "agpl-3.0"),
    ("Mozilla Public License Version 2.0\n==================================", "mpl-2.0"),
    ("Eclipse Public License - v 2.0", "epl-2.0"),
    ("This is free and unencumbered software released into the public domain.", "unlicense"),
    ("DO WHAT THE FUCK YOU WANT TO PUBLIC LICENSE\n Version 2, December 2004", "wtfpl"),
    ("Creative Commons Legal Code\n\nCC0 1.0 Universal", "cc0-1.0"),
    ("Attribution-ShareAlike 4.0 International\n\nCreative Commons Corporation is not a law firm", "cc-by-sa-4.0"),
    ("Attribution-NonCommercial-NoDerivatives 4.0 International ... Creative Commons", "cc-by-nc-nd-4.0"),
    ("Permission to use, copy, modify, and/or distribute this software for any purpose with or "
     "without fee is hereby granted", "isc"),
    ("Boost Software License - Version 1.0 - August 17th, 2003", "bsl-1.0"),
    ("3. This notice may not be removed. 2. Altered source versions must be plainly marked as such", "zlib"),
    ("LLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: July 18, 2023", "llama-2-community"),
    ("META LLAMA 3 COMMUNITY LICENSE AGREEMENT", "llama-3-community"),
    ("Copyright 2024 Example Corp. All rights reserved. Do not copy.", CUSTOM),
    ("", NONE),
    ("  \n\t\n", NONE),
])
def test_canonical_texts(text, expected):
    assert detect_license(text) == expected


def test_first_signature_wins():
    gpl3 = ("GNU GENERAL PUBLIC LICENSE Version 3 ... 13. Use with the GNU Affero General Public "
            "License ... use the GNU Lesser General Public License instead of this License.")
    assert detect_license(gpl3) == "gpl-3.0"
    assert detect_license(MIT + "\n\nThird-party: parts of the docs are under the GNU General Public "
                          "License, version 3.") == "mit"


def test_wrapping_case_and_comment_markers_do_not_matter():
    wrapped = "# PERMISSION is hereby\n#   granted,  free of\n# charge, to any person obtaining a copy"
    assert detect_license(wrapped) == "mit"


@pytest.mark.parametrize("name, expected", [
    ("LICENSE", True), ("license.txt", True), ("LICENSE.md", True), ("LICENCE", True),
    ("COPYING", True), ("copying.rst", True), ("LICENSE-MIT", True), ("LICENSE_APACHE.txt", True),
    ("NOTICE", False), ("README.md", False), ("license.py", False), ("licenses", False),
    ("COPYING.LESSER", False),
])
def test_is_license_file(name, expected):
    assert is_license_file(name) is expected


def test_repository_license_combines_files():
    assert repository_license([]) == (NONE,)
    assert repository_license([""]) == (NONE,)
    assert repository_license(["All rights reserved."]) == (CUSTOM,)
    # A "see LICENSE" note beside a recognized text does not outvote it.
    assert repository_license(["See LICENSE.md.", MIT]) == ("mit",)
    assert repository_license([MIT, MIT]) == ("mit",)
    both = repository_license(['Licensed under the Apache License, Version 2.0', MIT])
    assert both == ("apache-2.0", "mit") and is_allowed(both, ALLOWED)
    mixed = repository_license(["GNU GENERAL PUBLIC LICENSE Version 3", MIT])
    assert mixed == ("gpl-3.0", "mit") and not is_allowed(mixed, ALLOWED)


def test_is_allowed_is_case_insensitive_on_the_config():
    assert is_allowed(("mit",), ("MIT",))
    assert not is_allowed((NONE,), ALLOWED) and is_allowed((NONE,), ALLOWED + (NONE,))


@pytest.mark.parametrize("archive, member, expected", [
    ("facebookresearch__cc_net__MIT.tar.gz", "LICENSE", "mit"),
    ("ssvb__xztextfilter__MIT_C.tar.gz", "LICENSE", "mit"),
    ("webrecorder__warcio__Apache-2.0.tar.gz", "LICENSE", "apache-2.0"),  # its title line is missing
    ("commoncrawl__whirlwind-python__Apache-2.0.tar.gz", "LICENSE", "apache-2.0"),
    ("pallets__markupsafe__BSD-3-Clause.tar.gz", "LICENSE.txt", "bsd-3-clause"),
    ("zx2c4__password-store__GPL-2.0.tar.gz", "COPYING", "gpl-2.0-or-later"),
    ("rupa__z__WTFPL.tar.gz", "LICENSE", "wtfpl"),
    ("meta-llama__llama__Llama2-Community-License.tar.gz", "LICENSE", "llama-2-community"),
])
def test_real_license_files(archive, member, expected):
    path = GITHUB_SAMPLES / archive
    if not path.is_file():
        pytest.skip(f"{path} not present")
    with tarfile.open(path) as tar:
        top = archive.removesuffix(".tar.gz")
        data = tar.extractfile(f"{top}/{member}").read()
    assert detect_license(data.decode("utf-8")) == expected
