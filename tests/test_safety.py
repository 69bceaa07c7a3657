"""The emergency safety net: what must get "Ring 112", and look-alikes that must not.

A missed emergency is the worst bug the product can have, so the first table is the one
to grow whenever a phrasing slips through; the second keeps false alarms on ordinary
tips and questions in check.
"""

from __future__ import annotations

import pytest

from bot import safety
from bot.safety import CATEGORIES, EmergencyMatch, detect_emergency, load_net, normalize

# (behaviour id, message, expected category)
EMERGENCIES: list[tuple[str, str, str]] = [
    # --- Swedish: violence
    ("sv-someone-is-hitting-me", "Någon slår mig", "violence"),
    ("sv-hitting-me-without-diacritics", "nagon slar mig", "violence"),
    ("sv-hitting-me-in-caps-with-emoji", "HJÄLP!!! NÅGON SLÅR MIG 😱😱", "violence"),
    ("sv-help-typo-then-hitting", "hjalp nagon slar mig", "violence"),
    ("sv-hit-mum-a-moment-ago", "min pappa slog mamma nyss", "violence"),
    ("sv-being-abused-by-partner", "Jag blir misshandlad av min sambo", "violence"),
    ("sv-abusing-mum-right-now", "Han misshandlar min mamma just nu", "violence"),
    ("sv-friend-is-stabbed", "min kompis är knivhuggen", "violence"),
    ("sv-stabbed-with-typo", "min bror blev knivhugen utanför krogen", "violence"),
    ("sv-someone-stabbed-brother-just-now", "någon knivhögg min bror precis", "violence"),
    ("sv-they-are-shooting-outside", "de skjuter utanför mitt fönster", "violence"),
    ("sv-shooting-on-the-square-now", "Det är skottlossning på torget just nu", "violence"),
    ("sv-hearing-shots", "jag hör skott", "violence"),
    (
        "sv-neighbour-beats-wife-now-inside-tip",
        "Jag vill tipsa om att min granne slår sin fru just nu",
        "violence",
    ),
    # --- Swedish: ongoing crime
    ("sv-someone-breaking-into-my-house", "Någon bryter sig in i mitt hus", "crime_now"),
    ("sv-burglary-at-the-neighbours", "det är inbrott hos grannen", "crime_now"),
    ("sv-burglary-ongoing-with-typo", "inbrot pågår i källaren", "crime_now"),
    ("sv-burglary-ongoing-shouted", "INBROTT PÅGÅR!!!", "crime_now"),
    ("sv-someone-trying-to-get-in", "någon försöker ta sig in genom fönstret", "crime_now"),
    (
        "sv-man-in-garden-trying-to-get-in",
        "det står en man i min trädgård och försöker komma in",
        "crime_now",
    ),
    ("sv-being-robbed-now", "Vi blir rånade just nu", "crime_now"),
    ("sv-robbery-ongoing-at-shop", "rån pågår på ICA", "crime_now"),
    (
        "sv-break-in-mentioned-in-the-middle-of-a-tip",
        "Jag ville egentligen tipsa om en bil som står parkerad konstigt, men just nu bryter sig "
        "någon in hos grannen",
        "crime_now",
    ),
    # --- Swedish: danger and threats
    ("sv-he-threatens-me", "han hotar mig", "danger"),
    ("sv-threatens-to-kill-me", "han hotar att döda mig", "danger"),
    ("sv-someone-is-following-me", "någon förföljer mig", "danger"),
    ("sv-afraid-he-kills-me", "jag är rädd att han dödar mig", "danger"),
    (
        "sv-ex-at-the-door-will-take-my-life",
        "Mitt ex står utanför dörren och säger att han ska ta livet av mig",
        "danger",
    ),
    ("sv-he-has-a-knife", "han har en kniv", "danger"),
    ("sv-send-police-he-has-a-weapon", "Skicka polis! Han har ett vapen", "danger"),
    ("sv-i-am-in-danger", "jag är i fara", "danger"),
    ("sv-locked-in-by-husband", "Min man har låst in mig", "danger"),
    (
        "sv-hearing-shots-while-giving-a-tip",
        "Hej, jag har ett tips om klotter men nu hör jag skott utanför",
        "violence",
    ),
    # --- Swedish: medical
    ("sv-dad-not-breathing", "min pappa andas inte", "medical"),
    ("sv-heart-attack", "Pappa har fått en hjärtattack", "medical"),
    ("sv-heart-attack-single-word", "hjärtattack", "medical"),
    ("sv-unconscious-on-the-floor", "hon ligger medvetslös på golvet", "medical"),
    ("sv-unconscious-single-word", "medvetslös", "medical"),
    ("sv-friend-took-an-overdose", "min kompis har tagit en överdos", "medical"),
    ("sv-bleeding-a-lot", "han blöder jättemycket från huvudet", "medical"),
    ("sv-fainted-and-does-not-wake", "mormor har svimmat och vaknar inte", "medical"),
    ("sv-what-do-i-do-dad-not-breathing", "vad gör jag, min pappa andas inte!!", "medical"),
    # --- Swedish: self-harm
    ("sv-want-to-take-my-life", "jag vill ta livet av mig", "self_harm"),
    ("sv-do-not-want-to-live", "Jag vill inte leva längre", "self_harm"),
    ("sv-do-not-want-to-live-fragment", "vill inte leva", "self_harm"),
    ("sv-cannot-bear-to-live", "jag orkar inte leva", "self_harm"),
    ("sv-daughter-talks-of-suicide", "min dotter pratar om att ta livet av sig", "self_harm"),
    ("sv-suicidal-thoughts", "jag har självmordstankar", "self_harm"),
    # --- Swedish: fire
    ("sv-fire-in-the-stairwell", "det brinner i trapphuset", "fire"),
    ("sv-house-is-burning-caps", "HUSET BRINNER", "fire"),
    ("sv-smell-of-smoke-and-alarm", "Det luktar rök och brandlarmet tjuter", "fire"),
    ("sv-car-caught-fire", "bilen har fattat eld", "fire"),
    # --- English
    ("en-someone-breaking-into-my-house", "someone is breaking into my house", "crime_now"),
    ("en-he-is-hitting-me", "he's hitting me", "violence"),
    ("en-beating-mum-caps", "HE IS BEATING MY MOM!!!", "violence"),
    ("en-being-followed", "I am being followed", "danger"),
    ("en-fire-in-the-kitchen", "there's a fire in the kitchen", "fire"),
    ("en-theres-a-fire", "there's a fire", "fire"),
    ("en-friend-unconscious", "my friend is unconscious", "medical"),
    ("en-help-he-has-a-knife", "help me he has a knife", "danger"),
    ("en-dad-not-breathing", "my dad is not breathing", "medical"),
    ("en-heart-attack", "I think she's having a heart attack", "medical"),
    ("en-overdose-single-word", "overdose", "medical"),
    ("en-want-to-kill-myself", "I want to kill myself", "self_harm"),
    ("en-do-not-want-to-live", "i dont want to live anymore", "self_harm"),
    ("en-brother-took-overdose", "my brother took an overdose", "medical"),
    ("en-just-got-stabbed", "someone just got stabbed outside the bar", "violence"),
    ("en-gunshots-right-now", "I can hear gunshots right now", "violence"),
    ("en-someone-in-my-house", "there is someone in my house", "crime_now"),
    ("en-car-on-fire", "my car is on fire", "fire"),
    ("en-he-will-kill-me", "he says he is going to kill me", "danger"),
    ("en-scared-he-will-hurt-me", "I'm scared he will hurt me", "danger"),
    ("en-being-robbed", "we are being robbed", "crime_now"),
    (
        "en-attack-mentioned-in-the-middle-of-a-tip",
        "I wanted to report some graffiti but a man is attacking a woman right now",
        "violence",
    ),
    ("en-elongated-please-help-me", "pleeease help me", "danger"),
    ("en-smoke-from-next-door", "smoke is coming from the apartment next door", "fire"),
    ("en-baby-choking", "my baby is choking", "medical"),
    ("en-bleeding-a-lot", "he's bleeding a lot", "medical"),
    ("en-break-in-just-happened", "A break-in just happened next door!!", "crime_now"),
]

