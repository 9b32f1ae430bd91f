"""The bundled sample's Common Crawl files, in Common Crawl's native form. Every page text here was
written by this project (nothing is copied from Common Crawl or the shared samples).

`CC-MAIN-2099-01-sample.warc.gz`: one gzip member per record, like a CC WARC: a warcinfo record
(`isPartOf: CC-MAIN-2099-01`), then request, response and metadata records for each page:
- 12 English articles of plain encyclopedic or news prose (300+ words each);
- 4 pages in German, French (charset only in a `<meta>`), Spanish (ISO-8859-1) and Russian
  (windows-1251, charset only in the HTTP header);
- 4 boilerplate and spam pages (keyword lists, link lists, "click here", cookie notices);
- 2 exact duplicates (an article's payload again under a mirror URL) and 1 near-duplicate;
- 1 image/png response, which the reader declines (dropped as `empty`, "content type image/png").
`CC-MAIN-2099-01-sample.warc.wet.gz`: a warcinfo record and 6 WET conversion records.

The bytes are identical on every run: fixed record ids (UUIDs derived from names), fixed dates, gzip
mtime 0 and no file name in the gzip headers.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import struct
import uuid
import zlib
from pathlib import Path

WARC_FILENAME = "CC-MAIN-2099-01-sample.warc.gz"
WET_FILENAME = "CC-MAIN-2099-01-sample.warc.wet.gz"
DUMP = "CC-MAIN-2099-01"
_ID_NAMESPACE = uuid.UUID("6f1c2a52-7a0e-4d0b-9a43-2b1f0c9e5d11")
_NAV = ('<a href="/">Home</a> | <a href="/topics">Topics</a> | '
        '<a href="/about">About</a> | <a href="/contact">Contact</a>')

# (url, title, paragraphs): plain prose, so a Wikipedia-trained perplexity model scores it low.
ARTICLES = [
    ("https://coastalhistory.example.org/lighthouses", "A Short History of Lighthouses", [
        "For most of human history, sailors who approached a coast at night relied on fires lit on hills or towers. "
        "The earliest lighthouses were simple platforms where keepers burned wood or coal, and the light could be seen "
        "only a few miles out to sea. Ports that traded by sea had a strong interest in keeping these fires burning, "
        "because a single wreck could cost a merchant his whole fortune.",
        "During the eighteenth and nineteenth centuries, engineers learned to build taller towers on exposed rocks, "
        "where the danger to ships was greatest. Building such a tower was slow and difficult work. Stones had to be "
        "cut on shore, carried out by boat and fitted together during the few hours each day when the tide was low. "
        "Some towers took many years to finish, and several were destroyed by storms before they were complete.",
        "The light itself also improved. Oil lamps with polished metal reflectors replaced open fires, and later a new "
        "kind of lens made it possible to gather the light of a single lamp into a strong beam. Each lighthouse was "
        "given its own pattern of flashes, so that a sailor who saw the light could tell which lighthouse it was and "
        "work out the position of the ship.",
        "Keepers and their families often lived at the station for years at a time. They trimmed the wicks, cleaned "
        "the lenses, wound the clockwork that turned the light and kept a log of the weather. In the twentieth century "
        "most lights were converted to electricity and later automated, and today satellite navigation guides most "
        "ships. Many old towers still stand, however, and some have become museums that tell the story of the people "
        "who kept them.",
        "Visitors who climb the narrow stairs of an old lighthouse can still see the great lens at the top and the "
        "small rooms where the keepers slept, cooked and wrote their reports. Local historians have collected letters, "
        "photographs and logbooks from many stations, and these records give a vivid picture of a hard and lonely way "
        "of life that has now almost disappeared.",
    ]),
    ("https://earthnotes.example.net/glaciers-and-valleys", "How Glaciers Shape Valleys", [
        "A glacier is a large mass of ice that forms where more snow falls in winter than melts in summer. Over many "
        "years the snow is pressed into dense ice, and when the ice becomes thick enough it begins to move slowly "
        "downhill under its own weight. Although a glacier may advance only a few metres in a year, it can change the "
        "shape of the land more than almost any other natural force.",
        "As the ice moves, it picks up rocks and sand from the ground beneath it. These pieces of rock are dragged "
        "along the bottom of the glacier and scrape the bedrock like coarse sandpaper. Over thousands of years this "
        "process deepens and widens the valley. A river valley usually has the shape of the letter V, while a valley "
        "carved by a glacier is broad and deep, with steep sides and a flat floor, much like the letter U.",
        "Glaciers also leave many other marks on the landscape. Where two glaciers met, a sharp ridge may remain "
        "between them. Small side valleys are sometimes left hanging high above the main valley, and streams fall from "
        "them as waterfalls. When the ice melts, it drops the rock and sand it carried, forming long ridges and piles "
        "of loose material that can still be seen long after the glacier has gone.",
        "Scientists study these features to learn how far the ice reached during past cold periods. Many lakes in "
        "northern Europe and North America lie in basins that were dug out by ice and later filled with water. Today "
        "most glaciers are shrinking, and researchers measure their retreat each year, because the changes in the ice "
        "tell them a great deal about changes in the climate.",
        "Walkers in the mountains can often see the work of ancient glaciers without knowing it. Large boulders "
        "resting far from any cliff were carried there by the ice, and smooth rock surfaces are marked with long "
        "scratches that show the direction in which the ice once moved. Such clues helped early geologists to "
        "understand that much of the land had once been covered by ice.",
    ]),
    ("https://pressmuseum.example.org/early-newspapers", "The Printing Press and the First Newspapers", [
        "Before the printing press, every book had to be copied by hand, which made books rare and expensive. The "
        "invention of printing with movable metal type in the fifteenth century changed this. A printer could set a "
        "page of type once and then print hundreds of copies, and the cost of a book fell sharply. Within a few "
        "decades printing shops had opened in many cities across Europe.",
        "Printers soon found that there was a market for news as well as for books. At first they produced single "
        "sheets that described a battle, a royal wedding or a great fire. These sheets were sold in the streets and "
        "read aloud in taverns and markets, so that even people who could not read heard the news. Over time some "
        "printers began to publish news at regular intervals, once a week or more.",
        "The first regular newspapers were small and contained mostly reports from foreign cities, copied from letters "
        "sent by merchants and travellers. Local news was rare, partly because rulers did not like to see their own "
        "affairs discussed in print. Many governments required printers to obtain a licence, and a printer who "
        "published something that displeased the authorities could lose his business or even be sent to prison.",
        "In the eighteenth century newspapers grew larger and more numerous. They began to carry advertisements, "
        "letters from readers and reports on trade and shipping. Coffee houses kept copies for their customers to "
        "read, and a single paper might pass through many hands. By the nineteenth century steam-powered presses "
        "could print thousands of copies an hour, and the daily newspaper had become part of ordinary life in many "
        "countries.",
        "The growth of newspapers also changed politics. Readers in different towns could follow the same debates and "
        "form opinions about public questions, and politicians learned that they had to explain their decisions to a "
        "wider audience. Many of the freedoms that newspapers enjoy today were won only after long struggles between "
        "publishers, readers and governments.",
    ]),
    ("https://fieldguide.example.com/honeybee-colonies", "Life in a Honeybee Colony", [
        "A honeybee colony can contain tens of thousands of bees, yet it behaves in many ways like a single living "
        "thing. At the centre of the colony is the queen, the only female that lays eggs. In the busy months of summer "
        "she may lay more than a thousand eggs in a single day. The rest of the females are workers, and the males, "
        "called drones, have the single task of mating with a queen from another colony.",
        "The work a bee does depends largely on its age. Young workers stay inside the hive, where they clean the "
        "cells, feed the growing larvae and build new comb from wax that they produce in their own bodies. Older "
        "workers guard the entrance, and the oldest leave the hive to collect nectar, pollen and water from the "
        "surrounding countryside, sometimes flying several kilometres from home.",
        "Bees that find a good source of food share the information with their sisters through a remarkable dance. On "
        "the surface of the comb, the returning bee runs in a figure of eight and shakes her body during the straight "
        "part of the run. The direction of this run shows the direction of the flowers in relation to the sun, and its "
        "length tells the other bees how far they must fly.",
        "Nectar brought back to the hive is slowly turned into honey. The workers add substances that break down the "
        "sugars and fan the liquid with their wings until most of the water has evaporated. The honey is then stored "
        "in wax cells and sealed. It is the food that allows the colony to survive the winter, when no flowers are in "
        "bloom and the bees cluster together to keep warm.",
        "Beekeepers have kept bees for thousands of years, first in hollow logs and baskets and later in wooden hives "
        "with frames that can be lifted out and inspected. A careful beekeeper takes only the honey that the colony "
        "does not need. Bees also play a very important part in farming, because they carry pollen from flower to "
        "flower and so help many fruit and vegetable crops to set seed.",
    ]),
    ("https://valleygazette.example.com/news/council-approves-library", "Town Council Approves Plans for New Library", [
        "The town council voted on Tuesday evening to approve plans for a new public library on the site of the former "
        "bus depot near the market square. The decision followed more than two years of public meetings, in which "
        "residents were asked what they wanted from the building. Work is expected to begin next spring, and the "
        "library should open to the public about eighteen months later.",
        "The present library occupies two floors of an old office building and has long been too small for the number "
        "of visitors it receives. Staff say that on busy afternoons there are not enough seats for students, and the "
        "children's section has no room for story time or school visits. The new building will have three floors, a "
        "large reading room, study rooms that can be booked in advance and a hall for talks and exhibitions.",
        "Most of the cost will be paid from a regional fund for public buildings, with the rest coming from the town's "
        "own budget over five years. Some members of the council questioned whether the town could afford its share at "
        "a time when road repairs are also needed. After a long debate, the plans were approved by eleven votes to "
        "four, with two members choosing not to vote.",
        "The head librarian said she was delighted with the result and thanked the many residents who had taken part "
        "in the meetings. The old building will stay open until the new library is ready, and the council has promised "
        "that no jobs will be lost during the move. Drawings of the new building will be on display in the town hall "
        "for the next month, and residents are invited to leave their comments.",
        "Several local groups have already asked to use the new hall. The history society hopes to hold a series of "
        "evening talks there, and the school has asked whether classes could visit the library once a week. The "
        "council said that it would publish a timetable for the building work and keep residents informed about any "
        "changes to traffic near the market square.",
    ]),
    ("https://earthnotes.example.net/water-cycle", "The Water Cycle", [
        "The water on our planet is always moving. It rises into the air, falls back to the ground and flows through "
        "rivers and under the earth before returning to the sea. This continuous journey is known as the water cycle. "
        "The total amount of water on Earth changes very little, but the form it takes and the place where it is found "
        "change all the time.",
        "The cycle is driven mainly by the heat of the sun. When the sun warms the surface of oceans, lakes and "
        "rivers, some of the water turns into vapour and rises into the atmosphere. Plants also release water vapour "
        "through their leaves. As the warm, moist air rises, it cools, and the vapour condenses into tiny droplets "
        "that gather to form clouds.",
        "When the droplets in a cloud grow large enough, they fall to the ground as rain, or as snow and hail when the "
        "air is cold. Some of this water runs over the surface into streams and rivers, which carry it back towards "
        "the sea. Some of it soaks into the soil, where it is taken up by plants or sinks deeper to become "
        "groundwater. Groundwater can stay underground for a very long time before it reaches a spring or a well.",
        "Snow that falls in high mountains may be stored for months or even centuries as part of a snowfield or "
        "glacier. In spring the melting snow feeds rivers that supply water to farms and cities far below. Because "
        "people depend on every part of this cycle, changes in rainfall, snow cover and the level of groundwater are "
        "watched closely by scientists and by the authorities responsible for water supply.",
        "Understanding the water cycle also helps people prepare for floods and droughts. Forecasters use measurements "
        "of rainfall, river levels and soil moisture to warn towns when a river is likely to overflow its banks. In "
        "dry years the same measurements help farmers and water companies decide how much water can safely be taken "
        "from rivers and wells without harming the land.",
    ]),
    ("https://railwayhistory.example.org/expansion", "The Growth of the Railways in the Nineteenth Century", [
        "The first public railways that carried passengers behind steam locomotives opened in the early nineteenth "
        "century. They were short lines that linked a town with a nearby port or mine, and many people doubted that "
        "they would ever replace the canal and the stagecoach. Within a few decades, however, railways had spread "
        "across much of Europe and North America, and they changed the way people lived and worked.",
        "Building a railway required enormous amounts of labour and money. Engineers surveyed routes that avoided "
        "steep hills, because early locomotives could not climb sharp slopes. Where hills could not be avoided, "
        "workers dug cuttings and tunnels by hand and built long bridges across valleys. Thousands of labourers moved "
        "from place to place as the lines advanced, living in temporary camps beside the track.",
        "The railways made travel much faster and cheaper. A journey that had taken several days by coach could now be "
        "made in a few hours. Fresh food could be carried from the countryside to city markets before it spoiled, and "
        "factories could send their goods to distant customers. Towns that stood on a railway line often grew quickly, "
        "while towns that were bypassed sometimes declined.",
        "Railways also changed the way time was kept. Before the railways, each town set its clocks by the position of "
        "the sun, so that noon in one town came a few minutes earlier or later than in the next. This made timetables "
        "confusing, and railway companies began to use a single standard time along their lines. Over the following "
        "years standard time was adopted by whole countries, and it is still used today.",
        "The railways also created many new kinds of work. Stations needed clerks, porters and signalmen, and "
        "workshops employed skilled engineers to build and repair locomotives and carriages. Railway companies were "
        "among the largest employers of their day, and some of them built houses, schools and churches for their "
        "workers in the towns that grew up around the main workshops.",
    ]),
    ("https://earthnotes.example.net/volcanic-islands", "How Volcanic Islands Are Born", [
        "Many islands in the open ocean were built by volcanoes. They begin far below the surface, where molten rock "
        "rises through cracks in the sea floor. Each eruption adds a new layer of lava, which cools quickly in the "
        "cold water. Over thousands of years the layers pile up until the top of the volcano finally rises above the "
        "waves and a new island appears.",
        "Some chains of volcanic islands form over places where unusually hot material rises from deep inside the "
        "earth. The sea floor moves slowly over such a place, carried by the motion of the plates that make up the "
        "earth's surface. A volcano forms above the hot spot, but as the plate moves on, the volcano is carried away "
        "and becomes inactive, and a new volcano begins to grow behind it. The result is a line of islands that become "
        "older with distance from the active volcano.",
        "A young volcanic island is often bare rock with little soil. Over time, wind and rain break down the rock, "
        "and seeds carried by birds, wind and ocean currents begin to grow. Insects and birds arrive, and gradually "
        "the island develops its own community of plants and animals. Because these islands are so isolated, many of "
        "the species that live there are found nowhere else in the world.",
        "Once the volcano stops erupting, the island begins to wear away. Waves attack its coasts, and its weight "
        "slowly presses down the sea floor beneath it. Over millions of years an island may sink back below the "
        "surface. In warm seas a ring of coral may continue to grow around the sinking island, leaving a circular reef "
        "with a shallow lagoon in its centre.",
        "Volcanic islands are also valuable places for scientists. Because the age of each island in a chain can be "
        "measured, researchers can study how plants and animals spread from one island to the next and how new species "
        "slowly appear. The rocks of the islands also reveal how the plates of the earth's surface have moved over "
        "millions of years.",
    ]),
    ("https://fieldguide.example.com/coral-reefs", "Coral Reefs", [
        "Coral reefs are among the richest habitats on Earth. They are built by small animals called coral polyps, "
        "which live in large colonies. Each polyp produces a hard skeleton of limestone around its soft body, and as "
        "generations of polyps grow on top of the skeletons of their ancestors, the reef slowly rises. Some reefs have "
        "been growing for thousands of years and stretch for hundreds of kilometres.",
        "Most reef-building corals live in warm, clear and shallow water. They depend on tiny algae that live inside "
        "their tissues. The algae use sunlight to make food, and they share much of it with the coral. In return, the "
        "coral provides the algae with shelter and with the substances they need to grow. The algae also give many "
        "corals their bright colours.",
        "A healthy reef is home to an enormous variety of life. Fish of many shapes and colours shelter among the "
        "branches of the coral, while crabs, shrimps, sea urchins and sponges live in its cracks and holes. Larger "
        "animals such as turtles and sharks visit the reef to feed. Reefs also protect nearby coasts by breaking the "
        "force of waves during storms.",
        "Coral reefs are sensitive to changes in their surroundings. When the water becomes too warm for a long "
        "period, corals may expel the algae that live inside them and turn white. If the water does not cool in time, "
        "the coral may die. Pollution, damage from anchors and the removal of fish can also harm reefs. Many countries "
        "now protect their reefs in marine parks, where fishing and other activities are carefully controlled.",
        "Scientists and volunteers help to watch over the reefs by counting fish, measuring the water temperature and "
        "photographing the same areas of coral year after year. In some places they grow young corals on frames in the "
        "water and later move them to damaged parts of the reef. These efforts are slow, but they show that a reef can "
        "recover when it is given the chance.",
    ]),
    ("https://cityhealth.example.org/clean-water", "Clean Water and the Growth of Cities", [
        "In the early nineteenth century, many fast-growing cities had no safe supply of drinking water. People drew "
        "water from wells, rivers and public pumps, and the same rivers often carried away the waste of the city. "
        "Diseases spread easily in these conditions, and outbreaks of illness could kill thousands of people in a "
        "single summer.",
        "Doctors and engineers gradually came to understand that dirty water was a major cause of disease. Careful "
        "studies traced outbreaks to particular wells and pumps, and showed that people who drank water from cleaner "
        "sources were far less likely to fall ill. These findings persuaded city governments to invest in large public "
        "works, even though the cost was very high.",
        "Over the following decades cities built reservoirs, long pipelines and filter beds to bring clean water from "
        "distant hills and lakes. At the same time they dug networks of sewers to carry waste away from homes and "
        "streets. These systems were among the greatest engineering projects of their time, and many of the tunnels "
        "and pumping stations built then are still in use.",
        "The results were dramatic. Deaths from diseases carried by water fell sharply, and the average length of life "
        "in cities began to rise. Today, treating and testing drinking water is a routine part of city life in many "
        "countries, but the work is never finished. Old pipes must be replaced, new neighbourhoods must be connected, "
        "and the quality of the water must be checked every day.",
        "Many people today take clean water for granted, yet the systems that provide it depend on careful planning "
        "and steady investment. Engineers must estimate how many people a city will have in the future, and they must "
        "protect the rivers, lakes and underground sources from pollution. The history of the nineteenth century shows "
        "how much public health depends on this quiet and often unseen work.",
    ]),
    ("https://valleygazette.example.com/news/winter-storm-warning", "Weather Service Warns of Heavy Snow in the Hills",
     [
        "The regional weather service has issued a warning for heavy snow and strong winds across the northern hills "
        "from Thursday evening until Saturday morning. Forecasters expect up to forty centimetres of snow on high "
        "ground, with drifts several times deeper where the wind is strongest. Lower areas are likely to see a mixture "
        "of rain and wet snow.",
        "Drivers are advised to avoid the mountain passes unless their journey is essential. The road authority said "
        "that its snowploughs and gritting lorries would work through the night, but that some minor roads might "
        "remain closed for a day or more. Bus companies have warned that services to villages in the hills may be "
        "cancelled at short notice.",
        "Schools in the affected area will decide on Friday morning whether to open, and parents are asked to check "
        "the school websites before setting out. The electricity company has placed extra repair crews on standby in "
        "case power lines are brought down by the weight of snow or by falling branches.",
        "Forecasters say that the snow should ease by Saturday afternoon, but temperatures are likely to stay below "
        "freezing for several days, so ice will remain a danger on roads and pavements. Residents are encouraged to "
        "check on elderly neighbours, to keep a supply of food and water at home and to avoid walking in the hills "
        "until conditions improve. The warning may be extended if the storm moves more slowly than expected.",
        "The storm is the first major snowfall of the winter in the region. Last year a similar storm closed the main "
        "pass for three days and left several villages without electricity. The authorities say they have learned from "
        "that experience and have stored extra salt and fuel in the hills. Updates will be published on the weather "
        "service website and read out on local radio every hour.",
    ]),
    ("https://fieldguide.example.com/bird-migration", "The Long Journeys of Migratory Birds", [
        "Every autumn, millions of birds leave their breeding grounds in the north and fly towards warmer regions "
        "where food is easier to find in winter. In spring they make the return journey. Some small songbirds travel "
        "thousands of kilometres each year, crossing mountains, deserts and open sea, and many of them return to the "
        "same nesting site year after year.",
        "Birds prepare for these journeys by eating large amounts of food and storing it as fat, which provides the "
        "energy they need during long flights. Some species fly without stopping for days at a time. Others travel in "
        "stages, resting and feeding at the same places on each journey. These stopping places, such as wetlands and "
        "river mouths, are extremely important for the survival of migrating birds.",
        "Scientists have long wondered how birds find their way. Experiments have shown that birds use several kinds "
        "of information. They can steer by the position of the sun during the day and by the pattern of the stars at "
        "night. Many birds also seem able to sense the earth's magnetic field, and they may use landmarks such as "
        "coastlines, rivers and mountain ranges when they are close to home.",
        "Young birds of some species make their first migration alone, without older birds to guide them, which "
        "suggests that the direction and distance of the journey are partly inherited. Today researchers follow the "
        "movements of birds with small tracking devices, and their findings help countries work together to protect "
        "the wetlands, forests and coasts that migrating birds depend on.",
        "Birdwatchers also play a part in this work. Every year thousands of volunteers count the birds that pass "
        "through their local area and send their records to national surveys. Over many years these counts show which "
        "species are becoming more common and which are declining, and they help scientists understand how changes in "
        "weather and land use affect the birds on their long journeys.",
    ]),
]

# (url, lang, encoding, header charset or None for a <meta> only, title, paragraphs)
OTHER_LANGUAGES = [
    ("https://bahngeschichte.example.de/anfaenge", "de", "utf-8", "utf-8", "Die Anfänge der Eisenbahn", [
        "Die ersten Eisenbahnen in Deutschland waren kurze Strecken, die zwei benachbarte Städte miteinander "
        "verbanden. Viele Menschen betrachteten die neuen Dampflokomotiven zunächst mit Misstrauen, doch schon nach "
        "wenigen Jahren wurden immer mehr Strecken gebaut.",
        "Die Eisenbahn veränderte das Leben in Stadt und Land. Waren konnten schneller und billiger transportiert "
        "werden, und Reisen, die früher mehrere Tage gedauert hatten, dauerten nun nur noch wenige Stunden. Viele "
        "Städte wuchsen rasch, weil sich neue Fabriken in der Nähe der Bahnhöfe ansiedelten.",
    ]),
    ("https://forets.example.fr/forets-de-montagne", "fr", "utf-8", None, "Les forêts de montagne", [
        "Les forêts de montagne protègent les villages et les routes contre les avalanches, les chutes de pierres et "
        "l'érosion. Les arbres retiennent la neige et le sol, et leurs racines stabilisent les pentes les plus raides.",
        "La croissance des arbres y est lente, car l'hiver est long et la saison de végétation très courte. Les "
        "forestiers surveillent donc attentivement la santé de ces forêts et plantent de jeunes arbres là où les "
        "anciens ont disparu.",
    ]),
    ("https://campo.example.es/cultivo-del-olivo", "es", "latin-1", "ISO-8859-1", "El cultivo del olivo", [
        "El olivo es uno de los árboles más antiguos cultivados por el ser humano. Crece bien en climas con veranos "
        "largos y secos e inviernos suaves, y puede vivir durante cientos de años.",
        "La cosecha de la aceituna se realiza en otoño y en invierno. Una parte de la fruta se prepara para comerla en "
        "la mesa, pero la mayor parte se lleva a la almazara, donde se extrae el aceite que se usa en la cocina de "
        "muchos países.",
    ]),
    ("https://ozera.example.ru/baikal", "ru", "cp1251", "windows-1251", "Озеро Байкал", [
        "Байкал — самое глубокое озеро на Земле. Оно находится в Восточной Сибири, и в нём содержится огромный запас "
        "пресной воды.",
        "Зимой поверхность озера покрывается толстым льдом, а летом вода остаётся холодной даже в самые жаркие дни. В "
        "Байкале живут многие виды растений и животных, которых больше нигде нет.",
    ]),
]

SPAM_PAGES = [
    ("https://best-cheap-shoes.example.com/", "Cheap Shoes Best Shoes Buy Shoes Online", [
        "cheap shoes, best shoes, buy shoes online, shoes sale, cheap shoes sale, discount shoes, shoes cheap, best "
        "cheap shoes, shoes online cheap, buy cheap shoes, cheap running shoes, cheap shoes free shipping",
        "Click here for cheap shoes! Click here for best shoes! Click here to buy shoes online now!!!",
        "cheap shoes cheap shoes cheap shoes best price best price best price order now order now",
    ]),
    ("https://top-links.example.net/directory", "Top Links Directory", [
        "Home | Links | Top 10 | Top 100 | Submit Link | Contact | Home | Links | Top 10 | Top 100",
        "Click here | Click here | Click here | Click here | Click here | Click here | Click here",
        "Best deals | Best deals | Free download | Free download | Win now | Win now | Win now",
    ]),
    ("https://news-portal.example.org/consent", "Before you continue", [
        "We use cookies and similar technologies to improve your experience. By clicking Accept all you agree to the "
        "use of cookies. Accept all | Reject all | Manage settings | Privacy policy | Cookie policy",
        "Menu | Search | Sign in | Subscribe | Menu | Search | Sign in | Subscribe",
    ]),
    ("https://coupon-deals.example.com/save-now", "SAVE 90% TODAY ONLY", [
        "CLICK HERE to get 90% OFF!!! Limited time offer!!! Coupon code SAVE90 SAVE90 SAVE90",
        "Hot deals hot deals hot deals. Free gift free gift free gift. Click here click here click here.",
        "coupon, coupons, coupon codes, promo code, promo codes, discount code, deals, best deals, free coupon",
    ]),
]

# The first article on another site with two phrases reworded: word 5-gram Jaccard about 0.9.
NEAR_DUPLICATE = ("https://lighthouse-fans.example.com/history", "A Short History of Lighthouses", [
    p.replace("several were destroyed", "a few were destroyed").replace(
        "some have become museums", "a number of them have become small museums") for p in ARTICLES[0][2]
])
EXACT_DUPLICATE_URLS = {1: "https://mirror.example.info/earth/glaciers", 2: "https://mirror.example.info/press/history"}

WET_TEXTS = [
    ("https://gardenclub.example.org/autumn-work", "en",
     "Autumn work in the vegetable garden\nAutumn is a good time to prepare the vegetable garden for the next year. "
     "Remove the old plants once the harvest is over and add them to the compost heap, unless they show signs of "
     "disease.\nDig well-rotted manure or compost into the empty beds, or cover them with a layer of leaves, so that "
     "the soil is protected from heavy rain during the winter.\nGarlic and broad beans can be planted now. They will "
     "grow slowly through the cold months and be ready to harvest early in the summer."),
    ("https://museumguide.example.com/visiting", "en",
     "Planning a visit to the museum\nThe museum is open every day except Monday, from ten in the morning until six in "
     "the evening. Entry to the main collection is free, but there is a small charge for special exhibitions.\nGuided "
     "tours start at the main entrance at eleven and at three o'clock and last about an hour. Visitors who need a "
     "wheelchair can borrow one at the information desk.\nThe café on the ground floor serves lunch and light meals, "
     "and the garden behind the museum is open in good weather."),
    ("https://astronomy.example.net/moon-phases", "en",
     "Why the Moon has phases\nThe Moon does not produce its own light. We see it because it reflects the light of the "
     "Sun. As the Moon travels around the Earth, the part of its sunlit side that faces us changes, and so its shape "
     "in the sky seems to change.\nWhen the Moon lies between the Earth and the Sun, its sunlit side faces away from "
     "us and we can hardly see it. This is called the new moon. About two weeks later, when the Earth lies between the "
     "Sun and the Moon, we see the whole sunlit side as a full moon.\nThe complete cycle of phases takes about "
     "twenty-nine and a half days."),
    ("https://wandern.example.de/alpenpfad", "de",
     "Wandern auf dem Alpenpfad\nDer Weg beginnt am Bahnhof und führt zunächst durch einen schattigen Wald. Nach etwa "
     "einer Stunde erreicht man eine Almwiese mit einem schönen Blick auf die umliegenden Berge.\nFür die gesamte "
     "Strecke sollte man fünf bis sechs Stunden einplanen. Gutes Schuhwerk und ausreichend Wasser sind unbedingt "
     "erforderlich."),
    ("https://cuisine.example.fr/pain-maison", "fr",
     "Faire son pain à la maison\nPour faire un bon pain, il suffit de farine, d'eau, de sel et de levure. Il faut "
     "surtout de la patience, car la pâte doit reposer plusieurs heures avant la cuisson.\nUn four bien chaud donne "
     "une croûte dorée et croustillante."),
    ("https://historia.example.es/acueductos", "es",
     "Los acueductos romanos\nLos romanos construyeron acueductos para llevar agua desde las montañas hasta las "
     "ciudades. Algunos de ellos todavía se conservan y son visitados por miles de turistas cada año.\nEl agua corría "
     "por un canal con una pendiente muy suave, que los ingenieros calculaban con gran precisión."),
]


def _record_id(name: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_ID_NAMESPACE, name)}>"


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record(kind: str, name: str, date: str, block: bytes, fields: list[tuple[str, str]]) -> bytes:
    head = [("WARC-Type", kind), ("WARC-Date", date), ("WARC-Record-ID", _record_id(name)), *fields,
            ("WARC-Block-Digest", _digest(block)), ("Content-Length", str(len(block)))]
    return b"WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head).encode("utf-8") + b"\r\n" + block + b"\r\n\r\n"


def _warcinfo(filename: str, date: str) -> bytes:
    info = (f"isPartOf: {DUMP}\r\npublisher: corral sample (written by the project)\r\n"
            f"description: A tiny made-up crawl for tests\r\nformat: WARC File Format 1.1\r\n").encode()
    return _record("warcinfo", filename, date, info,
                   [("WARC-Filename", filename), ("Content-Type", "application/warc-fields")])


def _html(title: str, paragraphs: list[str], lang: str = "en", meta_charset: str | None = None) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head>{meta}<title>{title}</title></head>\n<body>\n'
            f"<header><nav>{_NAV}</nav></header>\n<main><article><h1>{title}</h1>\n{body}\n</article></main>\n"
            f"<footer><p>Copyright 2099. All rights reserved.</p><p>This site uses cookies. "
            f'<a href="/privacy">Privacy policy</a></p></footer>\n</body></html>\n')


def _png() -> bytes:
    """A valid 1x1 grey PNG, built by hand so no image library is needed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND",
                                                                                                              b"")


