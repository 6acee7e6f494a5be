"""Word lists behind the instruction-shape rules: closed classes and a lexicon of imperative verbs.

Written from general English, not fitted to one dataset: the verbs an instruction starts with
(including their common misspellings would be fitting, so they are not here), greetings and small
talk, the function words that start a context clause, and names that keep their capital.
"""

from __future__ import annotations

WH_WORDS = frozenset({"what", "how", "why", "when", "where", "who", "whom", "whose", "which"})
AUX_WORDS = frozenset(
    """is are am was were do does did can could will would should shall may might must has have had
    isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't""".split()
)
# Words that start sentences and are never proper nouns: safe to lower-case even before a capital.
COMMON_WORDS = frozenset(
    """a an the this that these those given for in on at to of from with by if when while after before
    using based consider suppose assume imagine let here there your my our their its it you we they he
    she each every all some many any one two three four five few most list name give write create
    generate describe explain summarize summarise translate rewrite edit classify identify find make
    compose construct design develop provide suggest compare calculate determine convert analyze analyse
    tell show choose pick select sort arrange order rank categorize categorise evaluate outline produce
    brainstorm formulate predict propose recommend paraphrase reword correct fix complete fill insert
    add delete remove replace change transform turn take use build draft plan organize organise count
    solve compute simplify expand shorten combine split extract detect discuss illustrate research read
    output return print answer respond reply come think offer state define estimate cite note mention
    search look put keep set get do say ask check verify prove test decide assign match group label
    """.split()
)
# First words that start a context clause or a statement, never an imperative ("Given a list, ...").
NOT_VERBS = frozenset(
    """a an the this that these those given based using in for from on at as after before if when while with
    by to of you we i i'm he she they it my your our their here there one two three four five all some each
    every many any most no not user question questions classification dialogue science arithmetic text
    input instruction task example sentence data provided referring comparing""".split()
)
# Words that open a noun phrase: "A poem about ...", "Three tips for ...", "The best way to ...".
QUANTIFIERS = frozenset(
    """a an the some several many few one two three four five six seven eight nine ten eleven twelve
    fifteen twenty fifty hundred dozen any another these those this that each every""".split()
)
# Imperative verbs an instruction starts with. A first word outside this list is not read as a
# verb: "Please poem about the sea." is worse than offering fewer frames.
VERBS = frozenset(
    """abbreviate access accept act adapt add address adjust advise advocate align allocate alphabetize
    alter amend analyse analyze annotate answer anticipate apologize append apply appraise approximate
    argue arrange articulate ask assemble assess assign associate attach audit authenticate automate
    balance book brainstorm break briefly build calculate call capitalize caption carefully concisely categorise
    categorize change check choose cite clarify classify clean close cluster code collect colorize
    combine come comment compare compile complete compose compute conceptualize concentrate condense
    conduct configure conjugate connect consider construct contrast continue convert convince copy
    correct count craft create critique crop cross cut debate debug decide decipher declare decode
    decompose deduce define delete demonstrate denote derive describe design designate detail detect
    determine develop devise diagnose diagram differentiate direct disconnect discover discuss display
    distinguish divide document draft draw drop edit educate elaborate eliminate embody emphasize
    employ encode encourage end engage enhance enter enumerate escalate establish estimate evaluate
    examine exclude execute expand experiment explain explicate explore express extend extract fetch
    figure fill filter finalize find finish fit fix flag follow forecast form format formulate frame
    gather generate get give grade greet group guess help highlight hypothesize identify illustrate
    imagine implement improve include incorporate indicate infer inform insert interpret introduce
    invent investigate invite join judge justify keep label link list locate look make map mark match
    measure memorize mention merge modify motivate multiply name narrate navigate negate nominate
    normalize note notice number obtain offer organise organize outline output paraphrase parse pass
    perform persuade pick pinpoint place plan play point pose post predict prepare present pretend
    prioritize process produce program promote proofread propose prove provide publish put quantify
    query quote rank rate read rearrange reason rebuild recall recite recognize recommend reconstruct
    record recreate redesign reduce refactor refer reflect reformat reformulate reframe refute regroup
    relabel relate remind remove rename reorder reorganise reorganize repeat rephrase replace reply
    report represent request research reshape resolve respond restate restructure retell retrieve
    return reverse review revise rewrite rework rewrite roleplay round rule run say scan schedule score
    search select send separate sequence serve set share shorten show simplify simulate sing sketch
    solve sort speak specify spell split spot state store structure study suggest sum summarise
    summarize supply support swap synthesize tabulate tag take talk teach tell test think tidy title
    toggle trace track train transcribe transform translate transpose trim try turn tweak type underline
    unscramble update use validate verify visualize weigh write
    accomplish achieve allow announce approve assist avoid bake begin bring carry celebrate challenge
    clear collaborate confirm contact cook cover customise customize decorate deliver earn email enable
    fold forward grow guide handle hire host learn leave listen manage meet mix move open order pack paint
    personalise personalize plant practice practise print protect raise reach recycle register remember
    rent reserve resize reword save scale sign signify skip start stop substitute travel upload visit
    wait walk wash watch""".split()
)
# Verbs that are nouns before "of": "List of fruits", "Outline of a talk" name a thing.
NOUN_BEFORE_OF = frozenset(
    """list name design outline plan draft review sketch order report record process study summary map title
    form frame number store round train play set code group rule type""".split()
)
# Irregular past tenses: a head with one is a sentence ("The cat sat on the mat"), not a noun phrase.
PAST_VERBS = frozenset(
    """sat ran went came saw made took got gave told said found left felt became began knew thought
    brought bought wrote won lost fell grew drew ate drank flew sang swam rose stood sold sent spent
    built kept held met paid led heard meant broke chose drove forgot hid hit hurt rode rang shook shot
    shut slept spoke stole struck threw understood woke wore taught caught fought sought""".split()
)
# Greetings, thanks and small talk, as whole phrases between punctuation ("Hi, how are you?").
GREETINGS = frozenset(
    phrase.strip()
    for phrase in """hi|hello|hey|hiya|howdy|yo|heya|hey there|hi there|hello there|hello again|hi again|greetings|
    good morning|good afternoon|good evening|good night|good day|morning|evening|gm|
    thanks|thank you|thank you so much|thanks so much|thanks a lot|thank you very much|many thanks|
    thanks again|thank you again|thx|ty|cheers|much appreciated|appreciate it|
    bye|goodbye|good bye|bye bye|see you|see you later|see you soon|see ya|take care|
    have a nice day|have a good day|have a great day|nice to meet you|pleased to meet you|
    nice meeting you|how are you|how are you doing|how are you today|how are you doing today|
    how's it going|how is it going|how do you do|what's up|whats up|sup|how have you been|
    how's your day|how is your day|how's your day going|how is your day going|
    ok|okay|cool|great|awesome|nice|sure|yes|no|yeah|nope|sorry|hmm|lol|you're welcome|no problem|
    welcome|good job|well done|great job|got it|i see|never mind|nevermind""".split("|")
)
# Capitalised words that are names wherever they stand (kept even at the start).
PROPER_WORDS = frozenset(
    """python java javascript typescript kotlin scala haskell perl ruby rust php matlab fortran cobol
    linux unix windows android excel word powerpoint google microsoft amazon apple facebook twitter
    netflix tesla wikipedia bitcoin ethereum english french spanish german italian chinese japanese
    russian arabic portuguese korean hindi latin greek dutch swedish american british european african
    asian canadian australian indian mexican brazilian monday tuesday wednesday thursday friday saturday
    sunday january february april june july august september october november december christmas easter
    halloween thanksgiving america europe asia africa antarctica australia china india japan france
    germany italy spain canada mexico brazil russia england scotland ireland london paris tokyo berlin
    rome madrid beijing moscow shakespeare einstein newton darwin lincoln napoleon obama gandhi jesus god
    earth mars jupiter venus saturn mercury neptune uranus pluto""".split()
)
