"""`corral show OUT`: why did this document go? Kept or dropped documents of a corpus run, found by
source, drop reason, id or URL (substrings), with their drop reason, stage and detail and the scores
the filters gave (language and its score, perplexity and bucket, reference probability).

It reads the shards with pyarrow alone and streams them: for each record batch (Parquet: row group)
only the columns the filters need are read, and the other columns only of the batches where rows
match; it stops at `--limit` matches. A run made with `shards.write_dropped: false` (the llama
preset) kept no dropped documents, only their counts in stats.json: the output says so and gives
those counts.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core.document import DropReason
from pipeline.core.shards import ShardFile

SHOWN = ("id", "source", "url", "lang", "lang_score", "perplexity", "ppl_bucket", "wiki_ref_prob", "metadata", "text")
DROP_COLUMNS = ("drop_reason", "drop_stage", "drop_detail")


def _load(out: str, name: str) -> dict[str, Any]:
    path = os.path.join(out, name)
    if not os.path.isfile(path):
        raise ValueError(f"{path} is missing: is {out} a corpus output? run `make corpus OUT={out}` first")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _mask(keys: pa.Table, reason: str | None, id_part: str | None, url_part: str | None) -> pa.Array:
    mask = pa.array([True] * keys.num_rows)
    if reason is not None:
        mask = pc.and_(mask, pc.equal(keys.column("drop_reason"), reason))
    if id_part is not None:
        mask = pc.and_(mask, pc.match_substring(keys.column("id"), id_part))
    if url_part is not None:
        mask = pc.and_(mask, pc.fill_null(pc.match_substring(keys.column("url"), url_part), False))
    return mask


def find_documents(out: str, entries: list[dict[str, Any]], reason: str | None = None, id_part: str | None = None,
                   url_part: str | None = None) -> Iterator[dict[str, Any]]:
    """The matching rows of the given manifest entries, in shard and row order, as dicts with
    `status` (kept or dropped); one record batch in memory at a time."""
    for entry in entries:
        dropped = entry["path"].startswith("dropped/")
        keys = [c for c, used in (("id", id_part), ("url", url_part), ("drop_reason", reason)) if used is not None]
        columns = list(SHOWN + DROP_COLUMNS) if dropped else list(SHOWN)
        with ShardFile(os.path.join(out, entry["path"])) as shard:
            for i in range(shard.num_batches):
                rows = pc.indices_nonzero(_mask(shard.batch(i, keys), reason, id_part, url_part)) if keys else None
                if rows is not None and len(rows) == 0:
                    continue
                table = shard.batch(i, columns)
                for row in (table.take(rows) if rows is not None else table).to_pylist():
                    yield {"status": "dropped" if dropped else "kept", **row}


def _entries(manifest: dict[str, Any], sources: list[str] | None, status: str | None,
             reason: str | None) -> list[dict[str, Any]]:
    kept = [] if status == "dropped" or reason is not None else manifest["shards"]
    dropped = [] if status == "kept" else manifest["dropped_shards"]
    return [e for e in kept + dropped if sources is None or e["source"] in sources]


def _not_written_note(stats: dict[str, Any], sources: list[str] | None, reason: str | None) -> str:
    """What stats.json counts of the dropped documents a run did not write."""
    counts = []
    for source, s in sorted(stats["sources"].items()):
        if sources is None or source in sources:
            dropped = {r: n for r, n in s["dropped"].items() if reason is None or r == reason}
            if dropped:
                counts.append(f"{source} {sum(dropped.values()):,} ("
                              + ", ".join(f"{r}={n:,}" for r, n in dropped.items()) + ")")
    return ("note: this run kept no dropped documents to show (shards.write_dropped: false); "
            "stats.json counts them: " + ("; ".join(counts) or "none match"))


def _cut(text: str, width: int) -> str:
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    return flat if width <= 0 or len(flat) <= width else flat[:width] + "…"


def _scores(row: dict[str, Any]) -> str:
    parts = []
    if row["lang"] is not None:
        parts.append(f"lang {row['lang']}" + (f" {row['lang_score']:.3f}" if row["lang_score"] is not None else ""))
    if row["perplexity"] is not None:
        parts.append(f"perplexity {row['perplexity']:.1f}" + (f" ({row['ppl_bucket']})" if row["ppl_bucket"] else ""))
    if row["wiki_ref_prob"] is not None:
        parts.append(f"wiki_ref_prob {row['wiki_ref_prob']:.3f}")
    return " · ".join(parts) or "none"


def format_document(row: dict[str, Any], width: int) -> str:
    lines = [f"{row['status']} {row['source']} {row['id']}"]
    if row["url"]:
        lines.append(f"  url     {row['url']}")
    if row["status"] == "dropped":
        detail = f": {row['drop_detail']}" if row["drop_detail"] else ""
        lines.append(f"  reason  {row['drop_reason']} (stage {row['drop_stage']}){detail}")
    lines.append(f"  scores  {_scores(row)}")
    lines.append(f"  text    {_cut(row['text'], width)} ({len(row['text']):,} chars)")
    return "\n".join(lines)


def add_show_parser(sub: Any) -> None:
    p = sub.add_parser("show", help="why did this document go? kept or dropped documents with their reason and scores")
    p.add_argument("out", nargs="?", default="out/corpus", help="the corpus output folder (default: out/corpus)")
    p.add_argument("--source", action="append", help="only this source (again for more)")
    p.add_argument("--reason", help="only documents dropped for this reason (duplicate_exact, lang, perplexity, ...)")
    p.add_argument("--id", dest="id_part", metavar="TEXT", help="only documents whose id contains TEXT")
    p.add_argument("--url", dest="url_part", metavar="TEXT", help="only documents whose URL contains TEXT")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--kept", dest="status", action="store_const", const="kept", help="kept documents only")
    which.add_argument("--dropped", dest="status", action="store_const", const="dropped", help="dropped documents only")
    p.add_argument("--limit", type=int, default=20, help="show at most this many documents (default 20; 0: all)")
    p.add_argument("--width", type=int, default=120, help="cut the text to this many characters (default 120; 0: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, for scripts")


def run_show_command(args: Any) -> int:
    """Print the matches; exit code 0 when some matched, 1 when none did (like grep)."""
    manifest, stats = _load(args.out, "manifest.json"), _load(args.out, "stats.json")
    unknown = sorted(set(args.source or ()) - set(stats["sources"]))
    if unknown:
        raise ValueError(f"--source {', '.join(unknown)}: not in this run; "
                         f"its sources: {', '.join(sorted(stats['sources']))}")
    reasons = sorted(r.value for r in DropReason)
    if args.reason is not None and args.reason not in reasons:
        raise ValueError(f"--reason {args.reason}: not a drop reason; reasons: {', '.join(reasons)}")
    note = sys.stderr if args.json else sys.stdout
    if args.status != "kept" and not manifest["dropped_shards"]:
        print(_not_written_note(stats, args.source, args.reason), file=note)
    entries = _entries(manifest, args.source, args.status, args.reason)
    shown = 0
    for row in find_documents(args.out, entries, args.reason, args.id_part, args.url_part):
        if args.json:
            text = row["text"] if args.width <= 0 else row["text"][:args.width]
            record = {**row, "chars": len(row["text"]), "text": text}
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(format_document(row, args.width) + "\n")
        shown += 1
        if shown == args.limit:
            print(f"show: the first {shown} matches (--limit 0 for all)", file=note)
            break
    if not shown:
        print("show: no documents match", file=note)
    return 0 if shown else 1
