#!/usr/bin/env python3
"""deploy/docker/*.Dockerfile checked without a container engine (none runs here).

Verified:
- The operator file is one `debian:bookworm-slim` runtime stage; the agent file a Debian stage
  that assembles a root filesystem, then a `scratch` stage holding that filesystem and the
  binary. Neither compiles anything: the runtime stage copies only the image's binaries from the
  staged context (hack/images/build.sh), runs as a numeric non-root USER equal to the chart's
  runAsUser, and no stage installs a -dev package or compiler; the apt layer comes before the
  binaries' COPY, so a new binary reuses it.
- The package lists are sufficient: every shared library that the operator's binaries built in
  this tree (build/bin, when present) link comes from a listed package or from one of their
  dependencies (`apt-cache depends --recurse`), and every listed package exists in the apt index.
  The agent's binary links no shared library at all (static: the scratch stage has no loader).
- The agent image EXPOSEs the chart's agent ports, the operator image the operator's.

Not verified here: that `docker build` succeeds and the image carries the tested binary
(tests/k8s/nodes/test_images.py builds and runs the images), or image size.
"""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deployharness as h  # noqa: E402

DOCKER = os.path.join(h.ROOT, "deploy", "docker")
BIN = os.environ.get("KC_BIN_DIR") or os.path.join(h.ROOT, "build", "bin")


def load_values():
    with open(os.path.join(h.CHART, "values.yaml")) as f:
        return h.yaml.safe_load(f)


def stages(path):
    """[(from image, alias, [instructions])]"""
    out = []
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            parts = rest.split()
            out.append((parts[0], parts[2] if len(parts) > 2 else None, []))
        else:
            out[-1][2].append((word.upper(), rest.strip()))
    return out


def runtime_packages(instructions):
    pkgs = []
    for word, rest in instructions:
        if word == "RUN" and "apt-get install" in rest:
            seg = rest.split("apt-get install", 1)[1].split("&&")[0]
            pkgs += [t for t in seg.split() if not t.startswith("-")]
    return pkgs


def apt_closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                        "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    names = set()
    for ln in r.stdout.splitlines():
        ln = ln.strip()
        if ln.startswith(("Depends:", "PreDepends:", "|Depends:")):
            ln = ln.split(":", 1)[1].strip()
        names.add(ln.strip("<>").split(":")[0])
    return names


def linked_packages(binary):
    """Debian packages owning the shared libraries `ldd` resolves for binary (one dpkg -S call)."""
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, text=True, timeout=30).stdout
    libs = {}
    for ln in out.splitlines():
        m = re.search(r"=> (/\S+)", ln)
        if m:
            real = os.path.realpath(m.group(1))
            libs[m.group(1)] = {m.group(1), real, real.replace("/usr/lib/", "/lib/", 1),
                                real.replace("/lib/", "/usr/lib/", 1) if real.startswith("/lib/") else real}
    paths = sorted({c for cands in libs.values() for c in cands})
    r = subprocess.run(["dpkg", "-S"] + paths, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       timeout=60)
    owner = {}
    for ln in r.stdout.splitlines():
        pkg, _, path = ln.rpartition(": ")
        for p in pkg.split(", "):
            owner.setdefault(path, p.split(":")[0])
    pkgs = set()
    for lib, cands in libs.items():
        hits = [owner[c] for c in cands if c in owner]
        if not hits:
            raise AssertionError("%s: no package owns %s" % (binary, lib))
        pkgs.add(hits[0])
    return pkgs


class DockerfileTest(unittest.TestCase):
    def check_structure(self, name, ports, binaries, expected_stages=(("debian:bookworm-slim", None),)):
        st = stages(os.path.join(DOCKER, name))
        self.assertEqual([(img, alias) for img, alias, _ in st], list(expected_stages))
        runtime = st[-1][2]
        every = [i for _, _, instructions in st for i in instructions]
        users = [rest for w, rest in runtime if w == "USER"]
        self.assertEqual(len(users), 1)
        uid = users[0].split(":")[0]
        self.assertTrue(uid.isdigit() and int(uid) != 0, "numeric non-root USER (runAsNonRoot needs a number)")
        values = load_values()
        self.assertEqual(int(uid), values["agent"]["podSecurityContext"]["runAsUser"])
        self.assertEqual(int(uid), values["operator"]["podSecurityContext"]["runAsUser"])
        copies = [rest for w, rest in runtime if w == "COPY" and not rest.startswith("--from=")]
        self.assertEqual(copies, ["%s /usr/local/bin/%s" % (b, b) for b in binaries])
        first_install = next(i for i, (w, rest) in enumerate(every) if w == "RUN" and "apt-get install" in rest)
        first_binary = every.index(("COPY", copies[0]))
        self.assertLess(first_install, first_binary, "the apt layer comes before the binaries")
        pkgs = runtime_packages(every)
        self.assertTrue(pkgs)
        self.assertFalse([p for p in pkgs if p.endswith("-dev") or p in ("g++", "gcc", "cmake", "make")], pkgs)
        exposed = set(" ".join(rest for w, rest in runtime if w == "EXPOSE").split())
        self.assertEqual(exposed, ports)
        return pkgs

    def check_libraries(self, pkgs, binaries):
        if not shutil.which("apt-cache") or not shutil.which("dpkg"):
            self.skipTest("apt-cache/dpkg not available")
        closure = apt_closure(pkgs)
        for p in pkgs:
            self.assertIn(p, closure, "package %s is not in the apt index" % p)
        present = [b for b in binaries if os.path.exists(os.path.join(BIN, b))]
        if not present:
            self.skipTest("no built binaries in %s to check the runtime libraries against" % BIN)
        for b in present:
            missing = linked_packages(os.path.join(BIN, b)) - closure
            self.assertEqual(missing, set(), "%s links libraries from packages the runtime stage lacks" % b)

    def test_agent_image(self):
        values = load_values()
        p = values["agent"]["ports"]
        self.check_structure("agent.Dockerfile", {"%d/tcp" % p["gossip"], "%d/udp" % p["gossip"],
                                                  "%d/tcp" % p["rpc"], "%d/tcp" % p["http"]},
                             ["kong-cluster"], (("debian:bookworm-slim", "rootfs"), ("scratch", None)))
        binary = os.path.join(BIN, "kong-cluster")
        if not os.path.exists(binary):
            self.skipTest("no built kong-cluster in %s to check that it is static" % BIN)
        r = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
        self.assertIn("not a dynamic executable", r.stdout,
                      "the agent image has no dynamic loader or libraries: kong-cluster must be static")

    def test_operator_image(self):
        values = load_values()
        p = values["operator"]["ports"]
        pkgs = self.check_structure("operator.Dockerfile", {"%d/tcp" % p["metrics"], "%d/tcp" % p["health"]},
                                    ["kong-cluster-operator", "kong-cluster"])
        self.check_libraries(pkgs, ["kong-cluster-operator", "kong-cluster"])


if __name__ == "__main__":
    unittest.main()
