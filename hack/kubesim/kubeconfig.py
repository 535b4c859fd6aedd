"""Writing a kubeconfig for the simulator and reading the bits `kube-sim ctl` needs back out of one."""
import base64
import json
import os
import re


def write(path, server, token=None, ca_file=None, name="kube-sim", namespace="default"):
    cluster = {"server": server}
    if ca_file:
        with open(ca_file, "rb") as f:
            cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: %s" % name,
        "  cluster:",
        "    server: %s" % server,
    ]
    if ca_file:
        lines.append("    certificate-authority-data: %s" % cluster["certificate-authority-data"])
    lines += [
        "users:",
        "- name: %s" % name,
        "  user:" + ("" if token else " {}"),
    ]
    if token:
        lines.append("    token: %s" % json.dumps(token))
    lines += [
        "contexts:",
        "- name: %s" % name,
        "  context:",
        "    cluster: %s" % name,
        "    user: %s" % name,
        "    namespace: %s" % namespace,
        "current-context: %s" % name,
        "preferences: {}",
        "",
    ]
    tmp = path + ".tmp"
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read(path):
    """Returns (server, token, ca_pem_bytes) of the current context. Handles the files `write` makes and
    simple kubeconfigs in the same layout (uses python3-yaml when available)."""
    with open(path) as f:
        text = f.read()
    try:
        import yaml
        doc = yaml.safe_load(text)
        ctxname = doc.get("current-context")
        ctx = next((c["context"] for c in doc.get("contexts") or [] if c.get("name") == ctxname),
                   (doc.get("contexts") or [{}])[0].get("context", {}))
        cl = next((c["cluster"] for c in doc.get("clusters") or [] if c.get("name") == ctx.get("cluster")), {})
        us = next((u["user"] for u in doc.get("users") or [] if u.get("name") == ctx.get("user")), {}) or {}
        ca = cl.get("certificate-authority-data")
        ca = base64.b64decode(ca) if ca else None
        if not ca and cl.get("certificate-authority"):
            with open(cl["certificate-authority"], "rb") as f:
                ca = f.read()
        return cl.get("server"), us.get("token"), ca
    except ImportError:
        pass
    server = re.search(r"^\s*server:\s*(\S+)", text, re.M)
    token = re.search(r"^\s*token:\s*(\S+)", text, re.M)
    ca = re.search(r"^\s*certificate-authority-data:\s*(\S+)", text, re.M)
    tok = token.group(1) if token else None
    if tok and tok.startswith('"'):
        tok = json.loads(tok)
    return (server.group(1) if server else None, tok, base64.b64decode(ca.group(1)) if ca else None)


def write_service_account(directory, token, ca_file, namespace="default"):
    """The files an in-cluster client reads (rest.InClusterConfig), with KUBERNETES_SERVICE_HOST/PORT set by the
    caller to the simulator's address."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "token"), "w") as f:
        f.write(token)
    with open(os.path.join(directory, "namespace"), "w") as f:
        f.write(namespace)
    if ca_file:
        with open(ca_file, "rb") as src, open(os.path.join(directory, "ca.crt"), "wb") as dst:
            dst.write(src.read())