# (behaviour id, message)
NOT_EMERGENCIES: list[tuple[str, str]] = [
    # --- tips and reports about the past
    ("sv-tip-about-last-months-burglary", "jag vill tipsa om ett inbrott förra månaden"),
    ("sv-basement-burglary-last-week-tip", "inbrott förra veckan i källaren, vill tipsa"),
    ("sv-burglary-last-year-in-storage", "Det var ett inbrott i vårt förråd i fjol"),
    (
        "sv-assaulted-last-year-asks-about-case",
        "Jag blev misshandlad förra året och vill veta hur det går med utredningen",
    ),
    ("sv-saw-robbery-last-week-wants-to-witness", "Jag såg ett rån förra veckan och vill vittna"),
    (
        "sv-threatened-two-weeks-ago-report",
        "Jag har blivit hotad på nätet för två veckor sedan och vill anmäla det",
    ),
    (
        "sv-assault-last-summer-how-to-report",
        "Hej, hur anmäler jag en misshandel som hände i somras?",
    ),
    (
        "sv-asks-if-investigation-is-ongoing",
        "Jag anmälde ett inbrott förra året, pågår utredningen fortfarande?",
    ),
    ("sv-tip-about-arson-last-year", "Jag har ett tips om en brand som anlades i fjol"),
    (
        "sv-tip-about-recurring-car-break-ins",
        "Jag vill tipsa om att någon bryter sig in i bilar på nätterna",
    ),
    ("sv-something-long-ago", "Jag vill berätta om en händelse för länge sedan"),
    (
        "sv-shooting-last-week-what-do-police-do",
        "Vad gör polisen åt skottlossningen i Rinkeby förra veckan?",
    ),
    ("en-bike-stolen-last-week", "someone stole my bike last week"),
    ("en-robbed-two-years-ago", "I was robbed two years ago, can I still report it?"),
    ("en-car-broken-into-last-night", "someone broke into my car last night, how do I report it?"),
    ("en-neighbour-burgled-last-month", "My neighbour's house was burgled last month"),
    (
        "en-fight-last-weekend-report",
        "There was a fight outside the pub last weekend, I want to report it",
    ),
    ("en-wallet-stolen-yesterday", "My wallet was stolen yesterday"),
    # --- tips about things that are not emergencies
    ("sv-tip-neighbour-has-weapons-at-home", "Jag vill tipsa om att grannen har vapen hemma"),
    ("sv-report-stolen-bike", "Jag vill anmäla att någon har stulit min cykel"),
    ("sv-tip-about-drug-dealing", "Jag vill tipsa om narkotikaförsäljning på skolgården"),
    ("sv-car-vandalised", "Min bil blev vandaliserad i helgen"),
    ("en-anonymous-tip-drugs", "I'd like to give an anonymous tip about drug dealing"),
    ("en-tip-off-nightly-dealer", "I want to tip you off about a man selling drugs every night"),
    # --- how to report, questions about numbers
    ("sv-how-to-report-theft", "hur anmäler jag en stöld?"),
    ("sv-how-to-file-police-report", "Hur gör jag en polisanmälan?"),
    ("sv-what-is-112", "vad är 112?"),
    ("sv-when-to-call-112", "när ska man ringa 112"),
    ("sv-what-is-114-14", "Vad är 114 14 för nummer?"),
    (
        "sv-112-or-114-14-for-stolen-bike",
        "Ska jag ringa 112 eller 114 14 om min cykel blivit stulen?",
    ),
    ("sv-general-question-threats-online", "vad gör man om någon blir hotad på nätet?"),
    ("sv-general-question-about-fire", "Vad ska man göra om det brinner?"),
    ("sv-general-question-about-fraud", "Hur gör man om man har blivit utsatt för bedrägeri?"),
    ("sv-penalty-for-assault", "Vad är straffet för misshandel?"),
    ("sv-burglary-statistics", "Hur många inbrott sker i Sverige varje år?"),
    ("sv-now-as-opening-word", "Nu har jag en fråga om inbrott"),
    ("en-when-to-call-112", "When should I call 112?"),
    ("en-what-is-112", "What is 112?"),
    ("en-how-to-report-crime", "How do I report a crime?"),
    ("en-how-to-call-the-police", "How do I call the police?"),
    ("en-police-number", "What's the number to the police?"),
    ("en-report-stolen-phone-online", "Can I report a stolen phone online?"),
    ("en-is-carrying-a-knife-illegal", "Is it illegal to carry a knife?"),
    ("en-burglary-statistics", "Where can I find statistics about burglaries?"),
    ("en-now-as-opening-word", "Now I have a question about robbery"),
    # --- medborgarlöfte
    ("sv-what-is-medborgarlofte", "Vad innebär medborgarlöftet i Malmö?"),
    ("sv-medborgarlofte-progress", "Hur går det med medborgarlöftet om trygghet i centrum?"),
    (
        "sv-medborgarlofte-about-burglaries",
        "Medborgarlöftet handlar om att minska inbrotten i området",
    ),
    ("sv-passionate-about-safety", "Jag brinner för trygghetsfrågor i mitt område"),
    (
        "sv-police-work-against-shootings",
        "Jag vill veta mer om hur polisen arbetar mot skjutningar",
    ),
    # --- talking to a person, greetings, small talk, service questions
    ("en-talk-to-a-person", "I want to talk to a person"),
    ("sv-talk-to-a-human", "Jag vill prata med en människa"),
    ("sv-greeting", "Hej"),
    ("en-greeting", "Hello!"),
    ("sv-good-morning", "God morgon, hur mår du?"),
    ("sv-thanks", "Tack för hjälpen!"),
    ("sv-thats-all", "Tack, det var allt!"),
    ("sv-ok", "ok"),
    ("sv-can-you-help-me-report", "Kan du hjälpa mig att göra en anmälan?"),
    ("en-need-help-with-application", "I need help with my application"),
    ("sv-passport-time", "Hur lång tid tar det att få pass?"),
    ("sv-nearest-station", "Var ligger närmaste polisstation?"),
    ("sv-opening-hours", "Vilka öppettider har passexpeditionen?"),
    ("sv-forgot-password", "Jag har glömt mitt lösenord"),
    ("sv-send-me-the-form", "Kan ni skicka mig blanketten?"),
    ("sv-call-me-tomorrow", "Kan ni ringa mig imorgon?"),
    ("en-become-police-officer", "Hi, I'd like to know how to become a police officer"),
    # --- words that only look like triggers
    ("sv-it-strikes-me-idiom", "Det slår mig att polisen aldrig syns här"),
    ("sv-meeting-postponed", "Mötet skjuts upp till nästa vecka"),
    ("sv-asking-for-a-ride", "Kan jag få skjuts till stationen?"),
    ("sv-weapon-licence-question", "Jag har en fråga om vapenlicens"),
    ("en-gun-licence-question", "I have a gun license question"),
]


