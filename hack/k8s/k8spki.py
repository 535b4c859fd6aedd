"""The control plane's certificates, made with the openssl command line (ECDSA P-256).

Layout as kubeadm makes it: one cluster CA (API serving and client certificates), a separate
etcd CA (etcd serving, peer and client certificates) and a front-proxy CA (the aggregation
layer's request-header client), plus the ServiceAccount token signing key pair.
Every file is written under one directory; keys are 0600.
"""
import os
import subprocess

CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
DAYS = "3650"


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.strip()))


def _subject(cn, orgs=()):
    # "/" inside a name would start a new attribute; Kubernetes names never hold one.
    return "".join("/O=%s" % o for o in orgs) + "/CN=%s" % cn


class Pki:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name, cn):
        _openssl("req", "-x509", *CURVE, "-days", DAYS, "-subj", _subject(cn),
                 "-keyout", self.path(name + ".key"), "-out", self.path(name + ".crt"),
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
        os.chmod(self.path(name + ".key"), 0o600)

    def issue(self, ca, name, cn, orgs=(), server=False, client=False, ips=(), dns=()):
        """Issues name.crt/name.key signed by CA ca; server certificates get the SANs."""
        usages = [u for u, on in (("serverAuth", server), ("clientAuth", client)) if on]
        ext = ["-addext", "basicConstraints=critical,CA:FALSE",
               "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
               "-addext", "extendedKeyUsage=" + ",".join(usages)]
        sans = ["IP:%s" % ip for ip in ips] + ["DNS:%s" % d for d in dns]
        if sans:
            ext += ["-addext", "subjectAltName=" + ",".join(sans)]
        _openssl("req", "-x509", *CURVE, "-days", DAYS, "-subj", _subject(cn, orgs),
                 "-CA", self.path(ca + ".crt"), "-CAkey", self.path(ca + ".key"),
                 "-keyout", self.path(name + ".key"), "-out", self.path(name + ".crt"), *ext)
        os.chmod(self.path(name + ".key"), 0o600)
        return self.path(name + ".crt"), self.path(name + ".key")

    def make_signing_key(self, name):
        """An EC key pair for ServiceAccount tokens: name.key (private), name.pub (public)."""
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-out", self.path(name + ".key"))
        os.chmod(self.path(name + ".key"), 0o600)
        _openssl("pkey", "-in", self.path(name + ".key"), "-pubout", "-out", self.path(name + ".pub"))
