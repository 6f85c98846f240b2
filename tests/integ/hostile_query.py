#!/usr/bin/env python3
"""Query commands against hostile databases and hostile SQL (issue #8: query and output safety).

- Several statements in `netzwacht sql`: each result set its own table / CSV header; no overflow.
- Any width: every column reaches json and csv, and the table.
- JSON output is valid JSON for any content: text named like a JSON column, Inf, control
  characters, invalid UTF-8, duplicate column names; our JSON columns are nested.
- Table output escapes terminal control characters in cells and names; widths count display
  columns; CSV stays RFC 4180 (raw bytes when not a terminal).
- fts3_tokenizer() is refused (it hands out a process address).
- Query commands never write: a missing path stays missing, a foreign SQLite file and an older
  netzwacht database stay byte-identical (no -wal/-shm/-journal either), WAL databases are read
  cleanly closed, with a live writer, left by a crashed writer and with -wal but no -shm.
- Clear refusals: not a netzwacht database, older (names the version and `analyze`), newer,
  symbolic links; never SQLite's "not an error".
- A failed write of the results (full disk) is exit 3 with a message.
"""
import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("hostile_query")
QUERY_CMDS = ["findings", "flows", "tls", "http", "mail", "servers", "certs", "runs"]
SIDE = ("-wal", "-shm", "-journal")


def sql(db, q, fmt="table", extra=()):
    return nzt.run(["sql", "--format", fmt, *extra, q], db=db)


def out(r):
    return r.stdout.decode("utf-8", "strict") if isinstance(r.stdout, bytes) else r.stdout


def json_lines(r):
    """Every stdout line parsed strictly (UTF-8, RFC 8259 without NaN/Infinity); None if any fails."""
    try:
        text = r.stdout.decode("utf-8", "strict")

        def bad_const(c):
            raise ValueError(c)
        return [json.loads(l, parse_constant=bad_const) for l in text.splitlines() if l.strip()]
    except (UnicodeDecodeError, ValueError) as e:
        return None if not os.environ.get("NZ_VERBOSE") else print("json:", e)


def files_state(path):
    """Hashes of path and its side files (None where absent)."""
    st = {}
    for sfx in ("",) + SIDE:
        p = path + sfx
        st[sfx] = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.lexists(p) else None
    return st


def fresh(name):
    db = h.db(name)
    r = nzt.analyze(db, [nzt.pcap("http-get-ipv4.pcap")])
    assert r.returncode == 0, nzt.text(r.stderr)
    return db


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


# ---- 1. several statements, any width ----