@pytest.mark.parametrize(
    ("text", "category"),
    [pytest.param(text, category, id=case_id) for case_id, text, category in EMERGENCIES],
)
def test_emergency_is_detected(text: str, category: str) -> None:
    match = detect_emergency(text)
    assert match is not None, f"missed emergency: {text!r}"
    assert match.category == category, f"{text!r} matched {match}"


@pytest.mark.parametrize(
    "text", [pytest.param(text, id=case_id) for case_id, text in NOT_EMERGENCIES]
)
def test_ordinary_message_is_not_an_emergency(text: str) -> None:
    assert detect_emergency(text) is None


def test_tables_are_big_enough_and_ids_unique() -> None:
    assert len(EMERGENCIES) >= 60
    assert len(NOT_EMERGENCIES) >= 60
    ids = [case[0] for case in EMERGENCIES] + [case[0] for case in NOT_EMERGENCIES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "text",
    [case[1] for case in EMERGENCIES] + [case[1] for case in NOT_EMERGENCIES],
)
def test_word_index_never_drops_a_rule(text: str) -> None:
    """The fast path must decide exactly as trying every rule would."""
    net = load_net()
    examined = net.prepare(text)
    assert net.assess(text) == net.evaluate(examined, net.rules)


def test_every_rule_is_reachable_through_the_word_index() -> None:
    assert load_net().always_tried == ()


