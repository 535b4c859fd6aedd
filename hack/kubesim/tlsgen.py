"""A CA and a serving certificate for 127.0.0.1/localhost, made with the openssl CLI (EC P-256: fast)."""
import os
import shutil
import subprocess


def _run(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args[:2]), r.stderr.decode(errors="replace")))


def generate(directory, hosts=("127.0.0.1", "localhost")):
    """Writes ca.crt, ca.key, server.crt, server.key into `directory`; returns their paths."""
    if shutil.which("openssl") is None:
        raise RuntimeError("--tls needs the openssl command (Debian package openssl)")
    os.makedirs(directory, exist_ok=True)
    d = directory
    _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=kube-sim-ca",
          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    san = ",".join(("IP:%s" % h) if h.replace(".", "").isdigit() or ":" in h else ("DNS:%s" % h) for h in hosts)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,"
                "keyEncipherment\nextendedKeyUsage=serverAuth\n" % san)
    _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"], d)
    _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", "server.crt", "-days", "3650", "-extfile", "server.ext"], d)
    for f in ("ca.key", "server.key"):
        os.chmod(os.path.join(d, f), 0o600)
    return {k: os.path.join(d, k) for k in ("ca.crt", "ca.key", "server.crt", "server.key")}
