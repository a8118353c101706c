"""Auto-replies (out of office) and the return date they announce. Pure: no I/O.

An auto-reply is recognised by its headers (RFC 3834 `Auto-Submitted` other than `no`,
`X-Autoreply`, `X-Autorespond`, `Precedence: auto_reply|bulk|junk`) or by an out-of-office subject
(English and French: `Automatic reply:`, `Out of Office`, `Auto:`, `Réponse automatique`,
`Absence du bureau`, `Message d'absence`, `Absent`, `En congés`…).

The return date is the first date at or after the day the reply came (and within a year) that
follows one of these phrases (up to 30 characters may sit between the phrase and the date); when
every such date is already past (a stale out-of-office), the first of them, so the case can say so:

| phrase | return date |
|---|---|
| back / returning / return / will be back (on, from) — de retour, retour, dès, à partir du | the date |
| until, till — jusqu'au, jusqu'à | the date (what people mean: "until Monday 3 December") |
| through, until … inclusive — jusqu'au … inclus | the day after |
| a range: from A to B, A – B — du A au B | the day after B |

Dates: `3 December [2026]`, `December 3[rd][, 2026]`, `Monday 3rd of December`, `3 déc.`,
`lundi 1er décembre 2026`, `12/03/2026`, `12.03.26`, `12-03` (day first, as in Europe; read
month first only when the second number cannot be a month), `2026-03-12`. A date without a year
is the next such day on or after the reply.
"""

import re
from datetime import date, timedelta
from email.message import Message

_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
_AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto[- ]?reply|auto[- ]?response|autoreply|out of (?:the )?office|ooo\b"
    r"|away from (?:my|the) office|on vacation|vacation reply|auto\s*:"
    r"|r[ée]ponse automatique|absence du bureau|message d['’]absence|absent(?:e)?\b|en cong[ée]s?\b|r[ée]pondeur)",
    re.IGNORECASE,
)


def is_auto_reply(message: Message) -> bool:
    """Sent by a machine on someone's behalf (out of office, vacation, autoresponder)."""
    auto_submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(message.get(name) is not None for name in _AUTO_HEADERS):
        return True
    precedence = {str(message.get(name, "")).strip().lower() for name in ("Precedence", "X-Precedence")}
    if precedence & _AUTO_PRECEDENCE:
        return True
    return bool(_AUTO_SUBJECT.match(str(message.get("Subject", ""))))


# -- return dates -----------------------------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number, _names in enumerate((
    "january jan janvier janv", "february feb febr février fevrier févr fevr fév fev",
    "march mar mars", "april apr avril avr", "may mai", "june jun juin",
    "july jul juillet juil", "august aug août aout", "september sep sept septembre",
    "october oct octobre", "november nov novembre", "december dec décembre decembre déc",
), start=1):
    for _name in _names.split():
        MONTHS[_name] = _number

_MONTH = "|".join(sorted((re.escape(name) for name in MONTHS), key=len, reverse=True))
_WEEKDAY = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
            r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lun|mar|mer|jeu|ven|sam|dim)\.?,?\s+")
_DATE = (
    rf"(?:(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})"
    rf"|(?P<n1>\d{{1,2}})/(?P<n2>\d{{1,2}})(?:/(?P<ny>\d{{4}}|\d{{2}}))?(?![\d/]*\d)"
    rf"|(?P<p1>\d{{1,2}})[.\-](?P<p2>\d{{1,2}})[.\-](?P<py>\d{{4}}|\d{{2}})(?![\d.\-]*\d)"
    rf"|(?:{_WEEKDAY})?(?P<dd>\d{{1,2}})(?:st|nd|rd|th|er|e|ème)?\s+(?:of\s+)?(?P<dm>{_MONTH})\.?(?:,?\s+(?P<dy>\d{{4}}))?"
    rf"|(?:{_WEEKDAY})?(?P<mm>{_MONTH})\.?\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<my>\d{{4}}))?)"
)
_RANGE_START = re.sub(r"\(\?P<\w+>", "(?:", _DATE) + r"|\d{1,2}(?:st|nd|rd|th|er|e|ème)?"
_SAME_DAY = (r"back|return(?:ing)?|will be back|de retour|retour|dès|à partir du|a partir du|à compter du"
             r"|until|till|jusqu['’]au|jusqu['’]à|jusqu['’]a")
_DAY_AFTER = r"through|thru"
_FILLER = r"[^\n!?;]{0,30}?"
_TRIGGERED = re.compile(
    rf"\b(?P<trigger>{_SAME_DAY}|{_DAY_AFTER})\b{_FILLER}(?<![\d/.\-]){_DATE}(?P<inclusive>\s*\(?\s*(?:inclus(?:ive)?|included))?",
    re.IGNORECASE,
)
_RANGE = re.compile(
    rf"\b(?:from|du|between|entre le)\s+(?:{_RANGE_START})\s*(?:to|until|till|au|and|et le|-|–)\s*"
    + _DATE.replace("?P<", "?P<e_"),
    re.IGNORECASE,
)


def return_date(text: str, *, received: date) -> date | None:
    """The date an out-of-office message says its author is back, or None (see the module's table);
    a date before `received` means the message is stale."""
    found: list[tuple[int, date]] = []
    for match in _RANGE.finditer(text):
        end = _date_of({key[2:]: value for key, value in match.groupdict().items() if key.startswith("e_")}, received)
        if end is not None:
            found.append((match.start(), end + timedelta(days=1)))
    ranges = [start for start, _ in found]
    for match in _TRIGGERED.finditer(text):
        if any(start <= match.start() < start + 120 for start in ranges):
            continue  # inside a range already read
        day = _date_of(match.groupdict(), received)
        if day is None:
            continue
        trigger = match.group("trigger").lower()
        day_after = trigger in ("through", "thru") or bool(match.group("inclusive"))
        found.append((match.start(), day + timedelta(days=1) if day_after else day))
    in_reading_order = [day for _, day in sorted(found) if day <= received + timedelta(days=366)]
    coming = [day for day in in_reading_order if day >= received]
    return (coming or in_reading_order or [None])[0]


def _date_of(groups: dict[str, str | None], received: date) -> date | None:
    if groups.get("iy"):
        return _safe_date(int(groups["iy"] or 0), int(groups["im"] or 0), int(groups["id"] or 0))
    numbers = ("n1", "n2", "ny") if groups.get("n1") else ("p1", "p2", "py") if groups.get("p1") else None
    if numbers:
        first, second = int(groups[numbers[0]] or 0), int(groups[numbers[1]] or 0)
        day, month = (second, first) if second > 12 >= first else (first, second)
        return _with_year(day, month, groups.get(numbers[2]), received)
    if groups.get("dd"):
        return _with_year(int(groups["dd"] or 0), MONTHS[(groups["dm"] or "").lower()], groups.get("dy"), received)
    if groups.get("mm"):
        return _with_year(int(groups["md"] or 0), MONTHS[(groups["mm"] or "").lower()], groups.get("my"), received)
    return None


def _with_year(day: int, month: int, year: str | None, received: date) -> date | None:
    if year:
        number = int(year)
        return _safe_date(number + 2000 if number < 100 else number, month, day)
    this_year = _safe_date(received.year, month, day)
    if this_year is not None and this_year >= received:
        return this_year
    return _safe_date(received.year + 1, month, day)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
