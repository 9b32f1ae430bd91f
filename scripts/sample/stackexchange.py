"""The bundled sample's StackExchange dumps: questions and answers written by this project (none
copied from Stack Exchange), in the data dump's native Posts.xml form, for the reader in
pipeline/sources/stackexchange.py.

- gardening.sample.stackexchange.com_2024-03/Posts.xml (+ Tags.xml, another table of the dump that
  is not an input): eight questions and seventeen answers with varied scores, HTML bodies with
  paragraphs, lists, code blocks, links, an image and entities. One question has no answers (kept
  alone; no_answers under stackexchange.min_answers 1); two answers tie at the top score, the
  accepted one of them has the larger id (it still comes first); a tag-wiki excerpt and a tag wiki
  (PostTypeId 4 and 5) are not documents; one answer row has a non-integer Score (a read
  parse_error); one answer's question is not in the dump (a clean parse_error, "answers without
  their question").
- woodworking.sample.stackexchange.com.7z: a second site as archive.org ships it, Posts.xml at the
  root of a 7z archive, three questions and five answers (a table, a blockquote).

The bytes are identical on every run: fixed text, ids and dates, and the one timestamp py7zr writes
into the archive (a member's last-write time, otherwise "now") is set to a fixed date.
"""
from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

import py7zr
from py7zr.helpers import ArchiveTimestamp

GARDENING = "gardening.sample.stackexchange.com"
GARDENING_FOLDER = f"{GARDENING}_2024-03"
WOODWORKING = "woodworking.sample.stackexchange.com"
ARCHIVE = f"{WOODWORKING}.7z"
_ARCHIVE_TIME = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)

