"""Light queries: texts whose evaluation is a single index scan, safe to run in the web process.

Every other query runs in a sandboxed worker process that can be killed
(:mod:`coprod_kg.storage.embedded.query_worker`); the hop there and back costs several times
what the engine spends on a lookup such as ``SELECT ?p ?o WHERE { <r> ?p ?o }``. A text that
:func:`is_light` accepts may instead run in the web process
(:mod:`coprod_kg.storage.embedded.inline`), under caps on its answer's size.

:func:`is_light` is a recogniser, not a parser: it reads the text as a sequence of a few kinds
of token and accepts only these shapes (keywords in any case, ``a`` in lower case only)::

    (PREFIX pfx: <iri> | BASE <iri>)*
    ( SELECT ( * | ?var+ ) [WHERE] { t t t [.] } [LIMIT n]
    | ASK [WHERE] { t t t [.] }
    | DESCRIBE t )           -- an IRI or a prefixed name

where each ``t`` is an IRI written out, a prefixed name of a declared prefix, a variable, or
``a`` as the predicate; no variable appears twice in the pattern, and ``SELECT`` names only
variables of the pattern (another is unbound in every row: rows of next to no bytes, which the
caller's cap on bytes would take long to reach). Anything else, including a token it cannot
read, is refused; the engine then parses the text in a worker as before. The token rules are
subsets of the grammar's (ASCII names without dots or escapes), and a token the engine would
read longer than this recogniser does leaves a remainder no rule accepts, so a text accepted
here has the same structure for the engine: one triple pattern, nothing else. Some spellings
are read two ways by parsers (rdflib takes the ``?`` of ``<p>?o`` as a path's modifier, and
``SELECT$s`` as one word), so a variable written right after an IRI, a prefixed name, ``a`` or
a keyword is refused; so is a prefixed name written right after a term (the engine reads
``:s:o`` as one name), and one whose prefix the prologue does not declare (the engine reads
``a:b``, with ``a:`` undeclared, as ``a`` and ``:b``). The common lookups first meet one
regular expression (:data:`_COMMON`, far cheaper than the token loop): it answers yes only
where the recogniser would, and leaves every other text to it.

Why such a query is bounded: the engine walks one index range, and every quad it meets there
is a solution (or a described triple), since nothing filters it: the union default graph does
not drop a triple that several graphs hold (each copy is an answer), and the public snapshot's
own default graph is empty. ``DESCRIBE`` also follows the blank nodes among the objects it
produced. A repeated variable (``?s ?p ?s``) would make the engine filter the scan, possibly
all of it, with nothing produced, so it is refused, as are ``DISTINCT``, ``OFFSET``,
``FILTER``, paths, groups and anything else that can consume without producing. The caller
caps what is produced, so it caps the work.
"""

from __future__ import annotations

import re

