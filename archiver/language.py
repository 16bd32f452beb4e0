"""Text language: writing system first, then stopword profiles.

Deliberately light (no model, no dependency): a script decides the family
(Cyrillic, Greek, Latin, ...), distinctive letters and frequent function words
decide the language.  Too little text, or no clear winner, gives no answer.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.U)

_STOP = {
    "en": "the of and to in is that it for was on are with as be by this have from not but at they we his an which you has had were their been also its who will would there what about can more if he she said".split(),
    "de": "der die und das ist nicht mit den von zu sich des auf für ein eine dem im auch es wir als wird sie er bei nach aus hat wie noch aber oder über sind war".split(),
    "fr": "le la les et des est un une du que pour dans en qui pas sur au il elle ne ce sont avec par plus nous mais a été ont aux cette".split(),
    "es": "el la de que y en los del las un por con una para es se no al lo como más pero sus le ha este está son fue también".split(),
    "it": "il di che la e è per un non una del della le sono con si da gli al ha dei nel più anche come ma questo".split(),
    "pt": "o a de que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das tem".split(),
    "nl": "de het een en van is dat op te in niet zijn voor met die er aan ook als maar om dan wordt door naar".split(),
    "pl": "i w nie na się z do że to jest jak o co ale po przez dla jego od tak już są który która było tym może jednak także".split(),
    "cs": "a se na je že v to s z do jako by ale o jsou pro jeho který tak po už také být jak nebo".split(),
    "ru": "и в не на что с по это как он из его но к у за то же так от она мы был было только для о бы уже если их или когда".split(),
    "uk": "і в не на що з та це як він до його але у за й від так вона ми був було тільки для про вже якщо їх або коли".split(),
    "be": "і ў не на што з у гэта як ён да яго але за ад так яна мы быў было толькі для пра ўжо калі іх або".split(),
}
_SCRIPT_LANGS = {"Cyrillic": ("ru", "uk", "be"), "Latin": ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "cs")}
MIN_WORDS = 20


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x0400 <= o <= 0x052F:
        return "Cyrillic"
    if ch.isascii() and ch.isalpha() or 0x00C0 <= o <= 0x024F:
        return "Latin"
    if 0x0370 <= o <= 0x03FF:
        return "Greek"
    if 0x0590 <= o <= 0x05FF:
        return "Hebrew"
    if 0x0600 <= o <= 0x06FF:
        return "Arabic"
    if 0x10A0 <= o <= 0x10FF:
        return "Georgian"
    if 0x0530 <= o <= 0x058F:
        return "Armenian"
    return None


_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ASCII_LETTER_BYTES = "".join(sorted(_ASCII_LETTERS)).encode()
_ASCII_BYTES = bytes(range(128))
_SINGLE = {"Greek": "el", "Hebrew": "he", "Georgian": "ka", "Armenian": "hy"}


# The stop words of each language, and of all the languages of a script.
_STOPSETS = {lang: frozenset(ws) for lang, ws in _STOP.items()}
_SCRIPT_STOPS = {script: frozenset().union(*(_STOPSETS[lang] for lang in langs)) for script, langs in _SCRIPT_LANGS.items()}
_STOP_LANGS = {w: tuple(lang for lang in _STOP if w in _STOPSETS[lang]) for w in set().union(*_STOPSETS.values())}
_CHUNKS: dict[str, dict[str, tuple[int, tuple[str, ...]]]] = {script: {} for script in _SCRIPT_LANGS}


def _chunk_words(chunk: str, script: str) -> tuple[int, tuple[str, ...]]:
    """(how many of _WORD's words in a run of non-space text start with a letter of ``script``,
    those words lower-cased that are stop words of the script's languages), remembered for
    short runs (a text's vocabulary).

    No word holds white space, so the words of a text are those of its space-separated runs;
    counting the runs first (str.split, in C) and reading each distinct one once measured ~2x
    faster than running _WORD over the whole text.  Only the stop words are kept: the scores
    read nothing else (bench: detect ~0.53 -> ~0.38 ms per text).  Whether a word is in
    the script is a property of its first character alone (``_script``), so the answer depends
    on the run and the script only.
    """
    cache = _CHUNKS[script]
    got = cache.get(chunk)
    if got is None:
        stops = _SCRIPT_STOPS[script]
        n = 0
        hits = []
        for w in _WORD.findall(chunk):
            if _script(w[0]) == script:
                n += 1
                if (lw := w.lower()) in stops:
                    hits.append(lw)
        got = (n, tuple(hits))
        if len(chunk) <= 64:
            if len(cache) >= 8192:
                cache.clear()
            cache[chunk] = got
    return got


def detect(text: str) -> tuple[str, float] | None:
    """(BCP 47 tag, confidence) or None when the text is too short or unclear."""
    # Count characters first (C speed), then classify each distinct one: the benchmark
    # showed per-character classification was most of extraction's time.  ASCII letters,
    # most of a Latin text, are counted on the UTF-8 bytes (where no other character has an
    # ASCII byte); only the non-ASCII rest goes through a Counter (~3x faster in all).
    head = text[:200_000]
    raw = head.encode("utf-8", "surrogatepass")
    ascii_letters = len(raw) - len(raw.translate(None, _ASCII_LETTER_BYTES))
    # The non-ASCII characters: every byte of a multi-byte UTF-8 sequence is >= 0x80, so deleting
    # the ASCII bytes leaves exactly their encodings, in order (~200 -> ~55 us per bench text, vs
    # a regex removing the ASCII runs).
    rest = "" if head.isascii() else raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    if ascii_letters and ascii_letters >= 0.7 * (ascii_letters + len(rest)):
        # Latin has at least the ASCII letters, and every other script at most the rest: Latin
        # wins and passes the 70 % below whatever the rest is, so it is not counted (~50 us per
        # bench text).  Only the Cyrillic branch below reads the counts.
        chars, script = None, "Latin"
    else:
        chars = Counter(rest)
        scripts: Counter = Counter()
        if ascii_letters:
            scripts["Latin"] = ascii_letters
        for ch, n in chars.items():
            s = _script(ch)
            if s:
                scripts[s] += n
        if not scripts:
            return None
        script, count = scripts.most_common(1)[0]
        if count < 0.7 * sum(scripts.values()):
            return None
        if script in _SINGLE:
            return (_SINGLE[script], 0.8) if count >= 100 else None
    langs = _SCRIPT_LANGS.get(script)
    if not langs:
        return None
    # Words are counted per space-separated run (``_chunk_words``): a word is in the script when
    # its first character is, and only stop words are counted by spelling.  Plain dicts: a
    # Counter's missing key is a Python call.
    cache = _CHUNKS[script]
    freq: dict[str, int] = {}
    n_words = 0
    for chunk, n in Counter(head.split()).items():
        k, stops = cache.get(chunk) or _chunk_words(chunk, script)
        if k:
            n_words += k * n
            for w in stops:
                freq[w] = freq.get(w, 0) + n
    if n_words < MIN_WORDS:
        return None
    hits = dict.fromkeys(langs, 0)
    for w, n in freq.items():
        for lang in _STOP_LANGS[w]:
            if lang in hits:
                hits[lang] += n
    scores = {lang: hits[lang] / n_words for lang in langs}
    if script == "Cyrillic":
        # Cyrillic letters of the lower-cased text; from the non-ASCII counts when they cover it
        # (lower() maps no other character to a Cyrillic one, nor one Cyrillic letter to two).
        lowered: Counter = Counter()
        for c, n in (chars if len(text) <= 200_000 else Counter(text)).items():
            lowered[c.lower()] += n
        letters = Counter({c: n for c, n in lowered.items() if len(c) == 1 and _script(c) == "Cyrillic"})
        total = sum(letters.values()) or 1
        # Letters tell the three apart better than function words: Belarusian has ў and і but no и;
        # Ukrainian has і ї є ґ but no ы э; Russian has ы э ъ but no і ў.
        share = {c: letters[c] / total for c in "ўіиыэъїєґ"}
        if share["ў"] + share["і"] > 0.01 and share["и"] < 0.005:
            scores["be"] += 0.3
        elif share["ї"] + share["є"] + share["ґ"] > 0.002 or share["і"] > 0.01 and share["ы"] + share["э"] < 0.002:
            scores["uk"] += 0.3
        elif share["ы"] + share["э"] + share["ъ"] > 0.005 and share["і"] + share["ў"] < 0.002:
            scores["ru"] += 0.3
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (best, s1), (_, s2) = ranked[0], ranked[1]
    if s1 < 0.08 or s1 < 1.5 * s2:
        return None
    conf = min(0.95, 0.6 + (s1 - s2) * 2)
    return best, round(conf, 2)


LANGUAGE_NAMES = {
    # English adjective / name -> tag
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "polish": "pl", "czech": "cs", "slovak": "sk", "russian": "ru", "ukrainian": "uk",
    "belarusian": "be", "belarussian": "be", "byelorussian": "be", "lithuanian": "lt", "latvian": "lv", "estonian": "et",
    "swedish": "sv", "norwegian": "no", "danish": "da", "finnish": "fi", "hungarian": "hu", "romanian": "ro",
    "bulgarian": "bg", "serbian": "sr", "croatian": "hr", "georgian": "ka", "armenian": "hy", "greek": "el",
    "turkish": "tr", "hebrew": "he", "arabic": "ar", "chinese": "zh", "japanese": "ja", "korean": "ko",
    "kazakh": "kk", "azerbaijani": "az", "persian": "fa",
    # Russian genitive ("перевод с английского"), Polish/German/French/Spanish source-language forms
    "английского": "en", "немецкого": "de", "французского": "fr", "испанского": "es", "итальянского": "it",
    "польского": "pl", "русского": "ru", "украинского": "uk", "белорусского": "be", "литовского": "lt",
    "angielskiego": "en", "niemieckiego": "de", "francuskiego": "fr", "hiszpańskiego": "es", "rosyjskiego": "ru",
    "ukraińskiego": "uk", "białoruskiego": "be", "polskiego": "pl", "włoskiego": "it",
    "englischen": "en", "russischen": "ru", "polnischen": "pl", "französischen": "fr", "spanischen": "es",
    "ukrainischen": "uk", "belarussischen": "be", "weißrussischen": "be", "italienischen": "it", "deutschen": "de",
    "anglais": "en", "russe": "ru", "polonais": "pl", "allemand": "de", "espagnol": "es", "ukrainien": "uk", "biélorusse": "be", "italien": "it",
    "inglés": "en", "ruso": "ru", "polaco": "pl", "alemán": "de", "francés": "fr", "ucraniano": "uk", "bielorruso": "be", "italiano": "it",
}


def tag_for(name: str) -> str | None:
    return LANGUAGE_NAMES.get(name.strip().lower())
