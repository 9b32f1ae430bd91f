"""The bundled sample's books: short stories and essays written by this project (none copied from
Project Gutenberg), wrapped in the header and footer layouts Gutenberg used over the years, so the
books reader (pipeline/sources/books.py) and the book dedup (LLaMA section 2, Books) have real
work to do. The boilerplate is also this project's wording; only the marker lines follow
Gutenberg's, since they are what a cleaner has to recognise.

| file | layout | encoding, line ends |
|---|---|---|
| pg90001_keeper_of_gull_rock.txt | modern `*** START OF THE PROJECT GUTENBERG EBOOK` | UTF-8 with BOM, LF |
| pg90001_keeper_of_gull_rock_old_edition.txt | 2007 `***START OF THE ...` (no spaces), credits | ASCII, CRLF |
| pg90002_jardin_des_tilleuls_latin1.txt | 2010 `*** START OF THIS ...`, French | ISO-8859-1, CRLF |
| pg90003_commonplace_book.txt | 1990s `*END*THE SMALL PRINT!`, no Title: fields | ASCII, CRLF |
| winter_birds.txt.gz | no boilerplate at all | UTF-8, LF, gzip |

The old edition of The Keeper of Gull Rock is the same story with a few words changed and straight
quotes, so the book dedup keeps one of the two. The bytes are identical on every run.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

KEEPER = "pg90001_keeper_of_gull_rock.txt"
KEEPER_OLD = "pg90001_keeper_of_gull_rock_old_edition.txt"
JARDIN = "pg90002_jardin_des_tilleuls_latin1.txt"
COMMONPLACE = "pg90003_commonplace_book.txt"
BIRDS = "winter_birds.txt.gz"
FILENAMES = (KEEPER, KEEPER_OLD, JARDIN, COMMONPLACE, BIRDS)

KEEPER_BODY = """THE KEEPER OF GULL ROCK

by Ada Corral


I.

The lighthouse on Gull Rock stood a mile and a half from the harbour, on a shelf of black
stone that the sea covered twice a day. Tobias Wren had kept its lamp for nineteen years, and
in all that time he had been ashore only for funerals and for the yearly inspection, which he
dreaded more than the funerals.

He kept a ledger. Every evening at dusk he wrote the hour he lit the lamp, the state of the
wind, the ships he had seen and anything else worth remembering. The inspectors read the
ledger each spring and said it was the neatest in the service. They did not read the margins,
where Tobias wrote smaller notes: the first swallow of the year, the night a seal slept on the
landing stage, the morning the fog was so thick that he could not see his own hand on the rail.


II.

In the autumn of his twentieth year a boy came out with the supply boat and did not go back
with it. His name was Davy, he was twelve, and he was the son of the boatman’s sister, who had
fallen ill in the town. “He will be no trouble,” the boatman said, which Tobias did not believe
for a moment.

Davy was trouble from the first hour. He climbed the iron stair two steps at a time, he asked
what every brass fitting was for, and he wanted to know why the lamp turned and why the glass
was shaped like a beehive. Tobias answered him shortly at first. By the end of the week he
found he was explaining things before the boy asked, and by the end of the month he had shown
him the margins of the ledger.

“Why do you write the birds down?” Davy asked.

“Because nobody else will,” said Tobias. “A lamp is lit and put out and nobody remembers it. A
swallow on the first of April is a thing that happened.”


III.

The great storm came in the first week of December. For two days the waves broke over the
gallery, and salt crusted the windows so that the beam went out into the dark as a dim brown
smear. On the second night the clockwork that turned the lens jammed, and Tobias and the boy
took turns at the crank, a quarter of an hour each, from midnight until the grey came up in
the east.

When the supply boat finally reached the rock, the boatman found them both asleep on the
kitchen floor, and the ledger open on the table. The last entry was in a round, careful hand
that was not the keeper’s: “Lamp kept burning all night by turning. Wind north-east, very
strong. No ships seen. One gull sheltered on the gallery until morning.”

Davy went home in the spring, when his mother was well. He came back every summer after that,
and when Tobias retired, it was Davy who took the ledger down from the shelf and wrote the date
at the top of a clean page.
"""

# The older edition: an American printing (a few words changed) set in plain ASCII.
_OLD_EDITION_CHANGES = (("harbour", "harbor"), ("neatest", "tidiest"), ("clockwork", "clock-work"),
                        ("’", "'"), ("“", '"'), ("”", '"'))

JARDIN_BODY = """LE JARDIN DE LA RUE DES TILLEULS

par Jeanne Corral


