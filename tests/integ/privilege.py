#!/usr/bin/env python3
"""Root and paths other users control (issue #8 item 2). Runs as root (skips with a message
otherwise) and plays a hostile local user: the account `nobody`, which owns a folder of its own
and plants links, folders and files there.

- --dump-streams DIR: DIR must not exist and is created 0700 with 0600 files; an existing DIR,
  one planted as a link, or one planted with links inside is refused and nothing is written
  through a link; a user racing to replace DIR never gets root to write elsewhere.
- The database: a link at the path (anywhere in it), a folder another user owns or may write,
  a user-owned database file: refused with a clear message, exit 3; the link's target keeps its
  content, owner and mtime; nothing is chown'ed.
- watch --user: root drops privileges before the database is touched; a database in the
  user's folder is created by the user (owner nobody, 0600); a folder the user cannot write is
  "--user nobody cannot write …", exit 3; a link planted by the user is not followed.
Stops only the processes it started, by PID."""
import os
import pwd
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("privilege")
CAP = nzt.pcap("http-get-ipv4.pcap")


def snapshot(path):
    """What must not change: content, owner, mode, mtime (or absence)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    data = open(path, "rb").read() if stat.S_ISREG(st.st_mode) else None
    return (data, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_mtime_ns)


def lst(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def as_user(pw, fn):
    """Runs fn() in a child process as the user (the hostile local user's actions)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            fn()
            os._exit(0)
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            print(f"as_user: {e!r}", file=sys.stderr)
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def analyze(db, extra=(), cwd=None):
    cmd = [nzt.BIN] + (["--db", db] if db else []) + ["analyze", "--no-progress", "-q", *extra, CAP]
    return subprocess.run(cmd, capture_output=True, timeout=120, cwd=cwd)


def watch(db, extra=(), seconds=1):
    return subprocess.run([nzt.BIN, "--db", db, "watch", "-i", "lo", "-f", "tcp port 9", "--duration",
                           str(seconds), *extra], capture_output=True, timeout=60)


def main():
    if os.geteuid() != 0:
        h.skip("privilege tests", "not root (they check what root does with paths other users control)")
        h.finish()
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        h.skip("privilege tests", "no user 'nobody' to play the hostile local user")
        h.finish()
    base = h.tmp
    os.chmod(base, 0o711)  # nobody may pass through to its own folder below
    # the victim: a root-only file and a root-only folder a link could point into
    secret_dir = os.path.join(base, "rootonly")
    os.mkdir(secret_dir, 0o755)
    target = os.path.join(secret_dir, "target")
    with open(target, "wb") as f:
        f.write(b"root's file\n")
    os.chmod(target, 0o600)
    os.utime(target, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    absent = os.path.join(secret_dir, "created-through-a-link")
    # the attacker's folder
    ufold = os.path.join(base, "user")
    os.mkdir(ufold, 0o755)
    os.chown(ufold, pw.pw_uid, pw.pw_gid)
    good = os.path.join(base, "good")  # root's own folder for databases
    os.mkdir(good, 0o700)

    def untouched(what):
        h.check(f"{what}: target keeps content, owner, mode, mtime", snapshot(target) == before,
                f"{snapshot(target)} != {before}")
        h.check(f"{what}: nothing created through a link", not os.path.lexists(absent))

    before = snapshot(target)

    # ---- --dump-streams ----
    d = os.path.join(good, "dump")
    r = analyze(os.path.join(good, "a.db"), ["--dump-streams", d])
    h.check("dump: analyze exits 0", r.returncode == 0, nzt.text(r.stderr))
    st = lst(d)
    h.check("dump: DIR created as a folder 0700 owned by root",
            st and stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0,
            oct(st.st_mode) if st else "missing")
    files = listdir(d)
    h.check("dump: stream files written", "1-c2s.bin" in files and "1-s2c.bin" in files, str(files))
    modes = {f: oct(stat.S_IMODE(os.lstat(os.path.join(d, f)).st_mode)) for f in files}
    h.check("dump: every file 0600, regular, root's", all(
        stat.S_ISREG(os.lstat(os.path.join(d, f)).st_mode) and m == "0o600" and os.lstat(os.path.join(d, f)).st_uid == 0
        for f, m in modes.items()), str(modes))
    os.makedirs(d, exist_ok=True)
    files = listdir(d)
    r = analyze(os.path.join(good, "b.db"), ["--dump-streams", d])
    h.check("dump: an existing DIR is refused (exit 2, says it exists)",
            r.returncode == 2 and "exists" in nzt.text(r.stderr), nzt.text(r.stderr))
    h.check("dump: the existing DIR is left as it was", listdir(d) == files)

    # a failing dump write (file size limit, as a full disk) is counted and logged once, never fatal
    fz = os.path.join(good, "fz.db")
    nzt.analyze(fz, [nzt.pcap("bad", "empty.pcap")])  # the database exists before the limit

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150000, 150000))  # below 1-s2c.bin (200 KB)
    fzd = os.path.join(good, "fzdump")
    r = subprocess.run([nzt.BIN, "--db", fz, "analyze", "--no-progress", "-q", "--dump-streams", fzd, CAP],
                       capture_output=True, timeout=120, preexec_fn=limit)
    err = nzt.text(r.stderr)
    h.check("dump: failed writes are not fatal (exit 0, flows recorded)",
            r.returncode == 0 and nzt.query(fz, "SELECT count(*) AS n FROM flows")[0]["n"] == 2, err)
    h.check("dump: the first failure is logged once, the count at the end",
            err.count("cannot write") == 1 and "write(s) failed" in err, err)
    h.check("dump: the other streams are complete", os.path.getsize(os.path.join(fzd, "2-s2c.bin")) == 212, err)

    # the user prepares DIR with a link at every name the dump would use
    planted = os.path.join(ufold, "dump")

    def plant_dir():
        os.mkdir(planted, 0o777)
        for i in range(1, 4):
            for dr in ("c2s", "s2c"):
                os.symlink(target if dr == "c2s" else absent, os.path.join(planted, f"{i}-{dr}.bin"))
    as_user(pw, plant_dir)
    r = analyze(os.path.join(good, "c.db"), ["--dump-streams", planted])
    h.check("dump: DIR prepared by the user with links inside is refused (exit 2)", r.returncode == 2,
            nzt.text(r.stderr))
    untouched("dump into a planted folder of links")
    # DIR itself a link to a folder (root's) and to nothing
    link_dir = os.path.join(ufold, "dumplink")
    as_user(pw, lambda: os.symlink(secret_dir, link_dir))
    r = analyze(os.path.join(good, "d.db"), ["--dump-streams", link_dir])
    h.check("dump: DIR planted as a link to a folder is refused", r.returncode == 2, nzt.text(r.stderr))
    h.check("dump: nothing written into the link's folder", listdir(secret_dir) == ["target"],
            str(listdir(secret_dir)))
    dangling = os.path.join(ufold, "dangling")
    as_user(pw, lambda: os.symlink(os.path.join(secret_dir, "newdir"), dangling))
    r = analyze(os.path.join(good, "e.db"), ["--dump-streams", dangling])
    h.check("dump: DIR planted as a dangling link is refused and nothing is created at its target",
            r.returncode == 2 and not os.path.lexists(os.path.join(secret_dir, "newdir")), nzt.text(r.stderr))
    # a user racing to swap DIR (in its own folder) while root creates it: whatever wins, root
    # never writes outside a fresh root-owned 0700 folder
    race = os.path.join(ufold, "race")
    racer = subprocess.Popen([sys.executable, "-c", f"""
import os, sys, time
os.setgroups([]); os.setgid({pw.pw_gid}); os.setuid({pw.pw_uid})
race, target, end = {race!r}, {target!r}, time.time() + 20
n = 0
while time.time() < end:
    n += 1
    try:
        os.rename(race, race + ".moved." + str(n))   # take root's folder away …
    except OSError:
        pass
    try:
        os.mkdir(race, 0o777)                          # … and put one of ours there
        os.symlink(target, os.path.join(race, "1-c2s.bin"))
    except OSError:
        pass
"""])
    outcomes = []
    try:
        for i in range(12):
            r = analyze(os.path.join(good, f"race{i}.db"), ["--dump-streams", race])
            outcomes.append(r.returncode)
    finally:
        racer.kill()
        racer.wait()
    h.check("dump race: every run either dumped (0) or refused (2/3), some refused (the user did race)",
            all(c in (0, 2, 3) for c in outcomes) and 2 in outcomes, str(outcomes))
    if os.environ.get("NZ_VERBOSE"):
        print("dump race outcomes:", outcomes)
    untouched("dump race")
    bad = []
    for name in os.listdir(ufold):
        p = os.path.join(ufold, name)
        st = os.lstat(p)
        if name.startswith("race") and st.st_uid == 0:
            if not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o700:
                bad.append(name)
            for f in os.listdir(p):
                fs = os.lstat(os.path.join(p, f))
                if not stat.S_ISREG(fs.st_mode) or stat.S_IMODE(fs.st_mode) != 0o600 or fs.st_uid != 0:
                    bad.append(f"{name}/{f}")
        if name.startswith("race") and st.st_uid != 0:
            for f in os.listdir(p) if stat.S_ISDIR(st.st_mode) else []:
                fs = os.lstat(os.path.join(p, f))
                if fs.st_uid == 0:
                    bad.append(f"root wrote {name}/{f} into the user's folder")
    h.check("dump race: root's folders are 0700 with 0600 files; root wrote nothing into the user's", not bad,
            str(bad))

    # ---- the database, analyze as root ----
    link_db = os.path.join(ufold, "nz.db")
    as_user(pw, lambda: os.symlink(target, link_db))
    r = analyze(link_db)
    h.check("db: link planted in a user's folder: exit 3", r.returncode == 3, nzt.text(r.stderr))
    h.check("db: the message names the folder's owner", "belongs to uid" in nzt.text(r.stderr), nzt.text(r.stderr))
    untouched("analyze --db <link in user folder>")
    # the same in root's own folder: NOFOLLOW refuses the link itself
    root_link = os.path.join(good, "link.db")
    os.symlink(target, root_link)
    r = analyze(root_link)
    h.check("db: a link as the database is refused with a clear message, exit 3",
            r.returncode == 3 and "symbolic link" in nzt.text(r.stderr), nzt.text(r.stderr))
    untouched("analyze --db <link>")
    os.symlink(absent, os.path.join(good, "dangling.db"))
    r = analyze(os.path.join(good, "dangling.db"))
    h.check("db: a dangling link is refused, its target not created", r.returncode == 3, nzt.text(r.stderr))
    untouched("analyze --db <dangling link>")
    # a link in a folder component
    os.symlink(secret_dir, os.path.join(good, "dirlink"))
    r = analyze(os.path.join(good, "dirlink", "created-through-a-link"))
    h.check("db: a link among the folders is refused", r.returncode == 3, nzt.text(r.stderr))
    untouched("analyze --db <link>/x.db")
    # ./netzwacht.db planted in a user's folder, root's cwd there
    as_user(pw, lambda: os.symlink(target, os.path.join(ufold, "netzwacht.db")))
    r = analyze(None, cwd=ufold)
    h.check("db: root in a user's folder with a planted ./netzwacht.db: exit 3", r.returncode == 3, nzt.text(r.stderr))
    untouched("analyze with ./netzwacht.db planted")
    # -wal and -shm planted next to a database root would create
    as_user(pw, lambda: (os.symlink(target, os.path.join(ufold, "w.db-wal")),
                         os.symlink(target, os.path.join(ufold, "w.db-shm"))))
    r = analyze(os.path.join(ufold, "w.db"))
    h.check("db: -wal/-shm links planted beside it: refused", r.returncode == 3, nzt.text(r.stderr))
    h.check("db: and the database was not created there", not os.path.lexists(os.path.join(ufold, "w.db")))
    untouched("analyze with -wal/-shm links planted")
    # a root-owned folder below a user's folder (the user can swap it): refused
    sub = os.path.join(ufold, "rootsub")
    os.mkdir(sub, 0o700)
    r = analyze(os.path.join(sub, "x.db"))
    h.check("db: root's folder inside a user's folder is refused (the user can rename it)",
            r.returncode == 3 and "belongs to uid" in nzt.text(r.stderr), nzt.text(r.stderr))
    # a world-writable folder, sticky or not
    for mode in (0o777, 0o1777, 0o770):
        ww = os.path.join(base, f"ww{mode:o}")
        os.mkdir(ww)
        os.chmod(ww, mode)
        r = analyze(os.path.join(ww, "x.db"))
        h.check(f"db: folder mode {mode:o} refused as root", r.returncode == 3 and "writable" in nzt.text(r.stderr),
                nzt.text(r.stderr))
        h.check(f"db: folder mode {mode:o}: nothing created", os.listdir(ww) == [], str(os.listdir(ww)))
    # below a sticky world-writable folder (like /tmp), root's own 0700 folder is fine
    sticky = os.path.join(base, "ww1777", "mine")
    os.mkdir(sticky, 0o700)
    r = analyze(os.path.join(sticky, "x.db"))
    h.check("db: root's folder below a sticky folder is accepted", r.returncode == 0, nzt.text(r.stderr))
    # a user-owned database file in root's folder (e.g. left by watch --user): refused
    udb = os.path.join(good, "user-owned.db")
    open(udb, "wb").close()
    os.chown(udb, pw.pw_uid, pw.pw_gid)
    r = analyze(udb)
    h.check("db: another user's database file is refused as root",
            r.returncode == 3 and "belongs to uid" in nzt.text(r.stderr), nzt.text(r.stderr))
    h.check("db: and left as it was (empty, the user's)", os.path.getsize(udb) == 0 and os.lstat(udb).st_uid == pw.pw_uid)
    # a database root creates is 0600, and so are its -wal/-shm
    fresh = os.path.join(good, "fresh.db")
    r = analyze(fresh)
    modes = {s: oct(stat.S_IMODE(os.lstat(fresh + s).st_mode)) for s in ("", "-wal", "-shm") if os.path.exists(fresh + s)}
    h.check("db: a new database is created 0600 (and its -wal/-shm)", r.returncode == 0 and modes and
            all(m == "0o600" for m in modes.values()), f"{modes} {nzt.text(r.stderr)}")

    # ---- watch ----
    if not os.path.exists("/sys/class/net/lo"):
        h.skip("watch --user", "no loopback interface")
        h.finish()
    # the original attack: --user nobody, a link at the database path in nobody's folder
    wlink = os.path.join(ufold, "watch.db")
    as_user(pw, lambda: os.symlink(target, wlink))
    r = watch(wlink, ["--user", "nobody"])
    h.check("watch --user: a link planted at the database path: exit 3", r.returncode == 3, nzt.text(r.stderr))
    untouched("watch --user nobody --db <link>")
    os.unlink(wlink)
    as_user(pw, lambda: os.symlink(absent, wlink))
    r = watch(wlink, ["--user", "nobody"])
    h.check("watch --user: a dangling link: exit 3, target not created", r.returncode == 3, nzt.text(r.stderr))
    untouched("watch --user nobody --db <dangling link>")
    # the normal case: a database in the user's folder, created by the user
    wdb = os.path.join(ufold, "live.db")
    r = watch(wdb, ["--user", "nobody"])
    h.check("watch --user nobody with a DB in nobody's folder: exit 0", r.returncode == 0, nzt.text(r.stderr))
    own = {s: (os.lstat(wdb + s).st_uid, oct(stat.S_IMODE(os.lstat(wdb + s).st_mode)))
           for s in ("", "-wal", "-shm") if os.path.exists(wdb + s)}
    h.check("watch --user: database (and -wal/-shm) created by nobody, 0600", own and all(
        o == (pw.pw_uid, "0o600") for o in own.values()), str(own))
    runs = nzt.query(wdb, "SELECT mode, finished FROM runs")
    h.check("watch --user: the run was recorded", runs == [{"mode": "live", "finished": 1}], str(runs))
    # a folder nobody cannot write: no more root doing it on nobody's behalf
    rdb = os.path.join(secret_dir, "watch.db")
    r = watch(rdb, ["--user", "nobody"])
    h.check("watch --user: folder the user cannot write: exit 3, clear message",
            r.returncode == 3 and "--user nobody cannot write" in nzt.text(r.stderr), nzt.text(r.stderr))
    h.check("watch --user: nothing created in root's folder", not os.path.lexists(rdb))
    # an existing root-owned database in the user's folder: not chown'ed, not written
    rootdb = os.path.join(ufold, "rootowned.db")
    open(rootdb, "wb").close()
    os.chmod(rootdb, 0o600)
    r = watch(rootdb, ["--user", "nobody"])
    h.check("watch --user: a database the user cannot write: exit 3, clear message",
            r.returncode == 3 and "--user nobody cannot write" in nzt.text(r.stderr), nzt.text(r.stderr))
    h.check("watch --user: it is not chown'ed", os.lstat(rootdb).st_uid == 0 and os.path.getsize(rootdb) == 0)
    # --dump-streams with --user: the folder is created by the user
    wd = os.path.join(ufold, "wdump")
    r = watch(os.path.join(ufold, "live2.db"), ["--user", "nobody", "--dump-streams", wd])
    st = lst(wd)
    h.check("watch --user --dump-streams: DIR created by the user, 0700",
            r.returncode == 0 and st and st.st_uid == pw.pw_uid and stat.S_IMODE(st.st_mode) == 0o700,
            nzt.text(r.stderr))
    # root without --user keeps the root policy
    r = watch(link_db)
    h.check("watch as root: a database in a user's folder is refused, exit 3", r.returncode == 3, nzt.text(r.stderr))
    untouched("watch as root --db <link in user folder>")
    r = watch(os.path.join(good, "root-live.db"))
    h.check("watch as root in root's folder: exit 0", r.returncode == 0, nzt.text(r.stderr))
    shutil.rmtree(base, ignore_errors=True)
    h.finish()


if __name__ == "__main__":
    main()
