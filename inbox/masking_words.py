"""Vocabulary for contact masking: number words, look-alike letters, domain endings, mail
providers and the cue words people put in front of a contact. Data only, no logic."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Number words by role, so "девятьсот шестнадцать" composes into 916 and "восемь девять"
# stays two digits. Only the nominative forms: people spelling a phone number out to dodge
# a filter write the number as they would say it, not declined.
UNITS: dict[str, int] = {
    "ноль": 0, "нуль": 0, "один": 1, "одна": 1, "одно": 1, "два": 2, "две": 2, "три": 3,
    "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
TEENS: dict[str, int] = {
    "десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13,
    "четырнадцать": 14, "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17,
    "восемнадцать": 18, "девятнадцать": 19,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS: dict[str, int] = {
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
    "семьдесят": 70, "восемьдесят": 80, "девяносто": 90,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
HUNDREDS: dict[str, int] = {
    "сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500,
    "шестьсот": 600, "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
}  # fmt: skip
# English says "nine hundred": the unit before it is multiplied.
HUNDRED_MULTIPLIER = "hundred"

# Letters that stand in for digits inside a run of digits ("8916l23456O7"). Applied only to
# tokens that are mostly digits, so ordinary words keep their letters.
DIGIT_LOOKALIKES: dict[str, str] = {
    "o": "0", "о": "0", "ο": "0", "l": "1", "i": "1", "і": "1", "з": "3", "s": "5", "б": "6",
}  # fmt: skip

# Cyrillic and Greek letters drawn like Latin ones. Applied only inside a chunk that already
# holds Latin letters ("ivаn@mаil.ru" with Cyrillic "а"), so Russian words stay Russian.
LATIN_LOOKALIKES: dict[str, str] = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "α": "a", "ο": "o", "ρ": "p", "ν": "v",
    "ι": "i", "κ": "k", "τ": "t", "υ": "u", "χ": "x", "ε": "e",
}  # fmt: skip

# Domain endings that mark a bare "word.tld" as a link. Deliberately not every real TLD:
# endings that are also file extensions or English words (ai, md, py, it, to, co, in, is...)
# would turn "макет.ai" or "go.to" into links.
TLDS: frozenset[str] = _words(
    "ru рф su com net org info biz pro me io by kz ua uz ge de uk us eu online site store "
    "shop xyz app dev tech club top space website live link ly gl cc tv fm gg ws"
)
# The same endings as people type them in Cyrillic to spell an address out ("мейл ру").
CYRILLIC_TLDS: frozenset[str] = _words("ру ком нет орг рф бай кз")

# Mail services whose name alone, with or without a dot before the ending, makes
# "x собака <name> ру" an address.
MAIL_PROVIDERS: frozenset[str] = _words(
    "mail gmail googlemail yandex ya inbox list bk rambler outlook hotmail icloud yahoo "
    "proton protonmail live мейл майл мэйл мыло джимейл гмейл гмайл яндекс рамблер"
)

# Well-known names that look like domains but are technology names, not contacts.
NOT_LINKS: frozenset[str] = frozenset({"asp.net", "vb.net", "ado.net"})

# Words standing for "@" and "." in a spelled-out address.
AT_WORDS = r"(?:at|собака|собачка|собачку|эт)"
DOT_WORDS = r"(?:dot|точка|точку|тчк)"
SLASH_WORDS = r"(?:слэш|слеш|slash)"

# Messenger and phone names; a handle or a number right after one is a contact.
MESSENGER_CUES = (
    r"(?:в[ао]т?[сц]ап+\w*|в[ао]цап+\w*|whats\s?app|вайбер\w*|viber|телег\w*|телеграм\w*|"
    r"telegram|тг|tg|тележк\w*|инст\w*|insta\w*|вк|vk|вконтакт\w*|скайп\w*|skype|"
    r"дискорд\w*|discord|сигнал\w*|signal|icq|аськ\w*|facebook|фейсбук\w*|fb)"
)
# Names of mail services or of "e-mail" itself: a Latin name after one is the address's
# local part ("почта на gmail: ivan.petrov1990").
EMAIL_CUES = r"(?:почт\w*|e-?mail|имейл\w*|емейл\w*|мейл\w*|мыло|gmail|яндекс\w*|yandex|mail)"
NICK_CUES = r"(?:ник\w{0,3}|никнейм\w*|юзернейм\w*|username|user\s?name|nick\w*|логин\w*|login)"
PHONE_CUES = (
    r"(?:тел|телефон\w*|тлф|моб\w*|сотов\w*|мой\s+номер|номер\s+телефона|(?:пере|по)?звон\w*|звяк\w*|"
    r"набери\w*|наберите|смс|sms|phone|tel|call|mobile|cell|whats\s?app|viber|ватсап\w*|"
    r"вайбер\w*)"
)

# Words that follow a messenger name in ordinary English and are not handles
# ("reply in Telegram when ready", "via WhatsApp please").
NOT_HANDLES: frozenset[str] = _words(
    "me you us him her them it please pls plz thanks thank or and but to on in at is are "
    "was my your our the a an as of for from with by via so if then than when while whenever "
    "once later now today tomorrow tonight soon asap also too only instead either chat "
    "group channel bot app call calls message messages msg account number web desktop "
    "version premium business here there first after before about ok okay yes no not "
    "would will could can should let lets just still again directly right all any "
    "pdf docx doc word excel xlsx xls pptx ppt odt rtf txt jpg jpeg png tiff tif psd cdr "
    "eps svg zip rar online offline link links file files photo photos video"
)

# Phrases that ask to move the conversation off the desk ("пиши в личку").
DIRECT_CONTACT_PHRASES = (
    r"(?:(?:на)?пиш(?:и|ите)|стукни(?:те)?|маякни(?:те)?|черкани(?:те)?|отпиши(?:сь|тесь)?)"
    r"(?:\s+мне)?\s+в\s+(?:личку|лс|личные(?:\s+сообщения)?|директ|direct)"
    r"|\bв\s+личку\b"
    r"|свяж\w*(?:\s+(?:со\s+мной|с\s+вами|с\s+тобой))?\s+напрямую"
    r"|давай(?:те)?\s+напрямую|без\s+посредник\w*"
    r"|\bdm\s+me\b|\b(?:text|message|contact|reach|email|call)\s+me\s+directly\b"
)

# Everything that can make masking touch a text with no digits, "@" or ".": the property
# tests use it to build texts that must come through untouched.
TRIGGER_WORDS = re.compile(
    "|".join(
        [
            *(re.escape(word) for word in [*UNITS, *TEENS, *TENS, *HUNDREDS]),
            AT_WORDS, DOT_WORDS, SLASH_WORDS, MESSENGER_CUES, NICK_CUES, PHONE_CUES, EMAIL_CUES,
            DIRECT_CONTACT_PHRASES, r"[a-z]+\s*:",
        ]
    ),
    re.IGNORECASE,
)  # fmt: skip
