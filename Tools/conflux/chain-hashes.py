#!/usr/bin/env python3
"""Pivot chain of the Conflux corpus (Traces/conflux/README.md): one 64-digit hex hash per line,
height = line index. H(h) = sha256("conflux-corpus-<h>"); with `foreign`, the foreign branch
F(h) = sha256("conflux-foreign-<h>"). Usage: chain-hashes.py [--foreign] COUNT"""
import hashlib
import sys

args = sys.argv[1:]
tag = "conflux-corpus-"
if args and args[0] == "--foreign":
    tag = "conflux-foreign-"
    args = args[1:]
count = int(args[0]) if args else 1000
for h in range(count):
    print(hashlib.sha256(f"{tag}{h}".encode()).hexdigest())
