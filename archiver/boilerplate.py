"""Boilerplate: page furniture a scraper captured along with the text.

A boilerplate line stays byte-exact in the preserved original; it is only left
out of the cleaned derivative.  Each rule matches whole lines (never part of a
paragraph), so a rule can only remove furniture, not prose.
"""

from __future__ import annotations

import re

# rule id -> confidence
CONFIDENCE = {
    "bp.page-edge": 0.95,
    "bp.navigation": 0.8,
    "bp.share": 0.85,
    "bp.reading-time": 0.95,
    "bp.comments": 0.85,
    "bp.results-count": 0.9,
    "bp.photo-credit": 0.8,
    "bp.photo-caption": 0.7,
    "bp.widget-fragment": 0.6,
    "bp.related": 0.6,
    "bp.advert": 0.9,
    "bp.copyright": 0.85,
    "bp.breadcrumb": 0.7,
    "bp.counter": 0.85,
}

_BULLET = r"[\s•·*\-–|]*"


def _words(*ws: str) -> re.Pattern:
    return re.compile(rf"^{_BULLET}(?:{'|'.join(ws)}){_BULLET}$", re.I)


_PAGE_EDGE = _words(r"top of page", r"bottom of page", r"back to top", r"skip to (?:main )?content", r"scroll to top",
                    r"наверх", r"в начало страницы", r"do góry", r"nach oben")
_NAV = _words(r"home", r"menu", r"main menu", r"search", r"site search", r"log ?in", r"sign ?in", r"sign up", r"subscribe",
              r"next", r"previous", r"next post", r"previous post", r"older posts?", r"newer posts?", r"read more", r"continue reading",
              r"читать далее", r"czytaj dalej", r"weiterlesen", r"lire la suite", r"leer más",
              r"see all", r"view all", r"load more", r"show more", r"all posts", r"close", r"open menu",
              r"cookie settings", r"accept (?:all )?cookies", r"главная", r"поиск", r"меню", r"szukaj", r"strona główna",
              r"startseite", r"suche", r"accueil", r"rechercher", r"inicio", r"buscar",
              r"about(?: us)?", r"news", r"all news", r"latest news", r"blog", r"contacts?", r"donate", r"support us",
              r"events", r"projects", r"team", r"our team", r"media", r"publications", r"more", r"articles", r"interviews",
              r"opinions?", r"videos?", r"photos?", r"podcasts?", r"archive", r"categories", r"tags", r"newsletter",
              r"subscribe to (?:our|the) newsletter", r"(?:en|ru|be|by|pl|uk|ua|de|fr|es|lt|lv)(?:\s*[|/•·]?\s*(?:en|ru|be|by|pl|uk|ua|de|fr|es|lt|lv))*",
              r"english", r"русский", r"беларуская", r"українська", r"polski", r"deutsch",
              r"новости", r"контакты", r"о нас", r"aktualności", r"kontakt", r"o nas")
_SHARE = _words(r"share(?: this(?: (?:post|article|page))?)?(?: on (?:facebook|twitter|x|linkedin|whatsapp|telegram))?",
                r"tweet", r"facebook", r"twitter", r"linkedin", r"whatsapp", r"telegram", r"email", r"e-mail", r"print",
                r"copy link", r"link copied", r"follow us", r"поделиться", r"udostępnij", r"teilen", r"partager", r"compartir",
                r"(?:subscribe to|follow us on|join us on|find us on) (?:our |the )?[\w .-]{1,40}", r"подписывайтесь на [\w .-]{1,40}",
                r"подпишитесь на [\w .-]{1,40}", r"підписуйтесь на [\w .-]{1,40}", r"obserwuj nas na [\w .-]{1,40}",
                r"(?:facebook|twitter|linkedin|x|telegram|whatsapp|email)(?:\s*[|·•]\s*(?:facebook|twitter|linkedin|x|telegram|whatsapp|email))+")
_READING = re.compile(rf"^{_BULLET}(?:\d+\s*(?:min|mins|minutes?)\.?\s*read|reading time:?\s*\d+\s*min\w*|\d+\s*мин\w*\s*(?:чтения|на чтение)|\d+\s*min\w*\s*czytania|lesezeit:?\s*\d+\s*min\w*)\.?{_BULLET}$", re.I)
# Counters and like buttons of blog platforms: "12 views", "Post not marked as liked", "Writer's picture".
_COUNTERS = re.compile(rf"^{_BULLET}(?:\d[\d,.]*\s*(?:views?|likes?|shares?|reads?|просмотр\w*|wyświetle\w*)|post not marked as liked|"
                       r"post marked as liked|like|liked|log in to like|writer['’]s picture.*|see all|recent posts)\s*$", re.I)