# Rows in file order: (attribute, value) pairs exactly as a dump writes them (bodies are HTML).
GARDENING_ROWS: list[dict[str, str]] = [
    {"Id": "1", "PostTypeId": "1", "AcceptedAnswerId": "6", "CreationDate": "2023-05-02T08:14:03.120", "Score": "12",
     "Body": "<p>The lowest leaves on my tomato plants are turning yellow and then brown. The top of each plant still "
             "looks healthy.</p>\n<p>They grow in large pots on a sunny balcony and I water them every evening. Is "
             "this a disease, or something I am doing wrong?</p>\n",
     "LastActivityDate": "2023-05-09T17:40:00.000",
     "Title": "Why are my tomato leaves turning yellow from the bottom up?",
     "Tags": "<tomatoes><leaves><containers>"},
    {"Id": "2", "PostTypeId": "2", "ParentId": "1", "CreationDate": "2023-05-02T09:30:11.000", "Score": "3",
     "Body": "<p>Older leaves often yellow when a plant runs short of nitrogen, because it moves what it has to the "
             "new growth. Feed them with a balanced liquid fertiliser every two weeks.</p>\n",
     "LastActivityDate": "2023-05-02T09:30:11.000"},
    {"Id": "5", "PostTypeId": "2", "ParentId": "1", "CreationDate": "2023-05-03T12:01:45.500", "Score": "9",
     "Body": "<p>Watering every evening keeps the lower leaves damp overnight. That is exactly what <em>early "
             "blight</em> likes.</p>\n<ul>\n<li>Water the soil in the morning, not the leaves.</li>\n<li>Remove the "
             "yellow leaves and put them in the bin, not the compost.</li>\n<li>Leave space between the pots so that "
             "air can move.</li>\n</ul>\n",
     "LastActivityDate": "2023-05-03T12:01:45.500"},
    {"Id": "6", "PostTypeId": "2", "ParentId": "1", "CreationDate": "2023-05-04T07:22:10.250", "Score": "9",
     "Body": "<p>Check the drainage first. A pot that stays wet drowns the roots, and the first sign is yellowing from "
             "the bottom.</p>\n<p>Lift the pot the morning after watering: if it is still heavy, water less often. The "
             "<a href=\"https://example.org/pots\">guide to container sizes</a> has a table of how much water each pot "
             "size needs.</p>\n",
     "LastActivityDate": "2023-05-09T17:40:00.000"},
    {"Id": "7", "PostTypeId": "1", "AcceptedAnswerId": "8", "CreationDate": "2023-06-11T19:45:00.000", "Score": "7",
     "Body": "<p>I log my soil moisture sensor with a small script, but wet soil gives <em>low</em> numbers and dry "
             "soil gives high ones:</p>\n<pre><code>def moisture(raw):\n    return raw / 1023 * "
             "100\n\nprint(moisture(sensor.read()))\n</code></pre>\n<p>Is my sensor broken?</p>\n",
     "LastActivityDate": "2023-06-12T06:10:00.000", "Title": "My soil moisture sensor reads backwards",
     "Tags": "<irrigation><sensors>"},
    {"Id": "8", "PostTypeId": "2", "ParentId": "7", "CreationDate": "2023-06-11T21:02:33.000", "Score": "15",
     "Body": "<p>It is not broken. Capacitive sensors give a <em>lower</em> voltage in wet soil, so invert the scale "
             "and calibrate it with a dry and a wet reading:</p>\n<pre><code>DRY, WET = 820, 410\n\ndef "
             "moisture(raw):\n    pct = (DRY - raw) / (DRY - WET) * 100\n    return max(0, min(100, "
             "pct))\n</code></pre>\n<p>Take <code>DRY</code> in air and <code>WET</code> in a glass of water.</p>\n",
     "LastActivityDate": "2023-06-12T06:10:00.000"},
    {"Id": "9", "PostTypeId": "2", "ParentId": "7", "CreationDate": "2023-06-12T05:55:00.000", "Score": "2",
     "Body": "<p>Also keep the sensor away from the edge of the pot &amp; away from the dripper, or the readings jump "
             "around.</p>\n",
     "LastActivityDate": "2023-06-12T05:55:00.000"},
    {"Id": "10", "PostTypeId": "1", "CreationDate": "2023-07-20T10:00:00.000", "Score": "4",
     "Body": "<p>A neighbour says that used coffee grounds make the soil acid enough for blueberries. Is that "
             "true?</p>\n",
     "LastActivityDate": "2023-07-20T10:00:00.000", "Title": "Are coffee grounds good for blueberries?",
     "Tags": "<blueberries><soil-ph>"},
    {"Id": "11", "PostTypeId": "1", "AcceptedAnswerId": "13", "CreationDate": "2023-08-01T16:20:00.000", "Score": "5",
     "Body": "<p>My compost heap smells and stays wet. I add mostly grass clippings &amp; kitchen scraps. What is the "
             "right mix of \"greens\" and \"browns\"?</p>\n",
     "LastActivityDate": "2023-08-03T09:00:00.000", "Title": "Compost ratio: greens & browns?",
     "Tags": "<compost>"},
    {"Id": "12", "PostTypeId": "2", "ParentId": "11", "CreationDate": "2023-08-01T18:00:00.000", "Score": "1",
     "Body": "<p>Turn it more often.</p>\n",
     "LastActivityDate": "2023-08-01T18:00:00.000"},
    {"Id": "13", "PostTypeId": "2", "ParentId": "11", "CreationDate": "2023-08-02T08:30:00.000", "Score": "11",
     "Body": "<p>Aim for a carbon to nitrogen ratio of about 30:1. Grass and scraps are far below that (C:N &lt; 20), "
             "which is why the heap turns slimy.</p>\n<ol>\n<li>Add two buckets of dry leaves or shredded cardboard "
             "for every bucket of grass.</li>\n<li>Mix, do not layer.</li>\n<li>Squeeze a handful: a few drops of "
             "water is right.</li>\n</ol>\n",
     "LastActivityDate": "2023-08-03T09:00:00.000"},
    {"Id": "14", "PostTypeId": "1", "CreationDate": "2023-09-05T07:00:00.000", "Score": "6",
     "Body": "<p>The bed along the north fence gets sun only until about ten in the morning. What vegetables will "
             "still grow there?</p>\n",
     "LastActivityDate": "2023-09-07T12:00:00.000", "Title": "Which vegetables grow in partial shade?",
     "Tags": "<vegetables><shade>"},
    {"Id": "15", "PostTypeId": "2", "ParentId": "14", "CreationDate": "2023-09-05T09:10:00.000", "Score": "8",
     "Body": "<p>Leafy crops cope best with three or four hours of sun:</p>\n<ul>\n<li>lettuce and other salad "
             "leaves</li>\n<li>spinach and chard</li>\n<li>herbs such as parsley, mint and "
             "chives</li>\n</ul>\n<p>Fruiting crops (tomatoes, peppers, squash) will disappoint you there.</p>\n",
     "LastActivityDate": "2023-09-05T09:10:00.000"},
    {"Id": "16", "PostTypeId": "2", "ParentId": "14", "CreationDate": "2023-09-06T20:45:00.000", "Score": "-1",
     "Body": "<p>Just cut down the fence.</p>\n",
     "LastActivityDate": "2023-09-06T20:45:00.000"},
    {"Id": "17", "PostTypeId": "2", "ParentId": "14", "CreationDate": "2023-09-07T12:00:00.000", "Score": "3",
     "Body": "<p>Beetroot and radishes did well in my shady bed, though the roots stayed smaller.</p>\n<p><img "
             "src=\"https://example.org/radishes.jpg\" alt=\"enter image description here\"></p>\n",
     "LastActivityDate": "2023-09-07T12:00:00.000"},
    {"Id": "18", "PostTypeId": "4", "CreationDate": "2023-01-10T00:00:00.000", "Score": "0",
     "Body": "<p>Questions about growing tomatoes, indoors or outdoors.</p>\n",
     "LastActivityDate": "2023-01-10T00:00:00.000"},
    {"Id": "19", "PostTypeId": "5", "CreationDate": "2023-01-10T00:00:00.000", "Score": "0",
     "Body": "<p>Tomatoes are warm-season plants. Use this tag for sowing, feeding, pruning and diseases of "
             "tomatoes.</p>\n",
     "LastActivityDate": "2023-01-10T00:00:00.000"},
    {"Id": "20", "PostTypeId": "1", "AcceptedAnswerId": "21", "CreationDate": "2023-10-02T14:00:00.000", "Score": "9",
     "Body": "<p>When is the right time to plant tulip bulbs, and how deep should they go?</p>\n",
     "LastActivityDate": "2023-10-03T08:00:00.000", "Title": "When and how deep should I plant tulip bulbs?",
     "Tags": "<bulbs><tulips>"},
    {"Id": "21", "PostTypeId": "2", "ParentId": "20", "CreationDate": "2023-10-02T15:30:00.000", "Score": "6",
     "Body": "<p>Plant them in autumn once the soil has cooled, usually from October. A good rule is three times the "
             "height of the bulb, pointed end up.</p>\n",
     "LastActivityDate": "2023-10-03T08:00:00.000"},
    {"Id": "22", "PostTypeId": "2", "ParentId": "20", "CreationDate": "2023-10-02T16:10:00.000", "Score": "Lots",
     "Body": "<p>A row whose score is not a number.</p>\n", "LastActivityDate": "2023-10-02T16:10:00.000"},
    {"Id": "23", "PostTypeId": "2", "ParentId": "20", "CreationDate": "2023-10-02T18:40:00.000", "Score": "2",
     "Body": "<p>In heavy clay, add a handful of grit under each bulb so it does not sit in water over winter.</p>\n",
     "LastActivityDate": "2023-10-02T18:40:00.000"},
    {"Id": "24", "PostTypeId": "2", "ParentId": "99", "CreationDate": "2023-10-05T10:00:00.000", "Score": "1",
     "Body": "<p>This answer's question is not in the dump.</p>\n", "LastActivityDate": "2023-10-05T10:00:00.000"},
    {"Id": "25", "PostTypeId": "1", "AcceptedAnswerId": "26", "CreationDate": "2023-11-14T11:11:00.000", "Score": "3",
     "Body": "<p>Frost is forecast tonight and my potted lemon tree is still outside. Should I bring it in, or is a "
             "fleece enough?</p>\n",
     "LastActivityDate": "2023-11-14T13:00:00.000", "Title": "Protecting a potted lemon tree from frost",
     "Tags": "<citrus><frost><containers>"},
    {"Id": "26", "PostTypeId": "2", "ParentId": "25", "CreationDate": "2023-11-14T12:00:00.000", "Score": "5",
     "Body": "<p>Bring it in. Lemons are damaged below about &minus;2&nbsp;&deg;C, and a pot freezes much faster than "
             "the ground.</p>\n<blockquote>\n<p>A cool, bright room is better than a warm living "
             "room.</p>\n</blockquote>\n",
     "LastActivityDate": "2023-11-14T13:00:00.000"},
    {"Id": "27", "PostTypeId": "2", "ParentId": "25", "CreationDate": "2023-11-14T12:30:00.000", "Score": "0",
     "Body": "<p>A double layer of fleece is fine for one light frost.</p>\n",
     "LastActivityDate": "2023-11-14T12:30:00.000"},
    {"Id": "28", "PostTypeId": "1", "CreationDate": "2023-12-01T09:00:00.000", "Score": "2",
     "Body": "<p>Can I prune an apple tree in winter, or should I wait for spring?</p>\n",
     "LastActivityDate": "2023-12-02T10:00:00.000", "Title": "Pruning apple trees in winter",
     "Tags": "<pruning><apple-trees>"},
    {"Id": "29", "PostTypeId": "2", "ParentId": "28", "CreationDate": "2023-12-02T10:00:00.000", "Score": "4",
     "Body": "<p>Winter is the usual time for apples, while the tree is dormant. Cut out dead, crossing and "
             "inward-growing branches first.</p>\n",
     "LastActivityDate": "2023-12-02T10:00:00.000"},
]