Au bout de la rue des Tilleuls, derrière un mur de pierres grises, il y avait un jardin que
personne ne regardait plus. Le portail était rouillé, les allées avaient disparu sous l'herbe,
et les rosiers, laissés à eux-mêmes, grimpaient jusqu'aux branches du vieux poirier.

Madame Roux s'y installa au mois de mars, avec deux valises, un chat roux comme elle et une
brouette qu'elle avait achetée au marché. Les voisins la virent arracher les orties pendant des
semaines, du matin jusqu'au soir, un grand chapeau de paille sur la tête. Ils se demandaient ce
qu'elle allait planter. Elle ne répondait jamais à la question ; elle souriait et retournait à
sa bêche.

En mai, les premières pousses apparurent : des fèves, des petits pois, des salades en rangs
bien droits. En juin, ce furent les fraises, puis les capucines qui débordaient sur le
trottoir. Les enfants de l'école passaient devant le mur en se hissant sur la pointe des pieds
pour voir par-dessus.

Un matin, le petit Léon, qui avait huit ans et beaucoup de courage, frappa au portail.
« Madame, est-ce que je peux vous aider ? » demanda-t-il. Madame Roux lui tendit un arrosoir
sans rien dire. Le lendemain, il revint avec sa cousine Adèle, et le surlendemain avec trois
camarades de classe.

Tout l'été, le jardin fut plein d'enfants. Ils apprirent à semer les radis, à pincer les
tomates et à reconnaître les mauvaises herbes. Ils apprirent aussi que les limaces aiment la
pluie, que les abeilles ne piquent pas quand on les laisse tranquilles, et que les fraises
volées ont meilleur goût que les autres, ce que Madame Roux fit semblant de ne pas savoir.

À l'automne, elle organisa une fête. Il y avait une soupe de potiron, des tartes aux pommes et
une longue table sous le poirier. Les parents vinrent aussi, et même le vieux Monsieur Garnier,
qui ne sortait plus de chez lui depuis des années. Il resta jusqu'à la nuit, à raconter
qu'autrefois, quand il était enfant, ce jardin appartenait à sa grand-mère.

Quand Madame Roux repartit, au printemps suivant, elle laissa la clé du portail à Léon. Le
jardin de la rue des Tilleuls n'a jamais été aussi beau que depuis ce jour-là.
"""

COMMONPLACE_BODY = """ON KEEPING A COMMONPLACE BOOK

by Henry Corral


A commonplace book is a notebook into which one copies whatever is worth keeping: a line of
verse, a recipe, a saying overheard on a train, the price of coal in a hard winter. Readers have
kept them for centuries. Some were bound in leather and passed from parent to child; others were
cheap school exercise books, their covers soft with handling.

The habit asks very little. One needs a notebook, a pen and the willingness to stop reading for
a moment when something strikes home. Yet the habit changes the way one reads. A reader who
copies is a reader who chooses, and choosing is a kind of attention. A passage read once slides
away; a passage copied out by hand stays, because the hand is slower than the eye and the mind
keeps pace with the hand.

There is no right way to arrange such a book. Some keepers sort their extracts under headings,
Friendship, Weather, Money, Death, and leave blank pages under each for the years to fill.
Others write everything in the order it arrives, so that a proverb sits next to a list of seeds
and a note about a broken gate. The second kind is harder to search but better to read, for it
records not only what its keeper thought worth saving but when, and in what company.

A commonplace book is also a modest defence against forgetting. We read far more than we can
remember, and most of what we read leaves no mark at all. The notebook is a sieve that keeps
back a few bright stones. Years later, turning its pages, one finds not only the stones but the
person who picked them up: younger, more certain, interested in things that now seem strange.

I have kept one since I was fifteen. It holds a good deal of nonsense and a few things I would
not part with for any money. If I could give one piece of advice to a young reader, it would be
this: buy a plain notebook tomorrow, and copy into it the next sentence that makes you put your
book down and look out of the window.
"""

BIRDS_TEXT = """A NOTE ON WINTER BIRDS

In the coldest weeks of the year the garden seems empty, but it is not. A robin keeps the same
fence post every morning and sings from it even in frost. Blue tits work along the bare branches
of the apple tree, hanging upside down to search the bark for insects too small to see. A wren,
no bigger than a walnut, slips in and out of the woodpile like a mouse.

Birds survive the winter by spending as little as possible. They feed from first light, fluff
their feathers to trap warm air, and roost together in hedges and holes. A dish of clean water,
kept free of ice, helps them more than most people guess; so does a corner of the garden left
untidy, where seed heads and dead leaves shelter food.

