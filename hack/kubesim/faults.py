"""Fault injection state: error responses for the next N requests, latency, expiring the next watches."""
import threading


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.errors = []        # [{"code", "count", "path", "verb", "retryAfter"}]
        self.latency = None     # {"seconds", "path", "verb"}
        self.expire_watches = 0
        self.injected = 0

    @staticmethod
    def _matches(rule, method, path):
        if rule.get("path") and not path.startswith(rule["path"]) and rule["path"] not in path:
            return False
        if rule.get("verb") and rule["verb"].upper() != method:
            return False
        return True

    def take_error(self, method, path):
        """The injected error rule for this request, consuming one count, or None."""
        with self.lock:
            for rule in self.errors:
                if rule["count"] > 0 and self._matches(rule, method, path):
                    rule["count"] -= 1
                    self.injected += 1
                    if rule["count"] == 0:
                        self.errors.remove(rule)
                    return rule
        return None

    def delay(self, method, path):
        with self.lock:
            lat = self.latency
        if lat and self._matches(lat, method, path):
            return float(lat.get("seconds", 0))
        return 0.0

    def take_expire(self):
        with self.lock:
            if self.expire_watches > 0:
                self.expire_watches -= 1
                return True
        return False

    def add_error(self, code, count=1, path=None, verb=None, retry_after=1):
        with self.lock:
            self.errors.append({"code": int(code), "count": int(count), "path": path, "verb": verb,
                                "retryAfter": int(retry_after)})

    def set_latency(self, seconds, path=None, verb=None):
        with self.lock:
            self.latency = {"seconds": float(seconds), "path": path, "verb": verb} if seconds else None

    def add_expire(self, count=1):
        with self.lock:
            self.expire_watches += int(count)

    def clear(self):
        with self.lock:
            self.errors = []
            self.latency = None
            self.expire_watches = 0

    def state(self):
        with self.lock:
            return {"errors": [dict(e) for e in self.errors], "latency": self.latency,
                    "expireWatches": self.expire_watches, "injected": self.injected}