def _page(i: int, url: str, payload: bytes, content_type: str) -> list[bytes]:
    """request, response and metadata records for one fetch, as Common Crawl writes them."""
    date = f"2099-01-02T03:{i // 60:02d}:{i % 60:02d}Z"
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3] if url.count("/") > 2 else "/"
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: corral-sample\r\n\r\n".encode()
    http = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
            f"Date: Fri, 02 Jan 2099 03:00:00 GMT\r\n\r\n").encode() + payload
    target = [("WARC-Target-URI", url)]
    response_fields = [*target, ("WARC-Payload-Digest", _digest(payload)),
                       ("Content-Type", "application/http; msgtype=response")]
    return [
        _record("request", f"request {i}", date, request,
                [*target, ("Content-Type", "application/http; msgtype=request")]),
        _record("response", f"response {i}", date, http, response_fields),
        _record("metadata", f"metadata {i}", date, b"fetchTimeMs: 120\r\n",
                [*target, ("Content-Type", "application/warc-fields")]),
    ]


def warc_pages() -> list[tuple[str, bytes, str]]:
    """(url, payload, HTTP Content-Type) of every response, in file order."""
    pages = [(url, _html(title, ps).encode(), "text/html; charset=utf-8") for url, title, ps in ARTICLES]
    for url, lang, encoding, header_charset, title, ps in OTHER_LANGUAGES:
        html = _html(title, ps, lang, meta_charset=None if header_charset else "utf-8")
        pages.append((url, html.encode(encoding),
                      "text/html" + (f"; charset={header_charset}" if header_charset else "")))
    pages += [(url, _html(title, ps).encode(), "text/html; charset=utf-8") for url, title, ps in SPAM_PAGES]
    pages += [(mirror, pages[i][1], pages[i][2]) for i, mirror in EXACT_DUPLICATE_URLS.items()]
    pages.append((NEAR_DUPLICATE[0], _html(NEAR_DUPLICATE[1], NEAR_DUPLICATE[2]).encode(), "text/html; charset=utf-8"))
    pages.append(("https://coastalhistory.example.org/images/lamp.png", _png(), "image/png"))
    return pages


def _gzip_members(records: list[bytes]) -> bytes:
    # One member per record (WARC annex D), mtime 0 and no file name: the same bytes on every run.
    return b"".join(gzip.compress(r, compresslevel=9, mtime=0) for r in records)


def write_sample(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    records = [_warcinfo(WARC_FILENAME, "2099-01-02T03:00:00Z")]
    for i, (url, payload, content_type) in enumerate(warc_pages(), start=1):
        records += _page(i, url, payload, content_type)
    (dest / WARC_FILENAME).write_bytes(_gzip_members(records))
    wet = [_warcinfo(WET_FILENAME, "2099-01-03T00:00:00Z")]
    for i, (url, lang, text) in enumerate(WET_TEXTS, start=1):
        fields = [("WARC-Target-URI", url), ("WARC-Refers-To", _record_id(f"wet source {i}")),
                  ("WARC-Identified-Content-Language", lang), ("Content-Type", "text/plain")]
        wet.append(_record("conversion", f"conversion {i}", f"2099-01-02T04:00:{i:02d}Z", text.encode(), fields))
    (dest / WET_FILENAME).write_bytes(_gzip_members(wet))
