#!/usr/bin/env python3
"""Fails when a dependency points up or sideways between the tree's top-level folders.

Every #include "..." in C++ sources and every kc_* target in target_link_libraries() must
point at the same folder or at a folder on a lower layer of LAYERS. tests/ and hack/ may
use anything. Prints each violation as file:line and exits 1; exits 0 when the tree is clean.

    hack/check_layers.py [SOURCE_DIR]      check the tree (default: this script's repository)
    hack/check_layers.py --self-test       check that the checker catches a bad tree
"""
import os
import re
import sys
import tempfile

# Lower numbers sit lower: a folder may depend on its own layer's folder (itself) and on
# any folder with a smaller number, never on another folder of the same or a higher layer.
LAYERS = {
    "common": 0,
    "datastore": 1,
    "kube": 1,
    "serf_client": 1,
    "agent": 2,
    "operator": 2,
}
# Folders that may depend on anything (they test or drive the layers).
UNRESTRICTED = {"tests", "hack"}

SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc")
CMAKE_FILES = ("CMakeLists.txt",)
CMAKE_SUFFIXES = (".cmake",)

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
TARGET_DEF_RE = re.compile(r"\badd_(?:library|executable)\(\s*([A-Za-z0-9_\-]+)")
LINK_RE = re.compile(r"\btarget_link_libraries\(\s*([A-Za-z0-9_\-]+)([^)]*)\)", re.S)


def top_folder(rel_path):
    return rel_path.split("/", 1)[0] if "/" in rel_path else ""


def allowed(from_folder, to_folder):
    if from_folder in UNRESTRICTED or from_folder == to_folder:
        return True
    if from_folder not in LAYERS or to_folder not in LAYERS:
        return True
    return LAYERS[to_folder] < LAYERS[from_folder]


def walk(root):
    for folder in sorted(LAYERS) + sorted(UNRESTRICTED):
        base = os.path.join(root, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                yield os.path.relpath(os.path.join(dirpath, name), root)


def check_includes(root, rel):
    problems = []
    here = top_folder(rel)
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            target = m.group(1)
            there = top_folder(target)
            if there not in LAYERS:
                # A path relative to the file itself stays in its folder.
                if os.path.exists(os.path.join(root, os.path.dirname(rel), target)):
                    continue
                if here in UNRESTRICTED:
                    continue
                problems.append(f'{rel}:{number}: #include "{target}" names no layered folder '
                                f"(write it from the repository root: {', '.join(sorted(LAYERS))})")
                continue
            if not allowed(here, there):
                problems.append(f'{rel}:{number}: #include "{target}": {here}/ may not depend on '
                                f"{there}/ ({describe(here)})")
    return problems


def describe(folder):
    below = sorted(f for f, layer in LAYERS.items() if layer < LAYERS[folder])
    return f"it may use {', '.join(below)}" if below else "it may use nothing outside itself"


def cmake_files(root):
    for rel in walk(root):
        name = os.path.basename(rel)
        if name in CMAKE_FILES or name.endswith(CMAKE_SUFFIXES):
            yield rel


def strip_cmake_comments(text):
    return "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
                     for line in text.split("\n"))


def check_links(root):
    owner = {}
    texts = {}
    for rel in cmake_files(root):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            texts[rel] = strip_cmake_comments(f.read())
        for m in TARGET_DEF_RE.finditer(texts[rel]):
            owner[m.group(1)] = top_folder(rel)
    problems = []
    for rel, text in texts.items():
        for m in LINK_RE.finditer(text):
            target, deps = m.group(1), m.group(2).split()
            here = owner.get(target, top_folder(rel))
            line = text.count("\n", 0, m.start()) + 1
            for dep in deps:
                there = owner.get(dep)
                if there is None or allowed(here, there):
                    continue
                problems.append(f"{rel}:{line}: {target} ({here}/) links {dep} ({there}/): "
                                f"{here}/ may not depend on {there}/ ({describe(here)})")
    return problems


def check(root):
    problems = []
    for rel in walk(root):
        if rel.endswith(SOURCE_SUFFIXES):
            problems += check_includes(root, rel)
    problems += check_links(root)
    return problems


def self_test():
    """A tree with one violation of each kind must produce exactly those violations."""
    files = {
        "common/a.h": '#include "common/b.h"\n',
        "common/b.h": "",
        "kube/k.h": '#include "common/a.h"\n#include "datastore/d.h"\n',
        "datastore/d.h": '#include "agent/x.h"\n',
        "agent/x.h": '#include "kube/k.h"\n#include "operator/o.h"\n#include "near.h"\n',
        "agent/near.h": "",
        "operator/o.h": '#include "kube/k.h"\n',
        "tests/t.cpp": '#include "agent/x.h"\n#include "operator/o.h"\n',
        "kube/CMakeLists.txt": "add_library(kc_k STATIC k.cpp)\n"
                               "target_link_libraries(kc_k PUBLIC kc_c  # kc_a in a comment\n"
                               "  kc_a)\n",
        "common/CMakeLists.txt": "add_library(kc_c STATIC a.cpp)\n",
        "agent/CMakeLists.txt": "add_library(kc_a STATIC x.cpp)\ntarget_link_libraries(kc_a kc_k)\n",
    }
    expected = [
        'agent/x.h:2: #include "operator/o.h"',
        'datastore/d.h:1: #include "agent/x.h"',
        'kube/k.h:2: #include "datastore/d.h"',
        "kube/CMakeLists.txt:2: kc_k (kube/) links kc_a (agent/)",
    ]
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(text)
        found = check(root)
    unmatched = [e for e in expected if not any(p.startswith(e) for p in found)]
    if unmatched or len(found) != len(expected):
        print("check_layers self-test failed:\n  expected:\n    " + "\n    ".join(expected) +
              "\n  got:\n    " + "\n    ".join(found), file=sys.stderr)
        return 1
    print(f"check_layers self-test: {len(found)} planted violations found")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    missing = [f for f in LAYERS if not os.path.isdir(os.path.join(root, f))]
    if missing:
        print(f"check_layers: folders missing from {root}: {', '.join(missing)}", file=sys.stderr)
        return 1
    problems = check(root)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        order = " < ".join("{" + ", ".join(sorted(f for f, l in LAYERS.items() if l == layer)) + "}"
                           for layer in sorted(set(LAYERS.values())))
        print(f"check_layers: {len(problems)} dependencies point up or sideways; allowed: {order}",
              file=sys.stderr)
        return 1
    print(f"check_layers: {root}: every include and link points down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
