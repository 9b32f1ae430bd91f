"""The bundled sample's Wikipedia dumps: short articles written by this project (none copied from
Wikipedia), in MediaWiki's native XML export form, for the reader in pipeline/sources/wikipedia.py.

- enwiki-sample-pages-articles.xml.bz2: schema 0.11 with siteinfo; eight articles using templates,
  refs, tables, categories, files, links and headings; two redirects (one marked by <redirect/>,
  one only by its #REDIRECT text); a Talk page and a Wikipedia-namespace page.
- dewiki-sample-pages-articles.xml: plain XML, German, with localized Kategorie/Datei links.
- jawiki-sample-pages-articles.xml.bz2: two Japanese pages, a language the recipe does not keep.
- frwiki-sample-pages-articles-multistream.xml.bz2: two concatenated bz2 streams, as in
  Wikimedia's multistream dumps.

The bytes are identical on every run: fixed text, ids and timestamps, and bz2 has no header dates.
"""
from __future__ import annotations

import bz2
import sys
from html import escape
from pathlib import Path

_XMLNS = "http://www.mediawiki.org/xml/export-0.11/"

# (key, name) of the namespaces each sample wiki declares in its siteinfo.
_NAMESPACES = {
    "en": [(1, "Talk"), (2, "User"), (4, "Wikipedia"), (6, "File"), (10, "Template"), (14, "Category")],
    "de": [(1, "Diskussion"), (2, "Benutzer"), (4, "Wikipedia"), (6, "Datei"), (10, "Vorlage"), (14, "Kategorie")],
    "fr": [(1, "Discussion"), (2, "Utilisateur"), (4, "Wikipédia"), (6, "Fichier"), (10, "Modèle"), (14, "Catégorie")],
    "ja": [(1, "ノート"), (2, "利用者"), (4, "Wikipedia"), (6, "ファイル"), (10, "Template"), (14, "Category")],
}
_SITENAME = {"en": "Wikipedia", "de": "Wikipedia", "fr": "Wikipédia", "ja": "Wikipedia"}

