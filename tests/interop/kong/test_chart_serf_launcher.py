#!/usr/bin/env python3
"""The chart's Kong mode launcher, for real: renders the chart with real Helm (`helm template`,
tests/k8s/helmchart.py; exit 77 until hack/k8s/build.sh has built it) with
kong.serfPath.enabled, runs its init container script on this machine with the freshly
built kong-cluster in place of the image's /usr/local/bin/kong-cluster and a temporary
directory as the emptyDir, then runs the Kong serf_path test with `<dir>/serf` as serf_path:
the launcher must start the binary under the name `serf` (directly when it is static, as built
by default; through the copied loader when it is dynamically linked).

Usage: test_chart_serf_launcher.py KONG_CLUSTER_BINARY"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "k8s"))
import helmchart  # noqa: E402


def main():
    binary = os.path.abspath(sys.argv[1])
    try:
        helmchart.helm_binary()
    except helmchart.k8scluster.ClusterError as e:
        print("SKIP: %s" % e)
        return 77
    with tempfile.TemporaryDirectory(prefix="kc-serf-bundle-") as dst:
        objs = helmchart.template(
            {"kong": {"enabled": True, "serfPath": {"enabled": True, "mountPath": dst}},
             "postgres": {"password": "pw"}}).objects()
        ds = next(o for o in objs if o["kind"] == "DaemonSet")
        init = ds["spec"]["template"]["spec"]["initContainers"][0]
        kong = next(c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "kong")
        serf_path = next(e["value"] for e in kong["env"] if e["name"] == "KONG_SERF_PATH")
        script = init["args"][0].replace("/usr/local/bin/kong-cluster", binary)
        r = subprocess.run(init["command"] + [script], env={"PATH": os.environ["PATH"],
                                                           "RPC_AUTH": ""},
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("init container script failed:\n" + r.stdout + r.stderr)
            print("0 passed, 1 failed")
            return 1
        print("ok   init container script built %s (%d libraries)"
              % (serf_path, len(os.listdir(os.path.join(dst, "lib")))))
        return subprocess.run([sys.executable, os.path.join(HERE, "test_kong_serf_path.py"),
                               serf_path]).returncode


if __name__ == "__main__":
    sys.exit(main())
