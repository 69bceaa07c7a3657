"""Decide whether a user message is Swedish or English, deterministically.

The assistant answers in the user's language.  A statistical language detector is
unreliable on the very short messages people type into a chat ("hej", "ok", "tack"), so
this module only counts evidence it can explain:

- a word written with å, ä or ö is Swedish, unless it is a capitalised word that is not a
  common Swedish word: that is most likely a name ("Björn", "Malmö"), which says nothing
  about the language the user writes in;
- common Swedish and English words (written with or without diacritics: "hur anmaler jag"
  counts as Swedish) each add one point to their language.

Whichever language has more points wins; a tie, or no evidence at all (numbers, emoji,
names, "ok"), gives None so that the caller can keep the language it already had.
Words that are common in both languages ("i", "in", "man", "for", "tips", ...) are in
neither list.  Stdlib only, no mutable global state.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["ENGLISH_WORDS", "SWEDISH_WORDS", "detect_language"]

# Characters looked at: a language is clear long before that, and it bounds the time spent.
_MAX_CHARS: Final = 2000


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SWEDISH_WORDS: Final = _words(
    """
    hej hejsan hallo tjena tja tjabba halla morgon kvall eftermiddag hejda
    jag du han hon vi ni de dom mig dig sig oss er min mitt mina din ditt dina sin sitt sina
    hans hennes deras var vart vara vad vem vilken vilket vilka hur nar varfor varifran
    och eller att som det den detta denna dessa ett en inte ej ja nej jo tack tackar snalla
    ursakta forlat ar blir blev varit har hade kan kunde ska skulle vill ville maste fick
    gor gora gjorde gjort finns fanns kommer kom vet veta tror tycker behover hjalp hjalpa
    pa till fran med utan om av efter hos mot nu idag igar imorgon dar inga ingen inget
    nagon nagot nagra alla allt mycket lite bara ocksa redan aldrig alltid sa sedan sen
    innan polisen polis polisanmalan anmala anmalan anmaler anmalde tipsa tipset brott
    stold inbrott cykel cykeln bil bilen stulen stulit hemma huset lagenhet granne
    grannen fraga fragor undrar prata manniska handlaggare medborgarloftet medborgarlofte
    medborgarloften passet korkort tid boka nummer ringa ring hotad misshandlad ranad
    snart fortfarande kostar oppet oppettider polisstation tank tanka tycka bra battre
    daligt hemskt rolig jatte jattebra kanske faktiskt bor jobbar arbetar ser sag sagt
    saga hitta hittade tanker dag vecka veckan manad ny nya gammal stor liten lilla ganska
    verkligen eftersom nasta forsta sista forra okej visst absolut skriva svenska
    """
)

ENGLISH_WORDS: Final = _words(
    """
    hi hello hey thanks thank thx please sorry yes yeah yep nope no
    the a an is are am was were be been being have has had do does did done can could will
    would should shall may might must want wants wanted need needs needed help how what
    when where why who whom which whose this that these those it its im ive id ill youre
    dont doesnt didnt cant couldnt wont wouldnt isnt arent wasnt my me mine our ours we us
    they them their he she his her him you your yours and or but not of to from with
    without about at on by into out up there here now today yesterday tomorrow police
    officer report reported reporting crime stolen stole bike bicycle car house home
    phone wallet lost question questions talk speak person someone somebody anyone anybody
    something anything good morning evening afternoon bye goodbye know like get got go
    going make just also very much many some any english name tip anonymous anonymously
    neighbour neighbor neighbours neighbors burglary robbery theft passport license
    licence apply application number call emergency station open opening hours cost
    costs price free happened happen broke broken into again still already live lives
    living work see saw seen said say tell told ask asked find found think thought time
    day week year right way new old well only really too so than then because if after
    before next last first fine great okay
    """
)

_SWEDISH_LETTERS: Final = frozenset("åäö")
_SWEDISH_LETTERS_FOLDED: Final = str.maketrans("åäö", "aao")
_APOSTROPHES: Final = re.compile("['`\u00b4\u2018\u2019\u02bc]")
_LETTER_WORD: Final = re.compile(r"[^\W\d_]+")
_COMBINING_MARKS: Final = re.compile(r"[\u0300-\u036f]")


def _fold(word: str) -> str:
    """Drop diacritics other than å/ä/ö ("café" -> "cafe") so the word lists stay ASCII."""
    if word.isascii():
        return word
    return _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", word))


def detect_language(text: str) -> str | None:
    """Return "sv", "en", or None when the message gives no clear evidence either way.

    None is the honest answer for "ok", "112", emoji or a bare name: the caller should
    then keep the conversation's current language instead of guessing.
    """
    if not isinstance(text, str) or not text:
        return None
    swedish = english = 0
    for word in _LETTER_WORD.findall(_APOSTROPHES.sub("", text[:_MAX_CHARS])):
        lower = word.casefold()
        folded = _fold(lower.translate(_SWEDISH_LETTERS_FOLDED))
        if _SWEDISH_LETTERS.intersection(lower):
            looks_like_a_name = word != lower and not word.isupper()
            swedish += folded in SWEDISH_WORDS or not looks_like_a_name
            continue
        swedish += folded in SWEDISH_WORDS
        english += folded in ENGLISH_WORDS
    if swedish > english:
        return "sv"
    if english > swedish:
        return "en"
    return None