# (title, ns, wikitext, redirect target or None)
EN_PAGES = [
    ("Lighthouse", 0, """{{Infobox structure|name=Lighthouse|type=Navigational aid}}
[[File:Coastal lighthouse at dusk.jpg|thumb|A tower light on a rocky [[headland]]]]
A '''lighthouse''' is a tower that carries a bright light to guide ships along a [[coast]] and warn them of rocks and \
shallow water.<ref>{{cite book|title=Lights of the Coast|year=2001}}</ref>

== History ==
Early coastal lights were open fires burned on hills or stone platforms. Later towers used oil lamps and, from the \
nineteenth century, glass [[Lens (optics)|lenses]] that gathered the light into a strong beam.<ref name="lens"/>

== Operation ==
Each light flashes in its own pattern, so sailors can tell one station from another at night:
* a single flash every few seconds;
* groups of two or three flashes;
* a steady light that is briefly eclipsed.

Most lights today run automatically and no longer need a resident keeper.

== References ==
<references/>

[[Category:Navigation]]
[[Category:Towers]]
[[de:Leuchtturm]]""", None),
    ("Bread", 0,
     """'''Bread''' is a baked food made from a dough of [[flour]] and [[water]], usually leavened with \
[[yeast]].<ref>Baking notes, chapter 2.</ref>

== Common kinds ==
{| class="wikitable"
|-
! Kind !! Leavening !! Crust
|-
| Sourdough || wild yeast || thick
|-
| Flatbread || none || thin
|}
Loaves differ in flour, shape and baking time, but nearly all begin with the same few ingredients.

== Making ==
The dough is kneaded, left to rise, shaped and baked. A longer rise gives a more open crumb and a stronger flavour.

== External links ==
* [https://example.org/bread-basics Bread basics]
* [https://example.org/loaf]

[[Category:Staple foods]]""", None),
    ("Bicycle", 0, """<!-- Keep this introduction short. -->
A '''bicycle''' is a two-wheeled vehicle driven by pedals. Its ''frame'' holds two wheels one behind the other, and \
the rider steers with a [[handlebar]].

=== Parts ===
# The frame and fork
# Two wheels with [[tyre]]s
# A chain that turns the rear wheel
# Brakes on one or both wheels

Cycling is a cheap way to travel short distances and a popular form of exercise.&nbsp;Many towns now build lanes only \
for bicycles.

[[Image:Old bicycle.png|left|200px]]
[[Category:Vehicles]]
[[fr:Bicyclette]]""", None),
    ("Tide", 0,
     """'''Tides''' are the regular rise and fall of the sea, caused mainly by the pull of the [[Moon]] and, to a \
lesser degree, the [[Sun]].{{sfn|Harbour|1999|p=4}}

== Cause ==
The pull is a little stronger on the side of the Earth facing the Moon, so the water there bulges outward; a second \
bulge forms on the opposite side. The strength of the effect falls with distance as <math>F \\propto 1/r^3</math>.

== Spring and neap tides ==
When the Sun and Moon line up, their effects add together and give '''spring tides'''. When they pull at right angles, \
the range is smaller and the tides are called '''neap tides'''.<ref>Harbour, ''Tables of the Sea'', 1999.</ref>

[[Category:Oceanography]]""", None),
    ("Windmill", 0,
     """A '''windmill''' is a machine that turns the energy of the wind into rotation by means of sails or blades. \
Windmills were long used to [[Mill (grinding)|grind grain]] and to pump water out of low land.

<gallery>
File:Post mill.jpg|A post mill
File:Tower mill.jpg|A tower mill
</gallery>

== Kinds ==
In a '''post mill''' the whole body turns to face the wind. In a '''tower mill''' only the cap with the sails turns, \
while the brick or stone tower stays still.

Modern [[wind turbine]]s are related machines that make electricity instead of grinding grain.

[[Category:Mills]]""", None),
    ("Granite", 0, """{{Short description|Common igneous rock}}
'''Granite''' is a hard, light-coloured [[igneous rock]] made mostly of [[quartz]] and [[feldspar]] crystals large \
enough to see without a lens.

== Uses ==
Granite is strong &amp; resists weather, so it is used for kerbs, steps and monuments.
{| class="wikitable"
|+ Typical minerals
|-
| Quartz || 20–60%
|-
| Feldspar || 10–65%
|}
Polished granite is also used for kitchen counters and floors.

[[Category:Rocks]]""", None),
    ("Paper", 0, """__TOC__
'''Paper''' is a thin sheet made by pressing together wet fibres, usually from wood, and drying them.

== History ==
Paper making spread slowly from one region to the next over many centuries. Early sheets were made by hand, one at a \
time, on a fine screen.

== Manufacture ==
Today long machines form, press and dry a continuous web of paper at high speed.

== See also ==
* [[Cardboard]]
* [[Printing]]

== References ==
{{Reflist}}

[[Category:Materials]]""", None),
    ("Honey bee", 0, """[[File:Bee on flower.jpg|thumb|A worker bee collecting [[pollen]]]]
The '''honey bee''' is a social insect that lives in large colonies and stores [[honey]] made from the nectar of \
flowers.

== Colony ==
A colony has one queen, many workers and, in summer, a number of drones. Workers build the wax comb, care for the \
young and gather food.<ref>{{cite journal|title=Life in the hive|year=2010}}</ref>

Bees are important [[pollination|pollinators]] of fruit trees and many crops.

[[Category:Insects]]""", None),
    ("Lighthouses", 0, "#REDIRECT [[Lighthouse]]", "Lighthouse"),
    ("Loaf", 0, "#REDIRECT [[Bread]] {{R from related word}}", None),
    ("Talk:Bread", 1, """== Table of kinds ==
Should the table list more kinds of bread? ~~~~""", None),
    ("Wikipedia:Sample pages", 4, """This page explains how the sample articles were written.""", None),
]

DE_PAGES = [
    ("Leuchtturm", 0, """[[Datei:Leuchtturm an der Küste.jpg|mini|Ein Leuchtturm am Abend]]
Ein '''Leuchtturm''' ist ein Turm mit einem starken Licht, das Schiffen an der [[Küste]] den Weg zeigt.{{Belege fehlen}}

== Geschichte ==
Früher brannten an den Küsten offene Feuer. Später sorgten Linsen aus Glas für einen weit sichtbaren \
Strahl.<ref>Küstenbuch, S. 12.</ref>

[[Kategorie:Seefahrt]]""", None),
    ("Brot", 0, """'''Brot''' ist ein gebackenes Lebensmittel aus [[Mehl]], Wasser und meist [[Hefe]] oder Sauerteig.

== Sorten ==
Es gibt helle und dunkle Brote, große Laibe und kleine Brötchen.

[[Kategorie:Backware]]
[[Datei:Brotlaib.png|links]]""", None),
    ("Brote", 0, "#WEITERLEITUNG [[Brot]]", None),
]

