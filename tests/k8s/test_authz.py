"""Authentication and authorization as a cluster enforces them: TokenRequest tokens limited by
RBAC, the Node authorizer with NodeRestriction, anonymous requests, TLS client certs at etcd."""
import base64
import http.client
import json
import os
import ssl
import tempfile

import harness

NS = "authz"


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class AuthzTest(harness.ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.cluster
        for body, path in (
                ({"metadata": {"name": NS}}, "/api/v1/namespaces"),
                ({"metadata": {"name": "reader"}}, "/api/v1/namespaces/%s/serviceaccounts" % NS),
                ({"metadata": {"name": "cm-reader"},
                  "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
                 "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles" % NS),
                ({"metadata": {"name": "reader-reads-configmaps"},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
                  "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}]},
                 "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings" % NS),
                ({"metadata": {"name": "settings"}, "data": {"k": "v"}}, "/api/v1/namespaces/%s/configmaps" % NS)):
            status, obj = c.request("POST", path, body)
            assert status == 201, (path, status, obj)

    def token_for(self, sa, seconds=600):
        req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"expirationSeconds": seconds}}
        obj = self.api("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (NS, sa), req, expect=201)
        return obj["status"]["token"]

    def test_token_request_issues_a_signed_token_for_the_service_account(self):
        claims = jwt_claims(self.token_for("reader"))
        self.assertEqual(claims["iss"], harness.k8scluster.ISSUER)
        self.assertEqual(claims["sub"], "system:serviceaccount:%s:reader" % NS)
        self.assertLessEqual(claims["exp"] - claims["iat"], 600)

    def test_token_works_for_what_its_role_allows(self):
        token = self.token_for("reader")
        obj = self.api("GET", "/api/v1/namespaces/%s/configmaps/settings" % NS, token=token, expect=200)
        self.assertEqual(obj["data"], {"k": "v"})
        self.api("GET", "/api/v1/namespaces/%s/configmaps" % NS, token=token, expect=200)

    def test_token_is_refused_for_what_its_role_does_not_allow(self):
        token = self.token_for("reader")
        self.api("GET", "/api/v1/namespaces/%s/secrets" % NS, token=token, expect=403)
        self.api("POST", "/api/v1/namespaces/%s/configmaps" % NS,
                 {"metadata": {"name": "new"}}, token=token, expect=403)
        self.api("GET", "/api/v1/namespaces/default/configmaps", token=token, expect=403)
        self.api("GET", "/api/v1/nodes", token=token, expect=403)

    def test_kubectl_with_the_token_is_refused_the_same_way(self):
        # Only the token: the admin kubeconfig's client certificate would authenticate first.
        token = self.token_for("reader")
        kc = lambda *a: self.cluster.kubectl("--server", self.cluster.server, "--certificate-authority",
                                             self.cluster.ca_file, "--token", token, "-n", NS, *a,
                                             kubeconfig=os.devnull, check=False)
        ok = kc("get", "configmap", "settings", "-o", "name")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        no = kc("get", "secrets")
        self.assertNotEqual(no.returncode, 0)
        self.assertIn("forbidden", no.stderr)

    def test_forged_and_deleted_account_tokens_are_unauthorized(self):
        token = self.token_for("reader")
        head, body, sig = token.split(".")
        forged = ".".join([head, body, sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")])
        self.api("GET", "/api/v1/namespaces/%s/configmaps" % NS, token=forged, expect=401)
        self.api("POST", "/api/v1/namespaces/%s/serviceaccounts" % NS, {"metadata": {"name": "gone"}}, expect=201)
        gone = self.token_for("gone")
        self.api("GET", "/api/v1/namespaces/%s/configmaps" % NS, token=gone, expect=403)
        self.api("DELETE", "/api/v1/namespaces/%s/serviceaccounts/gone" % NS, expect=200)
        harness.wait_until(lambda: self.cluster.request(
            "GET", "/api/v1/namespaces/%s/configmaps" % NS, token=gone)[0] == 401, 10,
            "a token of a deleted ServiceAccount to be rejected")

    def test_anonymous_requests_are_forbidden(self):
        conn_ctx = ssl.create_default_context(cafile=self.cluster.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.cluster.port, context=conn_ctx, timeout=10)
        conn.request("GET", "/api/v1/namespaces")
        self.assertEqual(conn.getresponse().status, 403)
        conn.close()

    def test_node_authorizer_limits_a_node_to_its_own_objects(self):
        beat = harness.NodeHeartbeat(self.cluster)
        try:
            beat.add("node-a")
            beat.add("node-b")
            with tempfile.TemporaryDirectory() as d:
                kc = self.cluster.write_kubeconfig(os.path.join(d, "a.kubeconfig"), "system:node:node-a",
                                                   ["system:nodes"])
                run = lambda *a: self.cluster.kubectl(*a, kubeconfig=kc, check=False)
                own = run("label", "node", "node-a", "mark=own")
                self.assertEqual(own.returncode, 0, own.stderr)
                other = run("label", "node", "node-b", "mark=other")
                self.assertNotEqual(other.returncode, 0)
                self.assertIn("forbidden", other.stderr)
                secrets = run("get", "secrets", "-A")
                self.assertIn("forbidden", secrets.stderr)
        finally:
            beat.stop_all()

    def test_etcd_refuses_clients_without_a_certificate(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.cluster.state_dir, "pki", "etcd-ca.crt"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.cluster.state["ports"]["etcd"], context=ctx,
                                           timeout=10)
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            conn.request("GET", "/v2/keys")
            conn.getresponse().read()
        conn.close()


if __name__ == "__main__":
    harness.main()
