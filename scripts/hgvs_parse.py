"""Parses HGVS strings (one per line on standard input) with the biocommons
`hgvs` parser, syntax only; prints each one it refuses with the reason and
a last line `parsed N, refused M`. Exit status 1 when any is refused."""

import sys

import hgvs.parser

parser = hgvs.parser.Parser()
parsed = refused = 0
for line in sys.stdin:
    text = line.strip()
    if not text:
        continue
    try:
        parser.parse(text)
        parsed += 1
    except Exception as error:  # the parser raises several kinds
        refused += 1
        print(f"refused {text}: {str(error).splitlines()[0]}")
print(f"parsed {parsed}, refused {refused}")
sys.exit(1 if refused else 0)