_COMMENTS = re.compile(rf"^{_BULLET}(?:comments?|\d+\s+comments?|no comments(?: yet)?|leave a (?:comment|reply)|add a comment|write a comment|log in to (?:comment|leave a comment)|post comment|комментарии|\d+\s+комментари\w*|komentarze|kommentare|commentaires|comentarios)(?:\s*\(\d+\))?{_BULLET}$", re.I)
_RESULTS = re.compile(r"^\s*\d[\d,.\s]*\s+(?:items?|results?|posts?|articles?)\s+found\b.{0,80}$|^\s*(?:no )?results? for\b.{0,80}$|^\s*(?:найдено|знайдено)\s+\d+.{0,60}$", re.I)
_ADVERT = _words(r"advertisement", r"sponsored", r"ad", r"реклама", r"reklama", r"anzeige", r"publicité", r"publicidad")
# "Caption. Photo: Agency" / "Caption Source: Agency" / "Photo by Jane Doe" / "Фото: ..." — a short credit line.
_CREDIT = re.compile(r"^(?P<caption>.{0,160}?)[\s.,;(|–—-]*\b(?P<label>photo(?:graph)?(?: credit)?|photo by|image(?: credit)?|picture|source|credit|фото|źródło|foto|fot\.|bild|quelle)\s*[:©]\s*(?P<who>[^:]{1,80}?)\)?\s*$|^(?P<label2>photo by|photograph by|photos by|фото)\s+(?P<who2>[^:]{1,80})$", re.I)
_RELATED_HEAD = _words(r"related(?: posts| articles| stories| news)?", r"recent posts", r"more (?:from|on) .{1,40}", r"read (?:also|more)",
                       r"see also", r"you (?:may|might) also like", r"most read", r"popular posts", r"читайте также",
                       r"по теме", r"czytaj (?:także|też)", r"zobacz (?:także|też)", r"lesen sie auch", r"mehr zum thema",
                       r"à lire aussi", r"lire aussi", r"te puede interesar", r"lee también")
# Short words a line may legitimately consist of (so they are never widget fragments).
_REAL_SHORT = {"yes", "no", "ok", "well", "so", "and", "but", "or", "why", "how", "what", "who", "when", "true",
               "nah", "yeah", "hmm", "oh", "ah", "wow", "tak", "nie", "да", "нет", "ja", "nein", "oui", "non", "sí", "si"}


# "© 2025 by Example Media. Proudly created with Wix.com" / "All rights reserved" / "Powered by WordPress"
_COPYRIGHT = re.compile(r"^\s*(?:©|\(c\)|copyright\b)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?\s*(?:by\s+)?(?P<who>[^|©]{0,80}?)\s*"
                        r"(?:[.,|]\s*(?:all rights reserved|proudly created with wix\.com|powered by [\w. ]{1,40})\.?)*\s*$", re.I)
_FOOTER = _words(r"all rights reserved\.?", r"proudly created with wix\.com", r"powered by [\w. ]{1,40}", r"privacy policy",
                 r"terms of (?:use|service)", r"cookie policy", r"imprint", r"impressum", r"contact us", r"about us")
# "Home / News / Politics", "Home › World › Europe"
_BREADCRUMB = re.compile(r"^\s*[\w .'’-]{1,30}(?:\s+[/›»>|]\s+[\w .'’-]{1,30}){2,}\s*$")


# The three whole-line rules find() tries first on every line, as one pattern: a line that is none
# of them (nearly all) costs one try instead of three (~0.023 -> ~0.018 ms per bench text).
_EDGE_READING_RESULTS = re.compile("|".join(f"(?:{rx.pattern})" for rx in (_PAGE_EDGE, _READING, _RESULTS)), re.I)
assert all(rx.flags == _EDGE_READING_RESULTS.flags for rx in (_PAGE_EDGE, _READING, _RESULTS))
# Compiled once: find() tries them on most lines (re's own cache lookup cost ~0.5 us a call).
_FRAGMENT = re.compile(r"[a-z]{1,4}")
_URL_SOURCE = re.compile(r"^\s*(?:source|original(?: article)?|źródło|источник|quelle|fuente)\s*:\s*https?://", re.I)
_MENU_SEPARATOR = re.compile(r"\s*[|•·/]\s*|\s{2,}")