def check_statements_and_width():
    db = fresh("multi.db")
    nflows = nzt.query(db, "SELECT count(*) AS n FROM flows")[0]["n"]
    q = "SELECT 1; SELECT * FROM flows; SELECT 'a' AS x, 'b' AS y"
    r = sql(db, q)
    t = nzt.text(r.stdout)
    lines = t.splitlines()
    h.check("sql: 1 then 24 then 2 columns (table): exit 0", r.returncode == 0, nzt.text(r.stderr)[-300:])
    h.check("sql: each statement has its own table header",
            any(l.startswith("id ") and "retrans" in l for l in lines) and any(l.split() == ["x", "y"] for l in lines)
            and lines[0].strip() == "1", t[:400])
    h.check("sql: tables separated by an empty line", t.count("\n\n") == 2, repr(t[:200]))
    r = sql(db, q, "csv")
    recs = list(csv.reader(io.StringIO(nzt.text(r.stdout))))
    heads = [x for x in recs if x and x[0] in ("1", "id", "x")]
    h.check("sql csv: a header line per result set", r.returncode == 0 and [x[0] for x in recs if x][:1] == ["1"]
            and ["x", "y"] in recs and any(x[:2] == ["id", "run_id"] for x in recs), str(recs[:4]))
    h.check("sql csv: rows keep their set's width", all(len(x) in (0, 1, 2, 24) for x in recs)
            and sum(1 for x in recs if len(x) == 24) == nflows + 1, str([len(x) for x in recs]))
    del heads
    r = sql(db, q, "json")
    objs = json_lines(r)
    h.check("sql json: one object per row of every statement",
            objs is not None and len(objs) == 1 + nflows + 1 and len(objs[1]) == 24 and objs[-1] == {"x": "a", "y": "b"},
            nzt.text(r.stdout)[:300])
    # A statement with the same columns after one with more, and back.
    r = sql(db, "SELECT * FROM flows; SELECT 1 AS id; SELECT * FROM flows", "json")
    objs = json_lines(r)
    h.check("sql json: narrower set between wider ones", objs is not None and
            [len(o) for o in objs] == [24] * nflows + [1] + [24] * nflows, str(objs)[:200])

    cols = ", ".join(f"{i} AS c{i}" for i in range(60))
    for fmt in ("json", "csv", "table"):
        r = sql(db, f"SELECT {cols}", fmt)
        t = nzt.text(r.stdout)
        if fmt == "json":
            objs = json_lines(r)
            ok = objs is not None and len(objs) == 1 and list(objs[0]) == [f"c{i}" for i in range(60)] \
                and objs[0]["c59"] == 59
        elif fmt == "csv":
            recs = list(csv.reader(io.StringIO(t)))
            ok = len(recs) == 2 and recs[0] == [f"c{i}" for i in range(60)] and recs[1][59] == "59"
        else:
            ok = t.splitlines()[0].split() == [f"c{i}" for i in range(60)] and t.splitlines()[2].split()[-1] == "59"
        h.check(f"sql {fmt}: 60 columns, none lost", r.returncode == 0 and ok, t[-200:])
    # The widest SQLite allows by default.
    cols = ", ".join(f"{i} AS c{i}" for i in range(2000))
    r = sql(db, f"SELECT {cols}", "json")
    objs = json_lines(r)
    h.check("sql json: 2000 columns", objs is not None and len(objs[0]) == 2000, nzt.text(r.stderr)[-200:])


# ---- 2. JSON for any content ----

