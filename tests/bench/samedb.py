#!/usr/bin/env python3
"""samedb.py — do two netzwacht binaries store the same bytes?

Runs `netzwacht analyze` of the old and the new binary on the same inputs, each into a fresh
database, and compares `sqlite3 DB .dump` (every row with its id) and the exit status. Inputs:
every capture under the given folders, one database per file; then each folder as a whole in
one run (several files per run, mail history across files); then their sub-folders one run
after another into one database (history across runs); then any --extra file (e.g. a
mkbench.py mix), one database each. Prints one line per mismatch and exits 1 if there is any.

    python3 tests/bench/samedb.py --old OLD_BIN --new NEW_BIN [--extra BIG.pcap] pcaps

Needs the sqlite3 command-line shell. Databases go to a fresh 0700 folder (netzwacht refuses a
world-writable one when run as root), removed at the end."""
import argparse, difflib, os, shutil, subprocess, sys, tempfile

CAPTURE_EXT = ('.pcap', '.pcapng', '.cap', '.pcap.gz', '.pcapng.gz', '.cap.gz')


def run(binary, db, inputs):
    """inputs: the arguments of one run, or a list of such lists: runs one after another
    into the same database (history across runs, flow ids after earlier runs')."""
    rcs = []
    for args in (inputs if inputs and isinstance(inputs[0], list) else [inputs]):
        p = subprocess.run([binary, 'analyze', '-q', '--no-progress', '--db', db] + args,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rcs.append(p.returncode)
    if not os.path.exists(db):
        return rcs, ''
    d = subprocess.run(['sqlite3', db, '.dump'], capture_output=True, text=True, check=True)
    return rcs, d.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--old', required=True)
    ap.add_argument('--new', required=True)
    ap.add_argument('--extra', action='append', default=[], help='a further input, its own database')
    ap.add_argument('folders', nargs='+')
    a = ap.parse_args()
    files = sorted(os.path.join(r, f) for d in a.folders for r, _, fs in os.walk(d)
                   for f in fs if f.endswith(CAPTURE_EXT))
    subdirs = sorted(os.path.join(d, e) for d in a.folders for e in os.listdir(d)
                     if os.path.isdir(os.path.join(d, e)))
    cases = [[f] for f in files] + [[d] for d in a.folders] + [[[d] for d in subdirs]] + [[x] for x in a.extra]
    tmp = tempfile.mkdtemp(prefix='samedb-')  # mode 0700
    bad = rows = 0
    try:
        for i, inputs in enumerate(cases):
            res = []
            for tag, binary in (('old', a.old), ('new', a.new)):
                db = os.path.join(tmp, f'{i}-{tag}.db')
                res.append(run(binary, db, inputs))
            (rc_o, d_o), (rc_n, d_n) = res
            rows += d_o.count('\nINSERT INTO ')
            if rc_o != rc_n:
                bad += 1
                print(f'{inputs}: exit status {rc_o} (old) vs {rc_n} (new)')
            if d_o != d_n:
                bad += 1
                diff = list(difflib.unified_diff(d_o.splitlines(), d_n.splitlines(), 'old', 'new', lineterm='', n=0))
                print(f'{inputs}: dumps differ ({len(diff)} diff lines), first:\n  ' + '\n  '.join(diff[:8]))
            for tag in ('old', 'new'):
                for sfx in ('', '-wal', '-shm'):
                    p = os.path.join(tmp, f'{i}-{tag}.db{sfx}')
                    if os.path.exists(p):
                        os.unlink(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'{len(cases)} cases ({len(files)} files, {len(a.folders)} folder runs, {len(subdirs)} runs into one'
          f' database, {len(a.extra)} extra), '
          f'{rows} rows in the old dumps: {"identical" if not bad else f"{bad} MISMATCHES"}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
