"""The parse skip's pre-check: whether a query's text cannot hold what the parse guards against.

rdflib's parse (:mod:`coprod_kg.sparql.safety`) costs milliseconds, far more than a light
query, so the embedded back end skips it for a text in which none of :data:`GUARDED_WORDS` can
be a keyword, judged from its characters alone. A test of absent words, never a reading of
what the query means; it errs one way only (a false answer only means the parse runs). The
argument is in ``docs/security.md``; the corpus in ``tests/test_parse_skip.py``.
"""

from __future__ import annotations

import re

#: Words whose absence (in any case, anywhere in the text) lets the parse be skipped: a query
#: without them has no ``SERVICE``, no ``FROM``/``FROM NAMED``, no ``GRAPH`` pattern, no ``LOAD``.
GUARDED_WORDS = ("SERVICE", "FROM", "GRAPH", "LOAD")
#: An IRI written out in full, the grammar's IRIREF: ``<``, then none of ``<>"{}|^`\`` nor
#: any character up to the space, then ``>``. A guarded word in one is part of a name: a
#: keyword there would have to follow a ``<`` that is a less-than sign and come before a
#: ``>``, inside an expression, where none of them can stand; and the span holds no space,
#: brace or quote, so it cannot reach a keyword's pattern.
IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
#: A run of the characters a prefixed name is made of, as :func:`parse_can_be_skipped` reads
#: them (upper-cased, ASCII only: a dot, a hyphen or any other character ends a run).
NAME_RUN = re.compile(r"[A-Z0-9_:]+")
#: A guarded word that no colon precedes within its :data:`NAME_RUN`: the run starts where the
#: character before is not a run character (or at the text's start), and only letters, digits
#: and ``_`` come between that start and the word (see :func:`_keyword_possible`).
_KEYWORD = re.compile(rf"(?<![A-Z0-9_:])[A-Z0-9_]*(?:{'|'.join(GUARDED_WORDS)})")
#: Longer texts are parsed: past this the parse's deadline gives its "too complex" refusal.
PLAIN_MAX_CHARS = 8192
#: Texts with more opening brackets than this are parsed (the parse refuses deep nesting
#: clearly; the engine's parser slows down steeply with nested ``[`` and ``(``).
PLAIN_MAX_BRACKETS = 64


def parse_can_be_skipped(query: str) -> bool:
    """Whether ``query`` cannot contain what the parse guards against, judged from its
    characters alone: none of :data:`GUARDED_WORDS` in any case anywhere outside the
    comments that open the text (:func:`_after_leading_comments`), the IRIs written out in
    full (:data:`IRIREF`) and the local parts of prefixed names (:func:`_keyword_possible`;
    strings and other comments included), no backslash
    (``\\u0053ERVICE`` spells SERVICE once the grammar's escapes are applied), at most
    :data:`PLAIN_MAX_CHARS` characters and :data:`PLAIN_MAX_BRACKETS` opening brackets.
    Conservative: a false answer only means the full parse runs.

    >>> parse_can_be_skipped("DESCRIBE <http://x/a>"), parse_can_be_skipped("ASK { graph ?g {} }")
    (True, False)
    >>> parse_can_be_skipped("SELECT * { ?s <http://x/LoadFactor> ?o }")
    True
    >>> parse_can_be_skipped("SELECT*{<http://x/a>SERVICE<http://x/b>{}}")
    False
    >>> parse_can_be_skipped("PREFIX x: <http://x/> SELECT * { ?s x:LoadFactor ?o }")
    True
    >>> parse_can_be_skipped("PREFIX load: <http://x/> SELECT * { ?s load:x ?o }")
    False
    >>> parse_can_be_skipped("# Which services?\\nASK { ?s ?p ?o }")
    True
    >>> parse_can_be_skipped("ASK { ?s ?p ?o } # Which services?")
    False
    """
    if len(query) > PLAIN_MAX_CHARS or "\\" in query:
        return False
    if query.count("(") + query.count("{") + query.count("[") > PLAIN_MAX_BRACKETS:
        return False
    if query.isascii() and not _holds_guarded_word(query.upper()):
        # the common case, decided at once: each guarded word the steps below could find in
        # the text they make is in the text as given (its upper-casing is ASCII's, letter by
        # letter; the IRIs they blank become "<>", which is in no word)
        return True
    outside = IRIREF.sub("<>", _after_leading_comments(query))
    # str.upper, as pyparsing compares keywords: it also maps U+017F (long s) to S and U+0131
    # (dotless i) to I
    if _keyword_possible(outside.upper()):
        return False
    # and what case folding makes ASCII (e.g. the Kelvin sign); an ASCII text folds to itself
    return outside.isascii() or not _keyword_possible(outside.casefold().upper())


