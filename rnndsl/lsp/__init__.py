"""`rnndsl lsp`: a Language Server for .rnn specs, and a Pygments lexer for them.

    text.py      spec text -> tokens (syntax/tokens.py), statements and the names they define (never fails)
    analysis.py  spec text -> everything the front end can say about it (parse, lower, checks.run_rules, partial facts)
    features.py  pure editor features over an analysis: diagnostics, quick fixes, hover, definition, completion,
                 formatting
    server.py    the protocol: pygls over stdio, positions in the client's units, errors logged, never fatal
    lexer.py     the Pygments lexer (`RnnLexer`, aliases rnn and rnndsl)

Only the front end is used (syntax, semantics, checks): the server never imports TensorFlow.
Nothing is imported here, so `rnndsl.lsp.lexer` loads without the front end or pygls.
"""

__all__: list[str] = []