def check_json():
    db = fresh("json.db")
    r = sql(db, "SELECT 'x' AS evidence, 'not json' AS counters", "json")
    objs = json_lines(r)
    h.check("json: text in a column named evidence is a string", objs == [{"evidence": "x", "counters": "not json"}],
            nzt.text(r.stdout))
    r = sql(db, "SELECT summary AS evidence FROM findings", "json")
    objs = json_lines(r)
    h.check("json: summary AS evidence stays a string", objs and all(isinstance(o["evidence"], str) for o in objs),
            nzt.text(r.stdout)[:300])
    r = nzt.run(["findings", "--format", "json"], db=db)
    objs = json_lines(r)
    h.check("json: findings.evidence nested", objs and all(isinstance(o["evidence"], dict) for o in objs))
    r = nzt.run(["runs", "--format", "json"], db=db)
    objs = json_lines(r)
    h.check("json: runs.counters nested", objs and isinstance(objs[0]["counters"], dict), nzt.text(r.stdout)[:300])

    # Our JSON columns holding something else: a row written by someone else.
    con = sqlite3.connect(db)
    con.execute("INSERT INTO findings(run_id, kind, severity, severity_rank, summary, evidence) VALUES"
                " (1, 'x.bad', 'info', 0, 's', 'x'), (1, 'x.bad', 'info', 0, 's', '{\"a\":1'),"
                " (1, 'x.bad', 'info', 0, 's', '{\"a\":\"\x1b]0;pwned\x07\"}'),"
                " (1, 'x.bad', 'info', 0, 's', '{\"a\":' || char(10) || ' [1, 2]}'),"
                " (1, 'x.bad', 'info', 0, 's', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'),"
                " (1, 'x.bad', 'info', 0, 's', CAST(x'7b2261223a2241ff42227d' AS TEXT)),"
                " (1, 'x.bad', 'info', 0, 's', 'NaN'), (1, 'x.bad', 'info', 0, 's', ''),"
                " (1, 'x.bad', 'info', 0, 's', 'null'), (1, 'x.bad', 'info', 0, 's', ' 12 ')")
    con.commit()
    con.close()
    r = nzt.run(["findings", "--kind", "x.bad", "--format", "json"], db=db)
    objs = json_lines(r)
    ev = [o["evidence"] for o in objs] if objs else None
    h.check("json: hostile evidence values give valid JSON lines", objs is not None and len(objs) == 10,
            nzt.text(r.stdout)[:600])
    if ev:
        h.check("json: evidence that is not JSON is a string", ev[0] == "x" and ev[1] == '{"a":1' and ev[6] == "NaN"
                and ev[7] == "", str(ev))
        h.check("json: evidence that is JSON but no object or array is a string (never passes for NULL)",
                ev[8] == "null" and ev[9] == " 12 ", str(ev[8:]))
        h.check("json: evidence with a raw control character is a string", ev[2] == '{"a":"\x1b]0;pwned\x07"}',
                repr(ev[2]))
        h.check("json: pretty-printed evidence nested, one line", ev[3] == {"a": [1, 2]}, repr(ev[3]))
        h.check("json: evidence nested deeper than 64 is a string", isinstance(ev[4], str), repr(ev[4])[:80])
        h.check("json: evidence with invalid UTF-8 is a string, the byte as U+00FF", ev[5] == '{"a":"A\u00ffB"}',
                repr(ev[5]))
    r = nzt.run(["findings", "--kind", "x.bad", "--format", "json"], db=db)
    h.check("json: no raw ESC or BEL in the output", b"\x1b" not in r.stdout and b"\x07" not in r.stdout)

    r = sql(db, "SELECT 1e999 AS inf, -1e999 AS ninf, 1.5 AS r, 9223372036854775807 AS big, x'00ff' AS b,"
                " char(27) || '[31m' || char(155) || char(7) AS ctl, CAST(x'41ff42c0' AS TEXT) AS bad,"
                " CAST(x'610062' AS TEXT) AS nul, '\u65e5\u00e9' AS u, '\"\\' AS q", "json")
    objs = json_lines(r)
    h.check("json: Inf, blobs, controls, invalid UTF-8, NUL, quotes", objs == [{
        "inf": "Inf", "ninf": "-Inf", "r": 1.5, "big": 9223372036854775807, "b": "00ff",
        "ctl": "\x1b[31m\x9b\x07", "bad": "A\u00ffB\u00c0", "nul": "610062", "u": "\u65e5\u00e9", "q": '"\\'}],
        nzt.text(r.stdout))
    h.check("json: controls are escaped, never raw", b"\x1b" not in r.stdout and b"\xc2\x9b" not in r.stdout
            and b"\\u001b" in r.stdout and b"\\u009b" in r.stdout, r.stdout[:300])
    r = sql(db, "SELECT 1 AS a, 2 AS a, 3 AS \"a:2\", 4 AS a", "json")
    objs = json_lines(r)
    h.check("json: duplicate column names keep every value", objs and len(objs[0]) == 4 and
            sorted(objs[0].values()) == [1, 2, 3, 4] and objs[0]["a"] == 1 and objs[0]["a:2"] == 3,
            nzt.text(r.stdout))
    r = sql(db, "SELECT 1 AS \"" + "k" * 300 + "\", 2 AS \"\x1b[2J" + "\"", "json")
    objs = json_lines(r)
    h.check("json: long and hostile column names kept as keys", objs and objs[0].get("k" * 300) == 1
            and objs[0].get("\x1b[2J") == 2, nzt.text(r.stdout)[:200])


# ---- 3. table escapes, widths; CSV ----

