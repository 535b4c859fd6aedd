"""Helm, built from its own module, against the real apiserver: version, and install / upgrade
/ uninstall of a throwaway chart (tests/k8s/testdata/tiny)."""
import json
import os
import subprocess
import tempfile

import harness

CHART = os.path.join(harness.TESTDATA, "tiny")


class HelmTest(harness.ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.home = tempfile.TemporaryDirectory(prefix="kc-helm-")

    @classmethod
    def tearDownClass(cls):
        cls.home.cleanup()
        super().tearDownClass()

    def helm(self, *args):
        h = self.home.name
        env = dict(os.environ, HELM_CACHE_HOME=os.path.join(h, "cache"), HELM_CONFIG_HOME=os.path.join(h, "config"),
                   HELM_DATA_HOME=os.path.join(h, "data"), KUBECONFIG=self.cluster.kubeconfig)
        r = subprocess.run([os.path.join(harness.k8scluster.bin_dir(), "helm"), *args], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, "helm %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def configmap(self):
        return self.get("/api/v1/namespaces/tiny/configmaps/demo-settings")

    def test_version(self):
        self.assertIn("v4.3.2", self.helm("version", "--short"))

    def test_install_upgrade_uninstall(self):
        self.helm("install", "demo", CHART, "--namespace", "tiny", "--create-namespace")
        self.assertEqual(self.configmap()["data"], {"greeting": "hello"})
        self.assertIsNotNone(self.get("/api/v1/namespaces/tiny/serviceaccounts/demo"))
        releases = json.loads(self.helm("list", "--namespace", "tiny", "-o", "json"))
        self.assertEqual([(r["name"], r["status"]) for r in releases], [("demo", "deployed")])

        self.helm("upgrade", "demo", CHART, "--namespace", "tiny", "--set", "greeting=bye")
        self.assertEqual(self.configmap()["data"], {"greeting": "bye"})

        self.helm("uninstall", "demo", "--namespace", "tiny")
        self.assertIsNone(self.configmap())
        self.assertIsNone(self.get("/api/v1/namespaces/tiny/serviceaccounts/demo"))
        self.assertEqual(json.loads(self.helm("list", "--namespace", "tiny", "-o", "json")), [])


if __name__ == "__main__":
    harness.main()
