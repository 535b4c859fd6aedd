#!/usr/bin/env python3
"""Prints the CMake targets whose executables the ctest tests with the given labels run, so a build
dir can build only those (hack/test.sh builds the sanitizer tree this way).

    hack/label_targets.py BUILD_DIR LABEL_REGEX

Reads the test names from `ctest -N -L`, and each test's executable from the add_test lines that
CMake wrote into BUILD_DIR's CTestTestfile.cmake files; a test whose command is not an executable of
the build dir (a script, an interpreter) needs no target and is left out.
"""
import os
import re
import subprocess
import sys

ADD_TEST = re.compile(r'^add_test\(\[=\[(?P<name>[^\]]+)\]=\] "(?P<exe>[^"]+)"')


def tests_with_label(build, labels):
    out = subprocess.run(["ctest", "--test-dir", build, "-N", "-L", labels],
                         check=True, capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"Test\s+#\d+: (\S+)", out)}


def executables(build):
    exes = {}
    for dirpath, _, files in os.walk(build):
        if "CTestTestfile.cmake" in files:
            with open(os.path.join(dirpath, "CTestTestfile.cmake")) as f:
                for line in f:
                    m = ADD_TEST.match(line)
                    if m:
                        exes[m.group("name")] = m.group("exe")
    return exes


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    names = tests_with_label(build, sys.argv[2])
    if not names:
        sys.exit("label_targets.py: no test in %s has a label matching %r" % (build, sys.argv[2]))
    exes = executables(build)
    targets = sorted({os.path.basename(exes[n]) for n in names
                      if n in exes and exes[n].startswith(build + os.sep)})
    print("\n".join(targets))


if __name__ == "__main__":
    main()
