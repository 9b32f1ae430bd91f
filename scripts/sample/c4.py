"""The bundled sample's C4 file: short web-page-like texts written by this project (none copied
from C4), in C4's native form, one `{"text","timestamp","url"}` JSON object per gzip line.

Most pages pass C4's heuristics; a few are there to hit one rule each (see SPECIAL_PAGES), and
one line is malformed JSON. The bytes are identical on every run: fixed order, gzip mtime 0 and a
fixed name in the gzip header.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

FILENAME = "c4-sample.00000-of-00001.json.gz"
_HEADER_NAME = "c4-sample.00000-of-00001.json"
_NAV = "Home | About | Contact"

# (site, title, body lines). Titles and navigation have no end mark, as on real pages, so the
# cleaner removes them; body lines are full sentences.
KEPT_PAGES = [
    ("oakstreetgarden.example.org", "Oak Street Community Garden", [
        "The Oak Street garden opens for the season on the first Saturday of April.",
        "Each family may rent one raised bed for a small yearly fee. Water and tools are shared, and the shed code "
        "changes every month.",
        "Volunteers meet on Tuesday evenings to turn the compost. New members are always welcome to join them!",
    ]),
    ("spokesandsprockets.example.com", "Spokes & Sprockets Repair", [
        "Our workshop fixes bicycles of every age and size, from children's first bikes to racing frames.",
        "A basic tune-up includes adjusting the brakes and gears, truing both wheels and checking the chain for wear.",
        "Most repairs are ready within two working days. Bring your bike in before nine and it may be ready the same "
        "evening.",
        "We also sell second-hand bikes that we have checked and serviced ourselves.",
    ]),
    ("breadnotes.example.net", "A Slow Sourdough Loaf", [
        "This loaf takes two days, but almost all of that time is waiting.",
        "Mix the flour and water first and let them rest for an hour before adding the starter and salt.",
        "Fold the dough four times during the first afternoon. Then shape it, cover it and leave it in the fridge "
        "overnight.",
        "Bake it in a very hot covered pot the next morning. Let it cool completely before you cut it!",
    ]),
    ("millbrooklibrary.example.org", "Millbrook Public Library", [
        "The library will close early on Friday so that staff can move the children's section upstairs.",
        "Story time for toddlers continues on Wednesday mornings in the new room.",
        "Have you renewed your card this year? Cards now last three years and can be renewed at any desk.",
        "The reading group meets on the last Thursday of each month to discuss a novel chosen by its members.",
    ]),
    ("trailjournal.example.com", "Trail Report: Ridge Loop", [
        "We walked the ridge loop last weekend after two days of rain.",
        "The lower section was muddy, so wear boots rather than running shoes. The bridge over the creek has been "
        "repaired.",
        "From the summit we could see three lakes and the town far below. The whole loop took us a little under five "
        "hours.",
    ]),
    ("carnotes.example.com", "Five Years With a Small Hatchback", [
        "I bought this car second hand five years ago and have driven it almost every day since.",
        "It is not fast, but it is cheap to run and easy to park in the city.",
        "The only real repair so far was a new clutch last winter. The rear seats fold flat, which has helped with "
        "more than one move.",
        "Would I buy it again? Probably yes, as long as the price was right.",
    ]),
    ("brightsmiledental.example.com", "Bright Smile Dental", [
        "Our practice has cared for families in this neighbourhood for over twenty years.",
        "We offer check-ups, cleaning, fillings and emergency appointments on weekdays.",
        "Please arrive ten minutes early for your first visit. Bring a list of any medicines you take.",
        "If you cannot keep an appointment, call us a day ahead so that another patient can have the time.",
    ]),
    ("woolandneedle.example.net", "Simple Ribbed Hat Pattern", [
        "This hat is a good first project for anyone who has learned to knit and purl.",
        "Cast on ninety stitches and join them in the round without twisting.",
        "Work two knit stitches and two purl stitches until the hat is about twenty centimetres tall.",
        "Decrease slowly over the last rows, then pull the yarn through the remaining loops. Weave in the ends and it "
        "is done.",
    ]),
    ("homecoverfaq.example.com", "Questions About Home Insurance", [
        "Does my policy cover damage from a burst pipe? In most cases it does, as long as the pipe burst suddenly.",
        "Slow leaks over many months are usually treated as a maintenance problem instead.",
        "Keep receipts for expensive items in a safe place. Photos of each room also help when you need to make a "
        "claim.",
    ]),
    ("marshbirds.example.org", "Notes From the Marsh", [
        "It was a cold, bright morning at the marsh and the water was still partly frozen.",
        "A pair of herons stood motionless near the reeds for almost an hour.",
        "Later a flock of small finches moved through the alders, calling to each other. We counted twenty-three "
        "species before lunch.",
        "The best sighting of the day was a kingfisher flashing low across the channel.",
    ]),
    ("westfieldschool.example.org", "Spring Fair at Westfield School", [
        "The spring fair will take place on the school field on Saturday, May 18.",
        "There will be a cake stall, a book swap and games for younger children.",
        "Parents who can help for an hour are asked to sign up at the school office. All money raised will go towards "
        "new playground equipment.",
        "If it rains, the fair will move into the main hall.",
    ]),
    ("lensbench.example.com", "Review: A Compact Portrait Lens", [
        "This lens is small, light and surprisingly sharp in the centre of the frame.",
        "Focusing is quiet, which makes it useful for video as well as photographs.",
        "The corners are soft at the widest aperture, but they improve quickly when you stop down. For the price, it "
        "is hard to beat.",
        "It fits in a coat pocket, so it rarely gets left at home.",
    ]),
    ("drainanddrip.example.com", "Fixing a Dripping Tap", [
        "A dripping tap can waste a surprising amount of water over a year.",
        "First turn off the water supply under the sink and open the tap to drain it.",
        "Remove the handle and replace the worn washer or cartridge with a matching part. Reassemble everything and "
        "turn the water back on slowly.",
        "If the drip continues, the valve seat may be damaged and need a plumber.",
    ]),
    ("saltandshore.example.net", "Three Days in a Fishing Town", [
        "We arrived by the slow coastal train, which stops at every village along the bay.",
        "The harbour is full of small blue boats, and the fish market opens before dawn.",
        "On the second day we hired bicycles and rode out to the lighthouse. The wind was strong, but the view was "
        "worth every minute.",
        "We left wishing we had booked a week instead.",
    ]),
    ("kingsidechess.example.org", "Kingside Chess Club", [
        "The club meets every Monday evening in the back room of the community centre.",
        "Players of every strength are welcome, and boards and clocks are provided.",
        "Once a month we hold a rapid tournament with a small prize for the winner. Beginners can ask for a short "
        "lesson before play starts.",
        "Tea and biscuits are served halfway through the evening.",
    ]),
    ("clayhouse.example.com", "Wheel Throwing for Beginners", [
        "Our six week course teaches the basics of throwing pots on the wheel.",
        "You will learn to centre the clay, open it and pull up even walls.",
        "In the final two sessions we glaze the best pieces and fire them in the kiln. All materials are included in "
        "the course fee.",
        "Aprons are provided, but wear old clothes because clay gets everywhere.",
    ]),
    ("ledgerhelp.example.com", "Reminder for Small Business Owners", [
        "The deadline for quarterly tax returns is the end of next month.",
        "Gather your sales records, receipts and bank statements before you start.",
        "If your income changed a lot this year, your payments may need to change as well. Ask an adviser if you are "
        "not sure what to include.",
        "Filing early also gives you time to fix any mistakes before the deadline.",
    ]),
    ("goodpup.example.com", "Teaching a Puppy to Come When Called", [
        "Start indoors, where there is little to distract your puppy.",
        "Say its name once in a happy voice and reward it the moment it reaches you.",
        "Practise for a few minutes several times a day. Never call your puppy to you in order to scold it!",
        "Move outside only when it responds reliably at home.",
    ]),
    ("easymove.example.com", "Easy Move Removals", [
        "We are a small, family-run removals company serving the whole county.",
        "Every move starts with a free visit, so that we can give you an accurate quote.",
        "Our team can pack your belongings, take furniture apart and put it back together in your new home. We also "
        "offer short-term storage.",
        "Weekend moves are possible if you book at least a month ahead.",
    ]),
    ("rivermuseum.example.org", "New Exhibition: Life on the River", [
        "Our new exhibition tells the story of the people who lived and worked along the river.",
        "Visitors can see a restored barge, old fishing nets and photographs from a century ago.",
        "Recorded interviews with former dock workers play in the final room. The exhibition is free and runs until "
        "the end of October.",
        "School groups can book a guided tour on weekday mornings.",
    ]),
    ("hilltoproasters.example.com", "Hilltop Roasters", [
        "We roast small batches of coffee every Tuesday and Friday.",
        "Each bag shows the farm, the variety and the date it was roasted.",
        "Our house blend is smooth and chocolatey, while the single origins change with the seasons. Beans are best "
        "within a month of roasting.",
        "You can collect your order from the roastery or have it posted to you.",
    ]),
    ("harborrun.example.org", "Harbour Ten Kilometre Results", [
        "Over four hundred runners finished this year's harbour race in cool, dry weather.",
        "The winning time was just over thirty-two minutes, a new course record.",
        "Thank you to the volunteers who marshalled the course and handed out water. Full results are now posted on "
        "the notice board at the sailing club.",
        "Entries for next year's race will open in January.",
    ]),
    ("flatfinder.example.com", "Two Bedroom Flat Near the Park", [
        "This bright second floor flat is a short walk from the park and the station.",
        "It has two double bedrooms, a modern kitchen and a small balcony facing south.",
        "Bills are not included in the rent. Viewings can be arranged on weekday evenings and on Saturdays.",
        "The landlord is happy to consider tenants with a well-behaved cat.",
    ]),
    ("longtable.example.net", "Episode 41: Cooking for a Crowd", [
        "In this episode we talk about cooking for large family gatherings without losing your mind.",
        "Our guest explains how she plans a menu around dishes that can be made a day ahead.",
        "We also answer listener questions about oven space and leftovers. The full recipe list is in the notes below.",
        "Next week we will be talking about baking bread with children.",
    ]),
]

# (site, title, body lines, what the page is there for); the sample test checks each outcome.
SPECIAL_PAGES = [
    ("weatherdesk.example.com", "Local Forecast", [
        "Please enable JavaScript in your browser to see the radar map.",
        "Tomorrow will start cloudy, with light rain spreading from the west by midday.",
        "The rain should clear in the evening. Temperatures will stay close to the seasonal average.",
        "The weekend looks drier and a little warmer. Winds will be light on both days.",
    ], "kept: the JavaScript notice line is removed"),
    ("pinecrafts.example.com", "Pine Crafts Shop", [
        "By using this site you agree to our terms of use and privacy policy.",
        "This website uses cookies to remember what is in your basket.",
        "We make wooden toys, boxes and picture frames by hand in our village workshop.",
        "Every piece is finished with natural oil and wax. Orders usually ship within a week.",
        "Custom engraving is available on most items. Just add a note at checkout!",
    ], "kept: two policy lines are removed"),
    ("harbourtownhistory.example.org", "History of the Harbour Bridge", [
        "The harbour bridge opened in 1932 after six years of work.[1]",
        "At the time it was the longest bridge of its kind in the region.[2] [edit]",
        "More than a thousand workers helped to build it. [citation needed]",
        "It was widened in 1968 to carry a second railway track. Today it carries trains, cars and bicycles.",
    ], "kept: citation markers are cut out"),
    ("newtheme.example.com", "Sample Page", [
        "Lorem ipsum dolor sit amet, this page is waiting for real text.",
        "Our company offers many services to many customers.",
        "Please check back soon. We are updating the site. More news will follow.",
    ], "c4_lorem_ipsum"),
    ("codecorner.example.com", "Quick Style Tip", [
        "To remove the margin, write body { margin: 0; } at the top of your stylesheet.",
        "This works in every modern browser. It also keeps the page layout simple.",
        "Try it on a small test page first. Then copy it into your main site.",
    ], "c4_curly_bracket"),
    ("shortnotice.example.net", "Closed Today", [
        "The shop is closed today for a family event.",
        "We will reopen tomorrow at nine as usual.",
    ], "c4_too_few_sentences"),
    ("menuonly.example.com", "Welcome", [
        "Shop", "Gallery", "Log in",
    ], "empty"),
]


def _record(index: int, site: str, title: str, lines: list[str]) -> str:
    text = "\n".join([title, *lines, _NAV])
    # Fixed, distinct crawl times in 2019, C4's crawl year; the format is C4's own.
    timestamp = f"2019-04-{1 + index % 28:02d}T{index % 24:02d}:{(7 * index) % 60:02d}:{(13 * index) % 60:02d}Z"
    url = f"https://{site}/"
    return json.dumps({"text": text, "timestamp": timestamp, "url": url},
                      ensure_ascii=False, separators=(",", ":"))


def sample_lines() -> list[str]:
    """The file's lines in order: kept pages, one malformed line, the special pages, a mirror copy."""
    lines = [_record(i, site, title, body) for i, (site, title, body) in enumerate(KEPT_PAGES)]
    # A record cut off mid-string, as a crashed writer leaves it: a parse_error, and the file goes on.
    lines.append('{"text":"This record was cut off in the middle of')
    start = len(lines)
    for i, (site, title, body, _purpose) in enumerate(SPECIAL_PAGES, start=start):
        lines.append(_record(i, site, title, body))
    # A mirror site serving the first page word for word: exact dedup keeps one (duplicate_exact).
    _site, title, body = KEPT_PAGES[0]
    lines.append(_record(len(lines), "mirror.example.org", title, body))
    return lines


def write_sample(dest: Path) -> None:
    """Write `dest/c4-sample.00000-of-00001.json.gz`, byte-identical on every run."""
    dest.mkdir(parents=True, exist_ok=True)
    payload = ("\n".join(sample_lines()) + "\n").encode("utf-8")
    final = dest / FILENAME
    tmp = dest / (FILENAME + ".tmp")
    with (open(tmp, "wb") as raw,
          gzip.GzipFile(filename=_HEADER_NAME, mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz):
        gz.write(payload)
    os.replace(tmp, final)  # a killed run leaves no half file under the final name