By February the light lasts a little longer each afternoon, and the first song thrush tries out
its phrases from the top of the tallest tree. Nothing in the garden has changed, yet everything
is about to.
"""

_LICENCE_STUB = """(In a real Project Gutenberg-tm file the full licence stands here. This sample was written
for the corral project and is not a Project Gutenberg-tm work; the licence is left out.)
"""


_KEEPER_MODERN = """The Project Gutenberg eBook of The Keeper of Gull Rock

This ebook is a sample written for the corral project in the layout of a Project Gutenberg
file of the 2020s. It is not a Project Gutenberg ebook.

Title: The Keeper of Gull Rock

Author: Ada Corral

Release date: March 3, 2024 [eBook #90001]

Language: English

Credits: Written for the corral sample


*** START OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF GULL ROCK ***



{body}


*** END OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF GULL ROCK ***



Updated editions will replace the previous one--the old editions will be renamed.

THE FULL PROJECT GUTENBERG LICENSE

{licence}"""


_KEEPER_OLD = """The Project Gutenberg eBook, The Keeper of Gull Rock, by Ada Corral


This eBook is a sample written for the corral project in the layout of a Project Gutenberg
file of 2007.


Title: The Keeper of Gull Rock

Author: Ada Corral

Release Date: May 8, 2007  [eBook #90001]

Language: English

Character set encoding: ISO-646-US (US-ASCII)


***START OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF GULL ROCK***




Transcribed from the 1921 Harbor Press edition by the corral
sample writers.




{body}




End of Project Gutenberg's The Keeper of Gull Rock, by Ada Corral

***END OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF GULL ROCK***

******* This file should be named 90001.txt or 90001.zip *******

*** START: FULL LICENSE ***

{licence}"""


_JARDIN = """The Project Gutenberg EBook of Le Jardin de la rue des Tilleuls, by Jeanne Corral

This eBook is a sample written for the corral project in the layout of a Project Gutenberg
file of 2010.


Title: Le Jardin de la rue des Tilleuls

Author: Jeanne Corral

Release Date: June 12, 2010 [EBook #90002]

Language: French

Character set encoding: ISO-8859-1

*** START OF THIS PROJECT GUTENBERG EBOOK LE JARDIN DE LA RUE DES TILLEULS ***




Produced by the corral sample writers and the Online
Distributed Proofreading Team at http://www.pgdp.net






{body}





End of the Project Gutenberg EBook of Le Jardin de la rue des Tilleuls, by Jeanne Corral

*** END OF THIS PROJECT GUTENBERG EBOOK LE JARDIN DE LA RUE DES TILLEULS ***

***** This file should be named 90002-8.txt or 90002-8.zip *****

*** START: FULL LICENSE ***

THE FULL PROJECT GUTENBERG LICENSE

{licence}"""


_COMMONPLACE = """The Project Gutenberg Etext of On Keeping a Commonplace Book, by Henry Corral

Please read the important information in this header. (It imitates the layout of a 1990s
Project Gutenberg etext and was written for the corral sample.)

**Welcome To The World of Free Plain Vanilla Electronic Texts**

On Keeping a Commonplace Book, by Henry Corral

May, 1996  [Etext #90003]

*****This file should be named cmnpl10.txt or cmnpl10.zip******

**Information prepared by the Project Gutenberg legal advisor**

***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***
In a real etext of the time, three pages of legal terms stand here.
This sample keeps only the lines that open and close them.
*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*





This etext was prepared by the corral sample writers
from their own manuscript.





{body}




End of The Project Gutenberg Etext of On Keeping a Commonplace Book
"""


def old_edition_body() -> str:
    body = KEEPER_BODY
    for old, new in _OLD_EDITION_CHANGES:
        body = body.replace(old, new)
    return body


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def sample_files() -> dict[str, bytes]:
    """File name -> bytes, in the order written."""
    birds = BIRDS_TEXT.encode("utf-8")
    return {
        KEEPER: b"\xef\xbb\xbf" + _KEEPER_MODERN.format(body=KEEPER_BODY, licence=_LICENCE_STUB).encode("utf-8"),
        KEEPER_OLD: _crlf(_KEEPER_OLD.format(body=old_edition_body(), licence=_LICENCE_STUB)).encode("ascii"),
        JARDIN: _crlf(_JARDIN.format(body=JARDIN_BODY, licence=_LICENCE_STUB)).encode("latin-1"),
        COMMONPLACE: _crlf(_COMMONPLACE.format(body=COMMONPLACE_BODY)).encode("ascii"),
        BIRDS: gzip.compress(birds, compresslevel=9, mtime=0),  # mtime 0 and no name: same bytes every run
    }


def write_sample(dest: Path) -> None:
    """Write the five book files into `dest`, byte-identical on every run."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in sample_files().items():
        tmp = dest / (name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest / name)  # a killed run leaves no half file under the final name
