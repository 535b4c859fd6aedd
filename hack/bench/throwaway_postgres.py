"""A throwaway PostgreSQL 15 for the benchmark's datastore mode: initdb in a temporary
directory, 127.0.0.1 on a free port, trust authentication, role and database `kong`, and
enough connections for every agent. Postgres refuses to run as root, so under uid 0 it runs
as the `postgres` system user. stop() ends it by PID and removes the directory."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"


def available():
    return os.access(os.path.join(PG_BIN, "postgres"), os.X_OK) and shutil.which("psql") is not None


class ThrowawayPostgres:
    def __init__(self, max_connections, timeout=60.0, also_listen=None, allow_subnet=None):
        """also_listen: one more address to listen on (beside 127.0.0.1), e.g. a Docker
        network's gateway so containers reach it; allow_subnet: clients trusted from there."""
        self.dir = tempfile.mkdtemp(prefix="bench_pg.")
        self.proc = None
        self.host = "127.0.0.1"
        self._pw = pwd.getpwnam("postgres") if os.getuid() == 0 else None
        try:
            if self._pw:
                os.chmod(self.dir, 0o755)
                os.chown(self.dir, self._pw.pw_uid, self._pw.pw_gid)
            self._run([PG_BIN + "/initdb", "-D", self.dir + "/data", "--auth=trust", "--no-sync",
                       "-E", "UTF8", "-U", "postgres"])
            if allow_subnet:
                with open(self.dir + "/data/pg_hba.conf", "a") as f:
                    f.write("host all all %s trust\n" % allow_subnet)
            listen = ",".join(filter(None, (self.host, also_listen)))
            server_log = open(self.dir + "/server.log", "wb")
            with socket.socket() as s:  # free now; the tiny race is caught by the readiness wait
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
            self.proc = subprocess.Popen(
                [PG_BIN + "/postgres", "-D", self.dir + "/data", "-h", listen, "-p", str(self.port),
                 "-k", self.dir, "-c", "fsync=off", "-c", "max_connections=%d" % max_connections,
                 "-c", "shared_buffers=16MB"],
                stdout=subprocess.DEVNULL, stderr=server_log,
                stdin=subprocess.DEVNULL, preexec_fn=self._as_postgres, start_new_session=True)
            server_log.close()  # the server holds its own descriptor
            deadline = time.monotonic() + timeout
            while self.psql("SELECT 1", check=False) is None:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("postgres did not start; see %s/server.log" % self.dir)
                time.sleep(0.1)
            self.psql("CREATE ROLE kong LOGIN")
            self.psql("CREATE DATABASE kong OWNER kong")
        except BaseException:
            self.stop()
            raise

    def _as_postgres(self):
        if self._pw:
            os.setgid(self._pw.pw_gid)
            os.setuid(self._pw.pw_uid)

    def _run(self, argv):
        r = subprocess.run(argv, capture_output=True, text=True, preexec_fn=self._as_postgres,
                           start_new_session=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (argv[0], r.stderr.strip()))

    def psql(self, sql, check=True, database="postgres"):
        r = subprocess.run(["psql", "-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", database,
                            "-At", "-c", sql], capture_output=True, text=True)
        if r.returncode != 0:
            if check:
                raise RuntimeError("psql: " + r.stderr.strip())
            return None
        return r.stdout

    def agent_env(self):
        """The settings an agent needs to use this server (kong.conf keys as KONG_ variables)."""
        return {"KONG_PG_HOST": self.host, "KONG_PG_PORT": str(self.port), "KONG_PG_USER": "kong",
                "KONG_PG_DATABASE": "kong"}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