GARDENING_TAGS = [("1", "tomatoes", "18", "19"), ("2", "compost", "", "")]

WOODWORKING_ROWS: list[dict[str, str]] = [
    {"Id": "1", "PostTypeId": "1", "AcceptedAnswerId": "3", "CreationDate": "2024-01-08T18:00:00.000", "Score": "5",
     "Body": "<p>Which glue should I use for an outdoor bench made of oak?</p>\n",
     "LastActivityDate": "2024-01-09T09:00:00.000", "Title": "Glue for an outdoor oak bench",
     "Tags": "<glue><outdoor>"},
    {"Id": "2", "PostTypeId": "2", "ParentId": "1", "CreationDate": "2024-01-08T19:00:00.000", "Score": "2",
     "Body": "<p>Any <strong>polyurethane</strong> glue will do; it foams and fills gaps.</p>\n",
     "LastActivityDate": "2024-01-08T19:00:00.000"},
    {"Id": "3", "PostTypeId": "2", "ParentId": "1", "CreationDate": "2024-01-08T20:00:00.000", "Score": "7",
     "Body": "<p>Use a waterproof glue rated for exterior use:</p>\n<table>\n<tr><th>Glue</th><th>Open "
             "time</th></tr>\n<tr><td>Type III PVA</td><td>10 min</td></tr>\n<tr><td>Epoxy</td><td>30 "
             "min</td></tr>\n</table>\n",
     "LastActivityDate": "2024-01-09T09:00:00.000"},
    {"Id": "4", "PostTypeId": "1", "CreationDate": "2024-02-10T10:00:00.000", "Score": "3",
     "Body": "<p>My chisels leave torn fibres in pine. How sharp is sharp enough?</p>\n",
     "LastActivityDate": "2024-02-11T10:00:00.000", "Title": "How sharp should a chisel be?",
     "Tags": "<chisels><sharpening>"},
    {"Id": "5", "PostTypeId": "2", "ParentId": "4", "CreationDate": "2024-02-10T12:00:00.000", "Score": "6",
     "Body": "<blockquote>\n<p>Sharp enough to pare end grain of pine cleanly.</p>\n</blockquote>\n<p>That is the "
             "test. Hone to at least 4000 grit and strop.</p>\n",
     "LastActivityDate": "2024-02-10T12:00:00.000"},
    {"Id": "6", "PostTypeId": "2", "ParentId": "4", "CreationDate": "2024-02-11T10:00:00.000", "Score": "1",
     "Body": "<p>Softwood is harder to cut cleanly than oak, so a bit of tearing is normal.</p>\n",
     "LastActivityDate": "2024-02-11T10:00:00.000"},
    {"Id": "7", "PostTypeId": "1", "CreationDate": "2024-02-20T08:00:00.000", "Score": "1",
     "Body": "<p>Does wood glue stick to an oiled surface?</p>\n",
     "LastActivityDate": "2024-02-20T09:00:00.000", "Title": "Gluing over an oil finish", "Tags": "<glue><finishing>"},
    {"Id": "8", "PostTypeId": "2", "ParentId": "7", "CreationDate": "2024-02-20T09:00:00.000", "Score": "2",
     "Body": "<p>No. Sand back to bare wood wherever the joint will be.</p>\n",
     "LastActivityDate": "2024-02-20T09:00:00.000"},
]


