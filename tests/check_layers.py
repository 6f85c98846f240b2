#!/usr/bin/env python3
"""Fails the build when a source file includes a header of a layer above its own.

The layers, bottom up (doc/ARCHITECTURE.md draws them):

    core  <-  capture
    core  <-  dissect  <-  rules
    core  <-  store
    {capture, dissect, rules, store}  <-  engine  <-  cli

Every include of our own headers is written from the repository root ("core/reader.h"), so the
folder in the include names the layer. A file may include its own folder and the folders its
layer lists below. tests/ may include anything. Usage: check_layers.py SRCDIR [STAMP]
(meson runs it at every build and touches STAMP when the tree is clean)."""
import os
import re
import sys

ALLOWED = {
    "core": {"core"},
    "capture": {"core", "capture"},
    "dissect": {"core", "dissect"},
    "rules": {"core", "dissect", "rules"},
    "store": {"core", "store"},
    "engine": {"core", "capture", "dissect", "rules", "store", "engine"},
    "cli": {"core", "capture", "dissect", "rules", "store", "engine", "cli"},
}
# Crossings still being removed, each with the reason it is tolerated (empty when none are left).
EXCEPTIONS = set()
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main():
    src = sys.argv[1]
    bad = []
    for layer, allowed in ALLOWED.items():
        folder = os.path.join(src, layer)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h", ".def")):
                continue
            rel = f"{layer}/{name}"
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                if "/" not in inc:
                    if inc.endswith("_table.h"):  # generated into the build folder
                        continue
                    bad.append(f"{rel}: include \"{inc}\" without its folder (write \"{layer}/{inc}\")")
                    continue
                target = inc.split("/", 1)[0]
                if target == "..":
                    bad.append(f"{rel}: include \"{inc}\" is relative (write it from the repository root)")
                elif target not in allowed and (rel, target) not in EXCEPTIONS:
                    bad.append(f"{rel}: includes \"{inc}\": {layer}/ may include only {sorted(allowed)}")
    if bad:
        print("layering violations (see doc/ARCHITECTURE.md):", *bad, sep="\n  ", file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