def test_match_says_why_without_repeating_the_user_text() -> None:
    text = "Någon slår mig"
    match = detect_emergency(text)
    assert isinstance(match, EmergencyMatch)
    assert match.category in CATEGORIES
    assert normalize(text) not in match.rule
    assert "mig" not in match.rule


def test_rule_names_are_unique_and_categories_known() -> None:
    rules = load_net().rules
    names = [rule.name for rule in rules]
    assert len(names) == len(set(names))
    assert {rule.category for rule in rules} == set(CATEGORIES)


# --- robustness -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t  ", id="whitespace-only"),
        pytest.param("!!! ??? ...", id="punctuation-only"),
        pytest.param("😀🙏🔥👮", id="emoji-only"),
        pytest.param("\x00\x01\x02\x1b[31m\x7f", id="control-characters"),
        pytest.param("\ud800\udfff lone surrogates", id="lone-surrogates"),
        pytest.param(bytes(range(256)).decode("latin-1"), id="binary-junk"),
        pytest.param("a" * 20_000, id="20000-same-letter"),
        pytest.param("jag vill tipsa om något " * 1000, id="20000-chars-of-words"),
        pytest.param("\u202e\u200b\ufeff\u00a0", id="invisible-unicode"),
    ],
)
def test_junk_input_does_not_raise(text: str) -> None:
    assert detect_emergency(text) is None
    assert isinstance(normalize(text), str)