FR_PAGES = [
    ("Phare", 0, """[[Fichier:Phare breton.jpg|vignette|Un phare sur un rocher]]
Un '''phare''' est une tour munie d'une lumière puissante qui guide les navires le long des [[côte]]s.<ref>Guide des \
côtes, p. 3.</ref>

== Fonctionnement ==
Chaque phare possède son propre rythme de lumière, ce qui permet aux marins de le reconnaître la nuit.

[[Catégorie:Navigation maritime]]""", None),
    ("Pain", 0, """{{Ébauche|alimentation}}
Le '''pain''' est un aliment préparé à partir de [[farine]], d'eau et de sel, le plus souvent levé grâce à la \
[[levure]].

== Fabrication ==
La pâte est pétrie, laissée au repos, façonnée puis cuite au four.

[[Catégorie:Pain]]""", None),
]

JA_PAGES = [
    ("灯台", 0, """'''灯台'''は、夜に強い光を出して船に岸や岩の位置を知らせる塔である。

== 歴史 ==
昔は岬の上で火をたいていたが、のちにレンズを使った明るい灯りに変わった。

[[Category:航路標識]]""", None),
    ("パン", 0, """'''パン'''は、小麦粉と水をこねて発酵させ、焼いて作る食べ物である。

[[Category:パン]]""", None),
]


def _header(lang: str) -> str:
    namespaces = "\n".join(
        f'      <namespace key="{key}" case="first-letter">{escape(name)}</namespace>'
        for key, name in [(0, ""), *_NAMESPACES[lang]]
    ).replace('key="0" case="first-letter"></namespace>', 'key="0" case="first-letter" />')
    return f"""<mediawiki xmlns="{_XMLNS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="{_XMLNS} http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="{lang}">
  <siteinfo>
    <sitename>{escape(_SITENAME[lang])}</sitename>
    <dbname>{lang}wiki</dbname>
    <base>https://{lang}.wikipedia.org/wiki/Main_Page</base>
    <generator>MediaWiki 1.41.0</generator>
    <case>first-letter</case>
    <namespaces>
{namespaces}
    </namespaces>
  </siteinfo>
"""


_FOOTER = "</mediawiki>\n"


def _page(title: str, ns: int, page_id: int, text: str, redirect: str | None) -> str:
    redirect_line = f'    <redirect title="{escape(redirect)}" />\n' if redirect else ""
    size = len(text.encode("utf-8"))
    return f"""  <page>
    <title>{escape(title)}</title>
    <ns>{ns}</ns>
    <id>{page_id}</id>
{redirect_line}    <revision>
      <id>{page_id * 10 + 1}</id>
      <timestamp>2024-0{1 + page_id % 9}-1{page_id % 10}T08:30:00Z</timestamp>
      <contributor>
        <username>Sample writer</username>
        <id>1</id>
      </contributor>
      <model>wikitext</model>
      <format>text/x-wiki</format>
      <text bytes="{size}" xml:space="preserve">{escape(text, quote=False)}</text>
    </revision>
  </page>
"""


def _pages(pages: list[tuple[str, int, str, str | None]], first_id: int) -> str:
    return "".join(_page(title, ns, first_id + i, text, target) for i, (title, ns, text, target) in enumerate(pages))


def write_sample(dest: Path) -> None:
    """Write the four sample dumps into `dest` (the sample's wikipedia/ folder)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    english = _header("en") + _pages(EN_PAGES, 100) + _FOOTER
    (dest / "enwiki-sample-pages-articles.xml.bz2").write_bytes(bz2.compress(english.encode("utf-8"), 9))
    german = _header("de") + _pages(DE_PAGES, 200) + _FOOTER
    (dest / "dewiki-sample-pages-articles.xml").write_bytes(german.encode("utf-8"))
    japanese = _header("ja") + _pages(JA_PAGES, 300) + _FOOTER
    (dest / "jawiki-sample-pages-articles.xml.bz2").write_bytes(bz2.compress(japanese.encode("utf-8"), 9))
    # Multistream: the header and first page in one bz2 stream, the rest in a second.
    first = _header("fr") + _pages(FR_PAGES[:1], 400)
    second = _pages(FR_PAGES[1:], 401) + _FOOTER
    streams = bz2.compress(first.encode("utf-8"), 9) + bz2.compress(second.encode("utf-8"), 9)
    (dest / "frwiki-sample-pages-articles-multistream.xml.bz2").write_bytes(streams)


if __name__ == "__main__":
    write_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "data/sample/wikipedia"))