def copyright_holder(line: str) -> str | None:
    """The name in a copyright footer ("© 2025 by Example Media. All rights reserved." -> "Example Media")."""
    m = _COPYRIGHT.match(line) if len(line) <= 200 else None
    if not m or not m.group("who"):
        return None
    who = m.group("who").strip(" .,")
    return who if who and not who.isdigit() and len(who.split()) <= 8 and who.lower() != "all rights reserved" else None


def is_url_source(line: str) -> bool:
    return bool(_URL_SOURCE.match(line))


def credit(line: str):
    """(caption, credited) when the line is a photo/source credit, else None."""
    if len(line) > 220 or is_url_source(line):
        return None
    m = _CREDIT.match(line.strip())
    if not m:
        return None
    who = (m.group("who") or m.group("who2") or "").strip().rstrip(".")
    cap = (m.group("caption") or "").strip()
    label = (m.group("label") or m.group("label2") or "").lower()
    if label in ("source", "źródło", "quelle", "credit") and not cap:
        return None  # a bare "Source: X" line names an outlet, not a photo credit
    if not who or len(who.split()) > 6:
        return None
    return cap, who


def find(lines: list[str]) -> dict[int, str]:
    """Boilerplate line numbers (1-based) -> rule id.  ``lines`` are normalised lines."""
    out: dict[int, str] = {}
    nonblank = [i for i, s in enumerate(lines) if s.strip()]
    for i, s in enumerate(lines):
        t = s.strip()
        if not t:
            continue
        n = i + 1
        if _EDGE_READING_RESULTS.match(t):  # then one of the three, tried in order
            out[n] = "bp.page-edge" if _PAGE_EDGE.match(t) else "bp.reading-time" if _READING.match(t) else "bp.results-count"
        elif len(t) <= 80 and _COUNTERS.match(t):
            out[n] = "bp.counter"
        elif len(t) <= 60 and _COMMENTS.match(t):
            out[n] = "bp.comments"
        elif len(t) <= 80 and _SHARE.match(t):
            out[n] = "bp.share"
        elif len(t) <= 40 and _NAV.match(t):
            out[n] = "bp.navigation"
        elif len(t) <= 120 and _menu(t):
            out[n] = "bp.navigation"
        elif len(t) <= 30 and _ADVERT.match(t):
            out[n] = "bp.advert"
        elif len(t) <= 200 and (_COPYRIGHT.match(t) or _FOOTER.match(t)):
            out[n] = "bp.copyright"
        elif len(t) <= 160 and _BREADCRUMB.match(t):
            out[n] = "bp.breadcrumb"
        elif len(t) <= 220 and credit(t):  # (credit() refuses longer lines: no call for most prose)
            out[n] = "bp.photo-credit"
        elif len(t) <= 4 and _FRAGMENT.fullmatch(t) and t not in _REAL_SHORT and _isolated(lines, i):
            out[n] = "bp.widget-fragment"
    # A caption is the line just above its credit that repeats the credit's caption text.
    for n in [k for k, r in out.items() if r == "bp.photo-credit"]:
        cap = credit(lines[n - 1].strip())[0]
        j = n - 1
        while j >= 1 and lines[j - 1].strip() and (j not in out):
            above = lines[j - 1].strip()
            if len(above) <= 160 and (above == lines[n - 1].strip() or (cap and cap.startswith(above.rstrip(".,")))):
                out[j] = "bp.photo-caption"
                j -= 1
            else:
                break
    # Related-post titles: after a "Related posts" heading, the short lines that follow.
    for k, i in enumerate(nonblank):
        t = lines[i].strip()
        if len(t) <= 60 and _RELATED_HEAD.match(t) and k >= len(nonblank) // 2:
            out[i + 1] = "bp.related"
            for j in nonblank[k + 1:]:
                u = lines[j].strip()
                if (j + 1) in out or len(u) > 160 or u.endswith((".", "!", "?", "…")) and len(u) > 80:
                    break
                out[j + 1] = "bp.related"
    return out


def _menu(t: str) -> bool:
    """A menu bar flattened to one line: "Home | About | News | Contacts" (separators required)."""
    parts = [p for p in _MENU_SEPARATOR.split(t) if p]
    return len(parts) >= 3 and all(_NAV.match(p) for p in parts)


def _isolated(lines: list[str], i: int) -> bool:
    """Blank (or the edge of the text) on both sides: a fragment, not a word inside prose."""
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 >= len(lines) or not lines[i + 1].strip()
    return before and after
