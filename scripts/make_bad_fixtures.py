"""Write the bad-input suite deterministically: one folder per source, every damage the hardening
tests (tests/hardening/) feed the corpus job, with good documents planted around each damage.

    python -m scripts.make_bad_fixtures tests/fixtures/bad         # the small set (well under 1 MB)
    python -m scripts.make_bad_fixtures --big /tmp/bad             # plus the 50 MB line and the bombs

The big cases (a single 50 MB line, decompression bombs that expand to 1 GiB) are never written
into the repository: the tests make them in a temporary folder. `cases.json` beside the sources
lists every case and the outcome the job owes it (see scripts/bad/common.py, Case).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import shutil
from pathlib import Path

from pipeline.sources.registry import SOURCE_NAMES
from scripts.bad.common import Case


def make_bad_fixtures(root: Path, big: bool = False, sources: tuple[str, ...] = SOURCE_NAMES) -> list[Case]:
    """Write `root/<source>/...` for each source (replacing what was there), each by
    scripts/bad/<source>.py `build`; return the cases."""
    cases: list[Case] = []
    for source in sources:
        folder = root / source
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        cases += importlib.import_module(f"scripts.bad.{source}").build(folder, big)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="tests/fixtures/bad")
    parser.add_argument("--big", action="store_true", help="also write the 50 MB line and the decompression bombs")
    args = parser.parse_args()
    root = Path(args.root)
    cases = make_bad_fixtures(root, args.big)
    listing = [dataclasses.asdict(c) for c in cases]
    (root / "cases.json").write_text(json.dumps(listing, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"wrote {len(cases)} cases ({size:,} bytes) under {root}/")


if __name__ == "__main__":
    main()