def check_table_csv():
    db = fresh("table.db")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO findings(run_id, ts, kind, severity, severity_rank, client_ip, server_ip, summary,"
                " evidence) VALUES (1, '2030-01-01T00:00:00Z', 'x.evil', 'high', 3, '10.0.0.1',"
                " char(27) || ']0;owned' || char(7), 'sum ' || char(27) || '[2J' || char(155) || '1m'"
                " || CAST(x'ff' AS TEXT) || char(13) || 'x', '{}')")
    con.commit()
    con.close()
    for cmd in (["findings", "--kind", "x.evil"], ["sql", "SELECT * FROM findings WHERE kind = 'x.evil'"],
                ["sql", "SELECT 1 AS \"" + "\x1b[31mred\x07" + "\""]):
        r = nzt.run(cmd, db=db)
        raw = r.stdout
        bad = [b for b in (b"\x1b", b"\x07", b"\r", b"\xc2\x9b", b"\xff") if b in raw]
        h.check(f"table {cmd[0]}: no raw control bytes or invalid UTF-8", r.returncode == 0 and not bad,
                f"{bad} {raw[:300]!r}")
        try:
            raw.decode("utf-8", "strict")
            h.check(f"table {cmd[0]}: valid UTF-8", True)
        except UnicodeDecodeError as e:
            h.check(f"table {cmd[0]}: valid UTF-8", False, str(e))
    r = nzt.run(["findings", "--kind", "x.evil"], db=db)
    t = nzt.text(r.stdout)
    h.check("table: escapes are visible", "\\e]0;owned\\x07" in t and "\\e[2J\\u009b1m\\xff\\rx" in t, t)
    r = nzt.run(["sql", "SELECT 1 AS \"\x1b[31mred\x07\""], db=db)
    h.check("table: column names are escaped", "\\e[31mred\\x07" in nzt.text(r.stdout), nzt.text(r.stdout))

    # Invisible format characters that make a line read differently (a right-to-left override
    # turning 'gpj.exe' around, zero-width spaces) are shown as escapes, not obeyed.
    r = sql(db, "SELECT 'evil' || char(0x202e) || 'gpj.exe' AS name, 'a' || char(0x200b) || 'b' AS zw,"
                " char(0x2066) || 'iso' || char(0x2069) || char(0xfeff) AS iso")
    t = nzt.text(r.stdout)
    h.check("table: bidi overrides, isolates and zero-width characters are escaped",
            r.returncode == 0 and "evil\\u202egpj.exe" in t and "a\\u200bb" in t and "\\u2066iso\\u2069\\ufeff" in t
            and not any(c in t for c in "\u202e\u200b\u2066\u2069\ufeff"), t)

    # Display widths: wide characters and escapes line up.
    r = sql(db, "SELECT '\u65e5\u672c\u8a9e' AS a, 'x' AS b UNION ALL SELECT char(27) || 'ab', 'y'"
                " UNION ALL SELECT 'plain', 'z'")
    lines = nzt.text(r.stdout).splitlines()
    cols = []
    for l in lines:
        i = l.rfind("  ")
        cols.append(width(l[:i + 2]))
    h.check("table: columns align in display columns (wide characters, escapes)",
            len(lines) == 5 and len(set(cols)) == 1, repr(lines))
    r = sql(db, "SELECT printf('%.300c', 'x') AS a, printf('%.100c', char(0x65e5)) AS w, 1 AS b")
    lines = nzt.text(r.stdout).splitlines()
    h.check("table: long cells cut at 72 display columns and marked",
            len(lines) == 3 and width(lines[2].split("  ")[0]) == 72 and lines[2].split("  ")[0].endswith("+")
            and width(lines[2].split("  ")[1]) <= 72 and lines[2].split("  ")[1].endswith("+"), repr(lines))

    # CSV: RFC 4180, bytes as stored when not a terminal.
    r = sql(db, "SELECT 'a,b' AS \"x\"\"y\", 'l1' || char(13) || char(10) || 'l2' AS nl, char(27) || '[1m' AS e,"
                " NULL AS n", "csv")
    recs = list(csv.reader(io.StringIO(r.stdout.decode("utf-8"), newline="")))
    h.check("csv: RFC 4180 quoting, CRLF records, bytes kept", r.returncode == 0 and
            recs == [['x"y', "nl", "e", "n"], ["a,b", "l1\r\nl2", "\x1b[1m", ""]] and r.stdout.endswith(b"\r\n"),
            repr(r.stdout))
    # On a terminal (script gives a pseudo-terminal), CSV fields are escaped.
    if shutil.which("script"):
        cmd = f"{nzt.BIN} --db {db} sql --format csv \"SELECT char(27) || '[1m' AS e\""
        p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=60)
        h.check("csv on a terminal: control characters escaped", b"\x1b" not in p.stdout and b"\\e[1m" in p.stdout,
                repr(p.stdout))
    else:
        h.skip("csv on a terminal", "script(1) not installed")


# ---- 4. refused functions and error messages ----

