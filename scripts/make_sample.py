"""Write the bundled sample (data/sample/) deterministically: `make sample` or
`python -m scripts.make_sample data/sample`. Every text in it is written by this project."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from scripts.sample import arxiv, books, c4, commoncrawl, github, stackexchange, wikipedia

WRITERS = {
    "arxiv": arxiv.write_sample,
    "books": books.write_sample,
    "c4": c4.write_sample,
    "commoncrawl": commoncrawl.write_sample,
    "github": github.write_sample,
    "stackexchange": stackexchange.write_sample,
    "wikipedia": wikipedia.write_sample,
}


def make_sample(root: Path) -> None:
    for source, write in WRITERS.items():
        folder = root / source
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        write(folder)


if __name__ == "__main__":
    make_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "data/sample"))