#: One token, tried in this order at the current position (``re`` takes the first
#: alternative that matches, so a prefixed name is tried before a bare word).
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+|\#[^\r\n]*)
      | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
      | (?P<var>[?$][A-Za-z0-9_]+)
      | (?P<pname>(?:[A-Za-z][A-Za-z0-9_-]*)?:(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?)
      | (?P<word>[A-Za-z][A-Za-z0-9_]*)
      | (?P<int>[0-9]+)
      | (?P<punct>[{}.*])
    """,
    re.VERBOSE,
)
#: Longer texts are not light (a lookup is short; this bounds the recogniser's own work).
MAX_CHARS = 2048

#: Pieces of the token rules: white space (no comment), an IRI, a variable's name.
_SP, _IRI, _NAME = r"[ \t\r\n]", r'<[^<>"{}|^`\\\x00-\x20]*+>', r"[A-Za-z0-9_]++"
#: The common lookups in one piece, read by :func:`_common_is_light` (the token rules' own
#: ``iri`` and ``var``; keywords in ASCII's cases only: ``re.ASCII`` keeps ``(?i:)`` from
#: taking the Kelvin sign for ``K`` or U+017F for ``S``, which no token rule reads). No
#: prologue and no prefixed name; white space wherever a token ends in a name character and
#: the next one starts with one, and at least one space between the terms, so that each piece
#: is one token to :func:`_tokens` and no variable follows another token unspaced but ``{``.
#: The groups ``s``, ``p``, ``o`` hold the names of the pattern's variables (without ``?``).
#: Repeats are possessive (``*+``, ``++``): each takes a whole token or a whole gap, so giving
#: characters back could never lead to a match, and a text that fails fails soon.
_COMMON = re.compile(
    rf"""{_SP}*+
    (?: (?i:DESCRIBE){_SP}++{_IRI}
      | (?: (?i:ASK) | (?i:SELECT){_SP}++(?P<projected>\*|[?$]{_NAME}(?:{_SP}++[?$]{_NAME})*) )
        (?:{_SP}++(?i:WHERE))? {_SP}*+\{{{_SP}*+
        (?:{_IRI}|[?$](?P<s>{_NAME})) {_SP}++ (?:{_IRI}|a|[?$](?P<p>{_NAME})) {_SP}++
        (?:{_IRI}|[?$](?P<o>{_NAME})) {_SP}*+(?:\.{_SP}*+)?}}
        (?P<limit>{_SP}++(?i:LIMIT){_SP}++[0-9]+)?
    ){_SP}*+""",
    re.VERBOSE | re.ASCII,
)

Token = tuple[str, str]  # (kind, text); a word's text upper-cased, but ``a`` kept apart


def _tokens(query: str) -> list[Token] | None:
    """The text's tokens, white space and comments dropped; ``None`` at a character no rule
    reads."""
    tokens: list[Token] = []
    at = 0
    glued = False  # the last token ends where this one starts
    while at < len(query):
        match = _TOKEN.match(query, at)
        if match is None:
            return None
        kind = match.lastgroup
        assert kind is not None
        text = match.group()
        at = match.end()
        if kind == "ws":
            glued = False
            continue
        if kind == "word":
            kind, text = ("a", "a") if text == "a" else ("word", text.upper())
        if glued and kind == "var" and tokens[-1][0] in ("iri", "pname", "a", "word"):
            return None  # ``<p>?o``, ``SELECT$s``: read two ways by parsers
        if glued and kind == "pname" and tokens[-1][0] in ("iri", "pname", "var", "a"):
            return None  # ``:s:o`` is one name to the engine (a colon may follow one)
        tokens.append((kind, text))
        glued = True
    return tokens


def is_light(query: str) -> bool:
    """Whether ``query`` is one of the light shapes of this module's docstring.

    >>> is_light("SELECT ?p ?o WHERE { <http://x/r> ?p ?o }")
    True
    >>> is_light("PREFIX x: <http://x/> ask { x:r a ?c . } # pass 2")
    True
    >>> is_light("DESCRIBE <http://x/r>")
    True
    >>> is_light("SELECT ?s { ?s ?p ?s }")  # the engine would filter the whole scan
    False
    >>> is_light("SELECT DISTINCT ?p { ?s ?p ?o }")
    False
    >>> is_light("SELECT * { <http://x/r> <http://x/p>* ?o }")
    False
    """
    if len(query) > MAX_CHARS:
        return False
    common = _COMMON.fullmatch(query)
    if common is not None and _common_is_light(common):
        return True
    return _recognised(query)


def _common_is_light(common: re.Match[str]) -> bool:
    """Whether a text :data:`_COMMON` matched whole is light: a shortcut that answers
    ``True`` only where :func:`_recognised` does (and leaves it the rest).

    Such a text is, to :func:`_tokens`, the pieces of the expression, white space between
    (an IRI ends at its first ``>``, a variable or a word before white space, ``{``, ``}``
    or ``.``, and a word read there is no prefixed name, as no colon follows it), no
    variable glued to an IRI, ``a`` or a word: the shape ``DESCRIBE <iri>`` or ``SELECT``/
    ``ASK`` over one pattern of IRIs, variables and ``a`` (the predicate only), no prologue.
    What :func:`_recognised` checks beyond that shape is checked here alike: no variable
    twice in the pattern, ``SELECT`` naming none outside it, and ``LIMIT`` after ``SELECT``
    only.
    """
    projected, s, p, o, limit = common.groups()  # in the order of the expression
    if (s is not None and s in (p, o)) or (p is not None and p == o):
        return False  # a repeated variable (``DESCRIBE <iri>`` has none)
    if projected is None:  # ASK or DESCRIBE
        return limit is None
    if projected != "*":
        for var in projected.split():
            if var[1:] not in (s, p, o):  # a variable outside the pattern: empty rows
                return False
    return True


def _recognised(query: str) -> bool:
    """Whether ``query``, short enough, is one of the light shapes: the recogniser in full."""
    tokens = _tokens(query)
    if tokens is None:
        return False
    at, declared = _prologue(tokens)
    if at >= len(tokens) or tokens[at][0] != "word":
        return False
    form = tokens[at][1]
    if form == "DESCRIBE":
        return len(tokens) == at + 2 and _term(tokens[at + 1], declared, ("iri", "pname"))
    projected: set[str] = set()
    if form == "SELECT":
        at, projected = _projection(tokens, at + 1)
    elif form == "ASK":
        at += 1
    else:
        return False
    if at < 0:
        return False
    if tokens[at:at + 1] == [("word", "WHERE")]:
        at += 1
    at, names = _group(tokens, at, declared)
    if at < 0 or not projected <= names:  # a variable outside the pattern: empty rows
        return False
    if form == "SELECT" and tokens[at:at + 1] == [("word", "LIMIT")] and (
            tokens[at + 1:at + 2] and tokens[at + 1][0] == "int"):
        at += 2
    return at == len(tokens)


def _prologue(tokens: list[Token]) -> tuple[int, set[str]]:
    """The position after the ``PREFIX`` and ``BASE`` declarations at the start, and the
    prefixes declared (``x:``)."""
    at = 0
    declared: set[str] = set()
    while True:
        if tokens[at:at + 1] == [("word", "BASE")] and tokens[at + 1:at + 2] and (
                tokens[at + 1][0] == "iri"):
            at += 2
        elif (tokens[at:at + 1] == [("word", "PREFIX")] and len(tokens) > at + 2
              and tokens[at + 1][0] == "pname" and tokens[at + 1][1].endswith(":")
              and tokens[at + 2][0] == "iri"):
            declared.add(tokens[at + 1][1])
            at += 3
        else:
            return at, declared


def _term(token: Token, declared: set[str], kinds: tuple[str, ...]) -> bool:
    """Whether ``token`` is of one of ``kinds``, and, if a prefixed name, of a declared prefix
    (the engine reads ``a:b``, ``a`` undeclared, as ``a`` and ``:b``)."""
    kind, text = token
    return kind in kinds and (kind != "pname" or text[:text.index(":") + 1] in declared)


def _projection(tokens: list[Token], at: int) -> tuple[int, set[str]]:
    """The position after ``*`` or one or more variables (-1 if neither is there), and the
    variables' names."""
    if tokens[at:at + 1] == [("punct", "*")]:
        return at + 1, set()
    start = at
    while at < len(tokens) and tokens[at][0] == "var":
        at += 1
    return (at if at > start else -1), {text[1:] for _, text in tokens[start:at]}


def _group(tokens: list[Token], at: int, declared: set[str]) -> tuple[int, set[str]]:
    """The position after ``{ t t t [.] }`` (-1 if that is not what follows), and the names of
    its variables."""
    if at < 0 or tokens[at:at + 1] != [("punct", "{")] or len(tokens) < at + 5:
        return -1, set()
    subject, predicate, object_ = tokens[at + 1:at + 4]
    terms = ("iri", "pname", "var")
    if not (_term(subject, declared, terms) and _term(object_, declared, terms)
            and _term(predicate, declared, (*terms, "a"))):
        return -1, set()
    names = [text[1:] for kind, text in (subject, predicate, object_) if kind == "var"]
    if len(set(names)) != len(names):
        return -1, set()
    at += 4
    if tokens[at:at + 1] == [("punct", ".")]:
        at += 1
    return (at + 1 if tokens[at:at + 1] == [("punct", "}")] else -1), set(names)