def test_none_input_is_tolerated() -> None:
    assert detect_emergency(None) is None  # type: ignore[arg-type]
    assert normalize(None) == ""  # type: ignore[arg-type]


def test_emergency_at_the_start_of_a_huge_message_is_found() -> None:
    assert detect_emergency("någon slår mig " + "x" * 20_000) is not None


def test_emergency_after_junk_control_characters_is_found() -> None:
    assert detect_emergency("\x00\x00nå\x07gon sl\u00e5r mig\x00") is not None


def test_examined_text_is_bounded() -> None:
    """Beyond the cap nothing is examined: bounds the time spent on a single message."""
    assert len(load_net().prepare("ord " * 10_000)) <= safety._MAX_EXAMINED_CHARS


# --- normalize ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Åsa ÄR på Öland", "asa ar pa oland", id="swedish-letters"),
        pytest.param("Émile Über naïve crème", "emile uber naive creme", id="other-diacritics"),
        pytest.param("Søren Ærø Straße", "soren aero strasse", id="letters-without-decomposition"),
        pytest.param("Någon SLÅR mig!!! 😱", "nagon slar mig", id="punctuation-and-emoji"),
        pytest.param("  hej\t\n  då  ", "hej da", id="whitespace-collapsed"),
        pytest.param("he's here, don’t go", "hes here dont go", id="apostrophes-deleted"),
        pytest.param("ring １１２", "ring 112", id="fullwidth-digits"),
        pytest.param("114 14", "114 14", id="digits-kept"),
    ],
)
def test_normalize_folds_text(text: str, expected: str) -> None:
    assert normalize(text) == expected
