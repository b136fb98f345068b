"""Disk and database faults: a full disk, a read-only file system, a
database locked by another process, a corrupt file at start-up. Each gives a
clear error, loses nothing, and srmd recovers when the fault clears."""

import os
import sqlite3
import subprocess
import tempfile

import srmtest
from srmtest import Srmd, run, wait_for

import testnet_fixture
from fixture import FixtureServer

TESTNET_DIR = os.path.join(srmtest.BUILD, "tests", "testnet")


def can_mount():
    if os.getuid() != 0:
        return False
    d = tempfile.mkdtemp()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", d])
    os.rmdir(d)
    return ok


class Tmpfs:
    def __init__(self, size):
        self.path = tempfile.mkdtemp(prefix="srmd-tmpfs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", self.path], check=True)

    def remount(self, opts):
        subprocess.run(["mount", "-o", "remount," + opts, self.path],
                       check=True)

    def close(self):
        subprocess.run(["umount", "-l", self.path])
        os.rmdir(self.path)


def source(port, name="a", every="10s"):
    return ("  - name: %s\n    plugin: testnet\n    every: %s\n"
            "    url: http://127.0.0.1:%d/feed/%s\n" % (name, every, port,
                                                       name))


def count(d, name="a"):
    return tuple(d.query("SELECT count(*), count(DISTINCT remote_id) FROM "
                         "mentions WHERE remote_id LIKE ?", name + ":%")[0])


def test_disk_full_then_recovers():
    if not can_mount():
        print("skipped: needs root and tmpfs mounts")
        return
    fs = Tmpfs("3m")
    testnet_fixture.reset()
    testnet_fixture.STATE.update(items=20000, page_size=500)
    fx = FixtureServer(testnet_fixture.Handler)
    fx.start()
    try:
        d = Srmd(sources=source(fx.port), plugin_dir=TESTNET_DIR,
                 log_level="info")
        d.db_path = os.path.join(fs.path, "srmd.db")
        d.write_config(sources=source(fx.port))
        with d:
            s = d.wait_source("a", lambda s: s["state"] == "failing",
                              timeout=60, what="the disk to fill up")
            assert "No space left" in s["last_error"] or \
                "full" in s["last_error"].lower(), s
            assert d.call("status")["version"]  # still serving
            stored = count(d)[0]
            assert 0 <= stored < 20000
            # The cursor never runs ahead of the stored rows.
            cur = d.call("sources.show", {"name": "a"})["source"][
                "cursors"].get("after", "0")
            assert int(cur) <= stored, (cur, stored)
            fs.remount("size=256m")

            def recovered():
                # Start a pass whenever none runs (the source may be
                # backing off after its failures) until all is stored.
                if count(d)[0] == 20000 and d.source("a")["state"] == "idle":
                    return True
                d.call("sources.sync", {"name": "a"})
                return False
            wait_for(recovered, 120, "recovery after the disk has room "
                     "again", interval=0.2)
            n, distinct = count(d)
            assert n == distinct == 20000
        assert d.query("PRAGMA integrity_check")[0][0] == "ok"
    finally:
        fx.stop()
        fs.close()


def test_read_only_database_refused_then_recovers():
    if not can_mount():
        print("skipped: needs root and tmpfs mounts")
        return
    fs = Tmpfs("64m")
    testnet_fixture.reset()
    testnet_fixture.STATE.update(items=50, page_size=10)
    fx = FixtureServer(testnet_fixture.Handler)
    fx.start()
    try:
        d = Srmd(sources=source(fx.port, every="1h"), plugin_dir=TESTNET_DIR)
        d.db_path = os.path.join(fs.path, "srmd.db")
        d.write_config(sources=source(fx.port, every="1h"))
        with d:
            d.wait_passes("a", 1)
            assert count(d) == (50, 50)
        # The file system holding the database turns read-only.
        fs.remount("ro")
        out = subprocess.run([srmtest.SRMD, "-c", d.config],
                             capture_output=True, text=True, timeout=15)
        assert out.returncode == 1, out
        assert "read-only" in out.stderr.lower() or \
            "readonly" in out.stderr.lower(), out.stderr
        assert d.db_path in out.stderr
        fs.remount("rw")
        testnet_fixture.STATE["items"] = 80
        with d.start():
            wait_for(lambda: count(d) == (80, 80), 30, "recovery")
    finally:
        fx.stop()
        fs.close()


def test_locked_database_then_recovers():
    testnet_fixture.reset()
    testnet_fixture.STATE.update(items=30, page_size=10)
    fx = FixtureServer(testnet_fixture.Handler)
    fx.start()
    try:
        with Srmd(sources=source(fx.port, every="1h"),
                  plugin_dir=TESTNET_DIR) as d:
            d.wait_passes("a", 1)
            locker = sqlite3.connect(d.db_path, timeout=1,
                                     isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            testnet_fixture.STATE["items"] = 40
            d.call("sources.sync", {"name": "a"})
            s = d.wait_source("a", lambda s: s["passes"] >= 2, 30)
            assert s["state"] == "failing" and "busy" in \
                s["last_error"].lower(), s
            assert d.call("status")["version"]
            locker.execute("ROLLBACK")
            locker.close()
            d.call("sources.sync", {"name": "a"})
            wait_for(lambda: count(d)[0] == 40, 30, "recovery")
            assert count(d) == (40, 40)
    finally:
        fx.stop()


def test_corrupt_database_at_start_is_refused_clearly():
    d = Srmd(start=False)
    with open(d.db_path, "wb") as f:
        f.write(b"this is not an SQLite database, just text " * 100)
    out = subprocess.run([srmtest.SRMD, "-c", d.config], capture_output=True,
                         text=True, timeout=15)
    assert out.returncode == 1, out
    assert "file is not a database" in out.stderr, out.stderr
    assert d.db_path in out.stderr
    with open(d.db_path, "rb") as f:  # untouched
        assert f.read(20) == b"this is not an SQLit"


if __name__ == "__main__":
    run(globals())