#: The white space (the grammar's ``WS``: not str.isspace, which takes more characters) and
#: comments at the start of a text, each comment up to its ``EOL`` (CR or LF) or the text's
#: end; it matches at the start of every text (perhaps nothing).
_LEADING_COMMENTS = re.compile(r"(?:[ \t\r\n]+|\#[^\r\n]*)*")


def _after_leading_comments(query: str) -> str:
    """``query`` from its first character that is neither white space nor in a comment.

    Nothing can be open at the start of a text (no string, IRI or bracket), so a ``#`` there,
    or after white space and such comments only, starts a comment that runs to the next
    ``EOL`` (CR or LF), exactly as the grammar reads it; the header comments of saved queries
    (``# Cases by service field``) then do not force the parse. A comment anywhere else still
    counts: telling it from a ``#`` in a string would need a lexer.

    >>> _after_leading_comments(" # Which services?\\r\\n\\t# and graphs\\nASK {} # pass 2")
    'ASK {} # pass 2'
    >>> _after_leading_comments("# a comment that the text ends in")
    ''
    """
    skipped = _LEADING_COMMENTS.match(query)
    assert skipped is not None  # it matches every text
    return query[skipped.end():]


def _keyword_possible(text: str) -> bool:
    """Whether a guarded word in ``text`` (upper-cased, IRIs blanked) could be read as a
    keyword: every occurrence counts but one that follows a colon within its run of letters,
    digits, ``_`` and ``:`` (:data:`NAME_RUN`), which is in the local part of a prefixed name
    (``cp:serviceField``, ``x:a:graph``). The engine reads a prefixed name whole, so nothing
    after its colon starts a keyword: ``:SERVICE <…> {}`` is a syntax error, not a service.
    Letters or digits alone before a word do not make it a name: the engine reads
    ``trueSERVICE`` as ``true`` and the keyword, and ``1SERVICE`` as ``1`` and the keyword;
    nor does a word before a colon (``SERVICE:x {}`` is the keyword and the name ``:x``).

    One search of :data:`_KEYWORD` decides it: an occurrence counts exactly when the run
    holding it has no colon before it, that is, when only letters, digits and ``_`` lie
    between the run's start and the word (a guarded word is all letters, so it lies inside
    one run).

    >>> [_keyword_possible(t) for t in ("CP:SERVICEFIELD", "X:A:GRAPH", "TRUESERVICE", "LOAD:X")]
    [False, False, True, True]
    >>> [_keyword_possible(t) for t in ("X:A.SERVICE", "<>SERVICE<>", "X:LOADGRAPH", "SERVIC E")]
    [True, True, False, False]
    """
    return _holds_guarded_word(text) and _KEYWORD.search(text) is not None


def _holds_guarded_word(text: str) -> bool:
    """Whether any of :data:`GUARDED_WORDS` occurs in ``text`` as it is: four substring
    searches, many times cheaper than one search of a regular expression (or of a generator)."""
    return _SERVICE in text or _FROM in text or _GRAPH in text or _LOAD in text


_SERVICE, _FROM, _GRAPH, _LOAD = GUARDED_WORDS  # fails at import if a word is added