def _attr(value: str) -> str:
    # The dump escapes attribute values like this, newlines included (as &#xA;).
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#xA;"))


def _table_xml(root: str, rows: list[dict[str, str]]) -> bytes:
    lines = ["\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>", f"<{root}>"]
    for row in rows:
        attrs = " ".join(f'{name}="{_attr(value)}"' for name, value in row.items())
        lines.append(f"  <row {attrs} />")
    lines.append(f"</{root}>")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _tags_rows() -> list[dict[str, str]]:
    rows = []
    for tag_id, name, excerpt, wiki in GARDENING_TAGS:
        row = {"Id": tag_id, "TagName": name, "Count": "3"}
        row.update({"ExcerptPostId": excerpt, "WikiPostId": wiki} if excerpt else {})
        rows.append(row)
    return rows


def _archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(data, name)
        # py7zr stamps each member with the current time; a fixed one keeps the bytes stable.
        fixed = ArchiveTimestamp.from_datetime(_ARCHIVE_TIME.timestamp())
        for info in archive.header.files_info.files:
            info["creationtime"] = info["lastwritetime"] = info["lastaccesstime"] = fixed
    return buffer.getvalue()


def write_sample(dest: Path) -> None:
    """Write the two sample sites into `dest` (the sample's stackexchange/ folder)."""
    dest = Path(dest)
    folder = dest / GARDENING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Posts.xml").write_bytes(_table_xml("posts", GARDENING_ROWS))
    (folder / "Tags.xml").write_bytes(_table_xml("tags", _tags_rows()))
    (dest / ARCHIVE).write_bytes(_archive({"Posts.xml": _table_xml("posts", WOODWORKING_ROWS)}))


if __name__ == "__main__":
    write_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "data/sample/stackexchange"))