def check_refusals():
    db = fresh("refuse.db")
    for q in ("SELECT fts3_tokenizer('simple')", "SELECT FTS3_Tokenizer('porter')",
              "SELECT hex(fts3_tokenizer('simple'))", "SELECT load_extension('/tmp/x.so')",
              "CREATE VIRTUAL TABLE temp.t USING fts3(x)"):
        r = sql(db, q)
        h.check(f"refused: {q}", r.returncode == 2 and nzt.text(r.stdout).strip() == "", nzt.text(r.stdout + r.stderr))
    bad = [
        (["sql", "DELETE FROM runs"], 2), (["sql", "  -- nothing"], 2), (["sql", "SELEKT"], 3),
        (["sql", "PRAGMA query_only = 0"], 2), (["sql", "SELECT * FROM nosuch"], 3),
        (["findings", "--kind", "a" * 300 + "."], 2), (["findings", "--severity", "\x1b[2Jx"], 2),
        (["findings", "\x1b]0;title\x07"], 2), (["findings", "--\x1b]0;title\x07"], 2),
        (["flows", "-\x07"], 2), (["sql", "--\x1b[2J", "SELECT 1"], 2),
    ]
    for args, code in bad:
        r = nzt.run(args, db=db)
        err = nzt.text(r.stderr)
        h.check(f"error {args[0]} {args[1][:20]!r}: exit {code}, a message, never 'not an error'",
                r.returncode == code and err.strip() and "not an error" not in err and "\x1b" not in err,
                f"exit {r.returncode}: {err!r}")


# ---- 5. query commands never write ----

def old_db(path, version):
    """A netzwacht database at an older schema: a current one with the later steps undone."""
    if os.path.exists(path):
        os.unlink(path)
    src = fresh("old-src.db")
    shutil.copy(src, path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")
    if version < 6:
        con.execute("DROP INDEX tls_sessions_cert")
        for c in ("cert_subject", "cert_issuer", "cert_not_before", "cert_not_after", "cert_key", "cert_sig_alg",
                  "cert_san", "cert_self_signed", "cert_sha256"):
            con.execute(f"ALTER TABLE tls_sessions DROP COLUMN {c}")
    con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()


def check_readonly():
    latest = int(nzt.run(["sql", "PRAGMA user_version", "--format", "csv"], db=fresh("v.db")).stdout.split()[1])
    # Missing path: error, exit 3, still missing.
    missing = os.path.join(h.tmp, "missing.db")
    for cmd in QUERY_CMDS + ["sql"]:
        args = [cmd, "SELECT 1"] if cmd == "sql" else [cmd]
        r = nzt.run(args, db=missing)
        err = nzt.text(r.stderr)
        h.check(f"{cmd} on a missing path: exit 3, 'no database at'", r.returncode == 3 and "no database at" in err,
                f"exit {r.returncode}: {err}")
        h.check(f"{cmd} on a missing path: nothing created",
                not any(os.path.lexists(missing + s) for s in ("",) + SIDE))
    r = nzt.run(["kinds"], db=missing)
    h.check("kinds needs no database", r.returncode == 0 and not os.path.lexists(missing) and "tls." in nzt.text(r.stdout))

    # A foreign SQLite file (rollback journal, as the sqlite3 CLI leaves it).
    foreign = os.path.join(h.tmp, "foreign.db")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes(body) VALUES ('keep me')")
    con.commit()
    con.close()
    before = files_state(foreign)
    for cmd in QUERY_CMDS + ["sql"]:
        args = [cmd, "SELECT * FROM notes"] if cmd == "sql" else [cmd]
        r = nzt.run(args, db=foreign)
        err = nzt.text(r.stderr)
        h.check(f"{cmd} on a foreign SQLite file: exit 3, 'not a netzwacht'",
                r.returncode == 3 and "not a netzwacht" in err, f"exit {r.returncode}: {err}")
        h.check(f"{cmd} on a foreign SQLite file: byte-identical, no side files", files_state(foreign) == before,
                str(files_state(foreign)))
    # A netzwacht-looking one in WAL mode with user_version 0.
    foreign = os.path.join(h.tmp, "foreign-wal.db")
    con = sqlite3.connect(foreign)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE runs(x)")
    con.execute("CREATE TABLE findings(x)")
    con.commit()
    con.close()
    before = files_state(foreign)
    r = nzt.run(["findings"], db=foreign)
    h.check("tables but user_version 0: not a netzwacht database", r.returncode == 3 and
            "not a netzwacht" in nzt.text(r.stderr) and files_state(foreign) == before, nzt.text(r.stderr))

    # Not SQLite, empty.
    for name, data, want in (("text.db", b"hello\n" * 50, "not an SQLite database"),
                             ("empty.db", b"", "not a netzwacht database")):
        p = os.path.join(h.tmp, name)
        open(p, "wb").write(data)
        r = nzt.run(["findings"], db=p)
        h.check(f"{name}: exit 3, says so, unchanged", r.returncode == 3 and want in nzt.text(r.stderr)
                and open(p, "rb").read() == data and not os.path.exists(p + "-wal"), nzt.text(r.stderr))

    # Older schema: reported with its version and `analyze`, never migrated; sql reads it.
    old = os.path.join(h.tmp, "old.db")
    old_db(old, 5)
    before = files_state(old)
    for cmd in QUERY_CMDS:
        r = nzt.run([cmd], db=old)
        err = nzt.text(r.stderr)
        h.check(f"{cmd} on a v5 database: exit 3, names v5 and analyze", r.returncode == 3 and "v5" in err
                and f"v{latest}" in err and "netzwacht analyze" in err, err)
    r = nzt.run(["sql", "--format", "csv", "SELECT count(*) AS n FROM flows"], db=old)
    h.check("sql on a v5 database: runs, with a note", r.returncode == 0 and nzt.text(r.stdout).split()[1] == "2"
            and "v5" in nzt.text(r.stderr), nzt.text(r.stdout + r.stderr))
    h.check("v5 database: byte-identical after every query command", files_state(old) == before)
    h.check("v5 database: still v5", nzt.query(old, "PRAGMA user_version")[0]["user_version"] == 5)
    # Newer schema.
    newer = os.path.join(h.tmp, "newer.db")
    shutil.copy(fresh("newer-src.db"), newer)
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {latest + 1}")
    con.commit()
    con.close()
    before = files_state(newer)
    r = nzt.run(["findings"], db=newer)
    h.check("newer database: exit 3, says newer", r.returncode == 3 and "newer" in nzt.text(r.stderr)
            and f"v{latest + 1}" in nzt.text(r.stderr), nzt.text(r.stderr))
    r = nzt.run(["sql", "SELECT count(*) FROM runs"], db=newer)
    h.check("newer database: sql reads it with a note", r.returncode == 0 and "note" in nzt.text(r.stderr))
    h.check("newer database: byte-identical", files_state(newer) == before)


def check_wal():
    # Cleanly closed WAL database: no -wal/-shm appear.
    db = fresh("wal-clean.db")
    h.check("analyze leaves a WAL database without side files",
            nzt.query(db, "PRAGMA journal_mode")[0]["journal_mode"] == "wal" and not os.path.exists(db + "-wal"))
    before = files_state(db)
    for cmd in QUERY_CMDS + ["sql"]:
        args = [cmd, "SELECT count(*) FROM flows"] if cmd == "sql" else [cmd]
        r = nzt.run(args, db=db)
        h.check(f"{cmd} on a closed WAL database: exit 0", r.returncode == 0, nzt.text(r.stderr))
    h.check("closed WAL database: byte-identical, no -wal/-shm created", files_state(db) == before,
            str(files_state(db)))

    # A live writer with rows only in the WAL.
    db = fresh("wal-live.db")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("INSERT INTO findings(run_id, kind, severity, severity_rank, summary, evidence)"
                " VALUES (1, 'x.live', 'low', 1, 'in the wal', '{}')")
    h.check("live writer: its rows are in the -wal", os.path.getsize(db + "-wal") > 0)
    r = nzt.run(["findings", "--kind", "x.live", "--format", "json"], db=db)
    objs = json_lines(r)
    h.check("live writer: the query sees its committed rows", r.returncode == 0 and objs and len(objs) == 1,
            nzt.text(r.stdout + r.stderr))
    con.execute("INSERT INTO findings(run_id, kind, severity, severity_rank) VALUES (1, 'x.live', 'low', 1)")
    n = con.execute("SELECT count(*) FROM findings WHERE kind = 'x.live'").fetchone()[0]
    h.check("live writer: still writes after the query", n == 2)

    # Left by a crashed writer: copies of the three files taken while it was open.
    crashed = os.path.join(h.tmp, "wal-crashed.db")
    for sfx in ("", "-wal", "-shm"):
        shutil.copy(db + sfx, crashed + sfx)
    con.close()
    before = files_state(crashed)
    r = nzt.run(["findings", "--kind", "x.live", "--format", "json"], db=crashed)
    objs = json_lines(r)
    h.check("crashed writer's -wal/-shm: rows in the -wal are read", r.returncode == 0 and objs and len(objs) == 2,
            nzt.text(r.stdout + r.stderr))
    h.check("crashed writer's files: byte-identical after the query", files_state(crashed) == before,
            f"{before} -> {files_state(crashed)}")
    # -wal without -shm (copied without it): read; SQLite makes the -shm index it needs.
    noshm = os.path.join(h.tmp, "wal-noshm.db")
    for sfx in ("", "-wal"):
        shutil.copy(crashed + sfx, noshm + sfx)
    before = files_state(noshm)
    r = nzt.run(["findings", "--kind", "x.live", "--format", "json"], db=noshm)
    objs = json_lines(r)
    after = files_state(noshm)
    h.check("-wal without -shm: rows read", r.returncode == 0 and objs and len(objs) == 2, nzt.text(r.stderr))
    h.check("-wal without -shm: database and -wal unchanged", after[""] == before[""] and after["-wal"] == before["-wal"])

    # Links: the database and its side files are opened only as regular files.
    link = os.path.join(h.tmp, "link.db")
    os.symlink(db, link)
    r = nzt.run(["findings"], db=link)
    h.check("a symbolic link is refused", r.returncode == 3 and "symbolic link" in nzt.text(r.stderr),
            nzt.text(r.stderr))
    victim = os.path.join(h.tmp, "victim")
    open(victim, "w").write("precious\n")
    lw = fresh("wal-linked.db")
    os.symlink(victim, lw + "-shm")
    shutil.copy(crashed + "-wal", lw + "-wal")
    r = nzt.run(["findings"], db=lw)
    h.check("a -shm that is a link is refused, its target untouched", r.returncode == 3 and
            open(victim).read() == "precious\n", nzt.text(r.stderr))


def check_odd_paths_and_output_errors():
    # Characters that mean something in an SQLite URI.
    d = os.path.join(h.tmp, "odd dir?#%")
    os.makedirs(d, exist_ok=True)
    db = os.path.join(d, "we?ird#%20name.db")
    r = nzt.analyze(db, [nzt.pcap("http-get-ipv4.pcap")])
    r2 = nzt.run(["flows", "--format", "json"], db=db)
    objs = json_lines(r2)
    h.check("a path with ? # % and a space is read", r.returncode == 0 and r2.returncode == 0 and objs
            and len(objs) == 2, nzt.text(r2.stderr))
    rel = nzt.run(["--db", "we?ird#%20name.db", "flows"], cwd=d)
    h.check("a relative path is read", rel.returncode == 0 and "(2 flows)" in nzt.text(rel.stdout),
            nzt.text(rel.stderr))
    h.check("no stray file named like the URI", sorted(os.listdir(d)) == ["we?ird#%20name.db"], str(os.listdir(d)))
    # Output to a full disk.
    if os.path.exists("/dev/full"):
        for args in (["findings"], ["sql", "SELECT * FROM flows"], ["flows", "--format", "json"]):
            with open("/dev/full", "w") as full:
                p = subprocess.run([nzt.BIN, "--db", db, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
            err = p.stderr.decode("utf-8", "replace")
            h.check(f"{args[0]} to a full disk: exit 3, says it could not write", p.returncode == 3
                    and "cannot write" in err, f"exit {p.returncode}: {err}")
    else:
        h.skip("output to a full disk", "no /dev/full")


def main():
    if not os.access(nzt.BIN, os.X_OK):
        h.check("netzwacht binary exists", False, nzt.BIN)
        h.finish()
    for fn in (check_statements_and_width, check_json, check_table_csv, check_refusals, check_readonly, check_wal,
               check_odd_paths_and_output_errors):
        try:
            fn()
        except Exception as e:  # a broken expectation must fail the run, not hide the checks after it
            h.check(f"{fn.__name__} ran to its end", False, repr(e))
    h.finish()


if __name__ == "__main__":
    main()
